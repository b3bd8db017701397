/**
 * One measured Node transfer, in its own process (args: NodeClientArgs JSON in argv[2]); prints a
 * RunReport line prefixed with REPORT_PREFIX. A fresh process per run gives a clean RSS baseline
 * and a peak (VmHWM) that belongs to this transfer alone.
 *
 * Target kinds: "fresh" is the first transfer of a new process into memory the method allocates
 * (first-touch page faults happen during the transfer); "reused" is a repeat transfer: the target
 * is allocated and touched (fill(-1)), one untimed transfer runs into it, then the timed one.
 */
import { readFileSync } from "node:fs";
import { get } from "node:http";
import { connect } from "node:net";
import { WebSocket } from "ws";
import { fetchArray } from "../client/index.ts";
import { arrayName, type NodeClientArgs, REPORT_PREFIX, type RunReport } from "./messages.ts";

/** VmRSS and VmHWM of this process, in bytes. */
function memoryStatus(): { rss: number; hwm: number } {
  const status = readFileSync("/proc/self/status", "utf8");
  const kB = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kB("VmRSS"), hwm: kB("VmHWM") };
}

/** True when a[i] === i for every element (the server's arrays are 0..n-1). */
function verifyArange(array: Float64Array, elementCount: number): boolean {
  if (array.length !== elementCount) return false;
  for (let i = 0; i < elementCount; i++) if (array[i] !== i) return false;
  return true;
}

/** Raw TCP: send `<n>\n`, read u64 LE byteLength, copy every 'data' chunk into the target. */
function fetchTcp(port: number, elementCount: number, into: Float64Array | undefined): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", noDelay: true });
    let target: Uint8Array | null = into ? new Uint8Array(into.buffer, into.byteOffset, into.byteLength) : null;
    let header = Buffer.alloc(0);
    let byteLength = -1;
    let offset = 0;
    socket.on("connect", () => socket.write(`${elementCount}\n`));
    socket.on("data", (chunk: Buffer) => {
      let data = chunk;
      if (byteLength < 0) {
        header = Buffer.concat([header, chunk]);
        if (header.byteLength < 8) return;
        byteLength = Number(header.readBigUInt64LE(0));
        data = header.subarray(8);
        target ??= new Uint8Array(byteLength);
      }
      (target as Uint8Array).set(data, offset);
      offset += data.byteLength;
      if (offset === byteLength) {
        socket.destroy();
        const bytes = target as Uint8Array;
        resolve(new Float64Array(bytes.buffer, bytes.byteOffset, byteLength / 8));
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`TCP stream ended early: ${offset} of ${byteLength} bytes`)));
  });
}

/** One WebSocket message holding the whole array (maxPayload raised to the 32-bit limit ws allows). */
function fetchWsOne(port: number, elementCount: number, into: Float64Array | undefined): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/wsone?n=${elementCount}`, {
      maxPayload: 2 ** 31 - 1,
      perMessageDeflate: false,
    });
    ws.on("message", (data: Buffer) => {
      ws.close();
      if (into) {
        new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(data);
        resolve(into);
      } else if (data.byteOffset % 8 === 0) {
        resolve(new Float64Array(data.buffer, data.byteOffset, data.byteLength / 8)); // the message is the target
      } else {
        const copy = new Float64Array(data.byteLength / 8);
        new Uint8Array(copy.buffer).set(data);
        resolve(copy);
      }
    });
    ws.on("error", reject);
    ws.on("close", (code) => reject(new Error(`ws closed with ${code} before the message`)));
  });
}

/** node:http GET of the raw bytes: each body chunk (a socket read) copied into the target. */
function fetchHttpRaw(port: number, elementCount: number, into: Float64Array | undefined): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: `/raw?n=${elementCount}` }, (res) => {
      const byteLength = Number(res.headers["content-length"]);
      const target = into ? new Uint8Array(into.buffer, into.byteOffset, into.byteLength) : new Uint8Array(byteLength);
      let offset = 0;
      res.on("data", (chunk: Buffer) => {
        target.set(chunk, offset);
        offset += chunk.byteLength;
      });
      res.on("end", () => {
        if (offset === byteLength) resolve(new Float64Array(target.buffer, target.byteOffset, byteLength / 8));
        else reject(new Error(`HTTP body ended early: ${offset} of ${byteLength} bytes`));
      });
      res.on("error", reject);
    }).on("error", reject);
  });
}

/** JSON numbers over HTTP (undici fetch), parsed and copied into a Float64Array. */
async function fetchJson(port: number, elementCount: number, into: Float64Array | undefined): Promise<Float64Array> {
  const response = await fetch(`http://127.0.0.1:${port}/json?n=${elementCount}`);
  const numbers = (await response.json()) as number[];
  const target = into ?? new Float64Array(numbers.length);
  target.set(numbers);
  return target;
}

