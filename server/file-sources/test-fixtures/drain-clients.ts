/**
 * Clients that receive a whole array and keep none of it (the memory test and the file bench run
 * many at once from one process): over HTTP, a GET whose body is counted; over a WebSocket, a
 * REQUEST with a credit window granted back as payloads arrive. Each checks the element values at
 * `samples` (as float64 values of the flattened array) and the byte count, and stops at `deadline`.
 */
import { request as httpRequest } from "node:http";
import { WebSocket } from "ws";
import {
  decodeMessage,
  encodeCredit,
  encodeRequest,
  HEADER_FIXED_BYTE_LENGTH,
  headerByteLength,
  SUBPROTOCOL,
} from "../../../shared/index.ts";

/** What a drain saw. */
export interface DrainReport {
  /** Array bytes received (the body without header and trailer, or DATA payloads). */
  byteLength: number;
  /** Value at each sample index, NaN where none arrived. */
  values: number[];
  ms: number;
}

/** Picks the float64 values at `samples` out of a payload that holds array bytes from `byteOffset`. */
function sampleInto(values: number[], samples: readonly number[], payload: Uint8Array, byteOffset: number): void {
  const end = byteOffset + payload.byteLength;
  for (let i = 0; i < samples.length; i++) {
    const at = (samples[i] as number) * 8;
    if (at >= byteOffset && at + 8 <= end) {
      values[i] = new DataView(payload.buffer, payload.byteOffset + at - byteOffset, 8).getFloat64(0, true);
    }
  }
}

/** GET `?name=` over HTTP; counts the bytes between the header and the 32-byte END trailer. */
export function drainHttp(
  wsUrl: string,
  name: string,
  samples: readonly number[],
  deadline: number,
): Promise<DrainReport> {
  const url = new URL(wsUrl.replace(/^ws/, "http"));
  url.searchParams.set("name", name);
  url.searchParams.set("checksum", "none");
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const values = samples.map(() => Number.NaN);
    const req = httpRequest(url, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      let header = -1;
      let pending = Buffer.alloc(0);
      let total = 0;
      res.on("data", (data: Buffer) => {
        let chunk = data;
        if (header < 0 || pending.byteLength < header) {
          pending = Buffer.concat([pending, chunk]);
          if (header < 0 && pending.byteLength >= HEADER_FIXED_BYTE_LENGTH) header = headerByteLength(pending, 65_536);
          if (header < 0 || pending.byteLength < header) return;
          chunk = pending.subarray(header);
        }
        sampleInto(values, samples, chunk, total);
        total += chunk.byteLength;
      });
      res.on("end", () => resolve({ byteLength: total - 32, values, ms: performance.now() - started }));
      res.on("error", reject);
    });
    req.setTimeout(Math.max(1, deadline - Date.now()), () => req.destroy(new Error("drain deadline")));
    req.on("error", reject);
    req.end();
  });
}

/** REQUEST over a WebSocket with a `creditByteLength` window granted back as payloads arrive. */
export function drainWs(
  wsUrl: string,
  name: string,
  samples: readonly number[],
  deadline: number,
  chunkByteLength = 4 * 1024 * 1024,
  creditByteLength = 16 * 1024 * 1024,
): Promise<DrainReport> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, SUBPROTOCOL, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    const values = samples.map(() => Number.NaN);
    let total = 0;
    let nextPayloadOffset = -1;
    const timer = setTimeout(
      () => {
        ws.terminate();
        reject(new Error("drain deadline"));
      },
      Math.max(1, deadline - Date.now()),
    );
    ws.on("open", () =>
      ws.send(
        encodeRequest({
          streamId: 1,
          name,
          params: null,
          range: null,
          checksum: "none",
          chunkByteLength,
          creditByteLength,
          resumeByteOffset: 0,
          expectedGeneration: null,
        }),
      ),
    );
    ws.on("message", (data: Buffer) => {
      if (nextPayloadOffset >= 0) {
        sampleInto(values, samples, data, nextPayloadOffset);
        total += data.byteLength;
        nextPayloadOffset = -1;
        ws.send(encodeCredit(1, data.byteLength));
        return;
      }
      const message = decodeMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (message.type === "DATA") nextPayloadOffset = message.byteOffset;
      else if (message.type === "END") {
        clearTimeout(timer);
        ws.close();
        resolve({ byteLength: total, values, ms: performance.now() - started });
      } else if (message.type === "ERROR") {
        clearTimeout(timer);
        ws.close();
        reject(new Error(`${message.code}: ${message.message}`));
      }
    });
    ws.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