/** Runs the transfer(s) of `args` into `targets` (undefined: the method allocates). */
async function transfer(args: NodeClientArgs, targets: (Float64Array | undefined)[]): Promise<Float64Array[]> {
  const { elementCount, httpPort } = args;
  const url = `ws://127.0.0.1:${httpPort}/arraywire`;
  const name = args.name ?? arrayName(elementCount);
  const into = targets[0];
  const options = {
    into,
    verify: args.verify,
    chunkByteLength: args.chunkByteLength,
    creditByteLength: args.creditByteLength,
  };
  switch (args.method) {
    case "arraywire":
      return [(await fetchArray(url, name, options)).array as Float64Array];
    case "concurrent":
      return Promise.all(
        targets.map(
          async (target) => (await fetchArray(url, name, { into: target, verify: args.verify })).array as Float64Array,
        ),
      );
    case "arraywire-ws":
      return [(await fetchArray(url, name, { transport: "ws", ...options })).array as Float64Array];
    case "arraywire-http":
      return [(await fetchArray(url, name, { transport: "http", ...options })).array as Float64Array];
    case "http-raw":
      return [await fetchHttpRaw(httpPort, elementCount, into)];
    case "tcp":
      return [await fetchTcp(args.tcpPort, elementCount, into)];
    case "ws-one":
      return [await fetchWsOne(httpPort, elementCount, into)];
    case "json":
      return [await fetchJson(httpPort, elementCount, into)];
  }
}

async function main(args: NodeClientArgs): Promise<RunReport> {
  const baseline = memoryStatus();
  const { elementCount } = args;
  const clientCount = args.method === "concurrent" ? (args.clientCount ?? 10) : 1;
  const targets: (Float64Array | undefined)[] = [];
  for (let c = 0; c < clientCount; c++) {
    targets.push(args.target === "reused" ? new Float64Array(elementCount).fill(-1) : undefined);
  }
  if (args.target === "reused") {
    // Reused means a repeat transfer: one untimed transfer into the same target first (warm JIT
    // and allocator, touched target), then the target is reset so the check sees only the timed one.
    await transfer(args, targets);
    for (const target of targets) target?.fill(-1);
  }
  const started = performance.now();
  const results = await transfer(args, targets);
  const ms = performance.now() - started;
  const peak = memoryStatus();
  return {
    ok: true,
    run: args.run,
    byteLength: elementCount * 8 * clientCount,
    ms,
    verified: results.every((array) => verifyArange(array, elementCount)),
    rssBaselineBytes: baseline.rss,
    rssPeakBytes: peak.hwm,
  };
}

const args = JSON.parse(process.argv[2] ?? "{}") as NodeClientArgs;
try {
  const report = await main(args);
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
  process.exit(0);
} catch (err) {
  const report: RunReport = { ok: false, run: args.run, byteLength: 0, ms: 0, verified: false, error: String(err) };
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
  process.exit(1);
}
