/**
 * The bench page (bundled with the real arraywire client by build.ts). Its URL names one run:
 * `?run=<id>&method=<method>&n=<elements>[&verify=0][&chunk=<bytes>][&credit=<bytes>][&window=<bytes>][&write=<bytes>][&scratch=<bytes>][&hash=1]`.
 * `chunk`/`credit` are arraywire's chunkByteLength/creditByteLength (aw-*) or the bare ws loop's
 * message size (ws-loop); for fetch-byob, `window` is the BYOB read window (0 = the whole
 * remaining range), `scratch` a scratch buffer the reads fill instead (copied into the target),
 * `write` the server's write size, and `hash=1` an XXH32 of every piece right after it landed,
 * checked against the server's. It waits for the orchestrator's "go"
 * (POST /ready is answered once the renderer's baseline RSS is sampled), times the transfer from
 * the request to the last byte written into a Float64Array target, checks every element
 * (a[i] === i), and POSTs a RunReport to /result, with the main thread's long tasks during the
 * transfer in its detail (long-tasks.ts). Every target is fresh: allocated by the method.
 */
import { RecordBatchReader } from "apache-arrow";
import { defaultTransport, fetchArray, fetchArrayInWorker } from "../../client/index.ts";
import { Xxh32 } from "../../shared/index.ts";
import { arrayName, RAW_CHECKSUM_HEADER, type RunReport } from "../messages.ts";

const MiB = 1024 * 1024;

const query = new URLSearchParams(location.search);
const run = Number(query.get("run"));
const method = query.get("method") ?? "";
const elementCount = Number(query.get("n"));
const verify = query.get("verify") === "0" ? false : undefined;
/** Optional arraywire options (diagnostics); absent means the library default. */
const chunkByteLength = query.has("chunk") ? Number(query.get("chunk")) : undefined;
const creditByteLength = query.has("credit") ? Number(query.get("credit")) : undefined;
const awOptions = { verify, chunkByteLength, creditByteLength };
/** fetch-byob: bytes offered to one read (0 = the whole remaining range), and the server's write size. */
const readWindowByteLength = Number(query.get("window") ?? 0);
const writeByteLength = Number(query.get("write") ?? MiB);
/** fetch-byob: a scratch buffer the reads fill (0: read into the target itself). */
const scratchByteLength = Number(query.get("scratch") ?? 0);
/** fetch-byob: XXH32 of every piece right after it landed, checked against the server's. */
const hashed = query.get("hash") === "1";
/** Bytes hashed (and copied from a scratch) at a time: small enough to stay in cache. */
const PIECE_BYTE_LENGTH = 256 * 1024;
const byteLength = elementCount * 8;
const endpoint = `ws://${location.host}/arraywire`;

/** The bare hand-written loop: one TypedArray.set per binary message, no library. */
function wsLoop(): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    const target = new Uint8Array(byteLength);
    let offset = 0;
    const ws = new WebSocket(`ws://${location.host}/wsloop?n=${elementCount}&chunk=${chunkByteLength ?? MiB}`);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (event) => {
      const chunk = new Uint8Array(event.data as ArrayBuffer);
      target.set(chunk, offset);
      offset += chunk.byteLength;
      if (offset === byteLength) {
        ws.close();
        resolve(new Float64Array(target.buffer));
      }
    };
    ws.onclose = (event) => reject(new Error(`ws closed with ${event.code} after ${offset} bytes`));
  });
}

/**
 * fetch + a BYOB reader, hand-written: each read offered the window (or the rest) of the target,
 * or the scratch buffer whose bytes are then copied into the target piece by piece; with `hash=1`
 * each piece is hashed right after it landed and the digest checked against the server's.
 */
async function fetchByob(detail: Record<string, string | number>): Promise<Float64Array> {
  const response = await fetch(`/raw?n=${elementCount}&write=${writeByteLength}${hashed ? "&hash=1" : ""}`, {
    cache: "no-store",
  });
  if (!response.body) throw new Error(`HTTP ${response.status}: no body`);
  const reader = response.body.getReader({ mode: "byob" });
  const checksum = hashed ? new Xxh32() : null;
  let buffer = new ArrayBuffer(byteLength);
  const target = scratchByteLength > 0 ? new Uint8Array(buffer) : null;
  let scratch = new Uint8Array(scratchByteLength);
  let offset = 0;
  let readCount = 0;
  while (offset < byteLength) {
    const rest = byteLength - offset;
    const view = target
      ? scratch.subarray(0, Math.min(rest, scratch.byteLength))
      : new Uint8Array(buffer, offset, readWindowByteLength > 0 ? Math.min(rest, readWindowByteLength) : rest);
    const { value, done } = await reader.read(view);
    if (done || !value) throw new Error(`body ended after ${offset} of ${byteLength} bytes`);
    readCount++;
    if (target) {
      scratch = new Uint8Array(value.buffer); // the read transferred the old one
      for (let p = 0; p < value.byteLength; p += PIECE_BYTE_LENGTH) {
        const piece = value.subarray(p, p + PIECE_BYTE_LENGTH);
        target.set(piece, offset + p);
        checksum?.update(target.subarray(offset + p, offset + p + piece.byteLength));
      }
    } else {
      buffer = value.buffer; // the read transferred the old one
      if (checksum)
        for (let p = 0; p < value.byteLength; p += PIECE_BYTE_LENGTH)
          checksum.update(value.subarray(p, p + PIECE_BYTE_LENGTH));
    }
    offset += value.byteLength;
  }
  detail.readCount = readCount;
  if (checksum) {
    const expected = response.headers.get(RAW_CHECKSUM_HEADER);
    const computed = checksum.digest().toString(16).padStart(8, "0");
    if (computed !== expected) throw new Error(`XXH32 mismatch: computed ${computed}, server says ${expected}`);
  }
  return new Float64Array(buffer);
}

/** JSON numbers: response.json(), then one copy into a Float64Array. */
async function fetchJson(): Promise<Float64Array> {
  const response = await fetch(`/json?n=${elementCount}`, { cache: "no-store" });
  return new Float64Array((await response.json()) as number[]);
}

/** Arrow IPC stream over HTTP: each record batch's column copied into a preallocated target. */
async function fetchArrow(detail: Record<string, number>): Promise<Float64Array> {
  const target = new Float64Array(elementCount);
  let offset = 0;
  let batchCount = 0;
  const reader = await RecordBatchReader.from(fetch(`/arrow?n=${elementCount}`, { cache: "no-store" }));
  for await (const batch of reader) {
    const column = batch.getChildAt(0)?.toArray() as Float64Array;
    target.set(column, offset);
    offset += column.length;
    batchCount++;
  }
  detail.batchCount = batchCount;
  if (offset !== elementCount) throw new Error(`Arrow stream had ${offset} of ${elementCount} rows`);
  return target;
}

/** An onProgress that records when the first report (the header) came: startup cost, as `headerMs`. */
function firstReport(detail: Record<string, string | number>): () => void {
  const started = performance.now();
  return () => {
    detail.headerMs ??= Math.round(performance.now() - started);
  };
}

async function transfer(detail: Record<string, string | number>): Promise<Float64Array> {
  switch (method) {
    case "aw-auto":
      detail.transport = defaultTransport();
      return (
        await fetchArray(endpoint, arrayName(elementCount), {
          transport: "auto",
          ...awOptions,
          onProgress: firstReport(detail),
        })
      ).array as Float64Array;
    case "aw-worker":
    case "aw-worker-warm":
      detail.transport = defaultTransport();
      return (
        await fetchArrayInWorker(endpoint, arrayName(elementCount), {
          transport: "auto",
          ...awOptions,
          onProgress: firstReport(detail),
        })
      ).array as Float64Array;
    case "aw-ws":
      return (await fetchArray(endpoint, arrayName(elementCount), { transport: "ws", ...awOptions }))
        .array as Float64Array;
    case "ws-loop":
      return wsLoop();
    case "fetch-byob":
      return fetchByob(detail);
    case "json":
      return fetchJson();
    case "arrow":
      return fetchArrow(detail as Record<string, number>);
    default:
      throw new Error(`Unknown method ${JSON.stringify(method)}`);
  }
}

function verifyArange(array: Float64Array): boolean {
  if (array.length !== elementCount) return false;
  for (let i = 0; i < elementCount; i++) if (array[i] !== i) return false;
  return true;
}

async function post(report: RunReport): Promise<void> {
  document.title = report.ok ? `done ${report.ms.toFixed(0)} ms` : `failed: ${report.error}`;
  await fetch("/result", { method: "POST", body: JSON.stringify(report) });
}

/**
 * Long tasks (over 50 ms, PerformanceObserver 'longtask') of the main thread that start between
 * `from` and `to`: count, longest and sum in ms. Entries are delivered late: wait a task first.
 */
async function longTasksBetween(
  observer: PerformanceObserver | null,
  seen: PerformanceEntry[],
  from: number,
  to: number,
): Promise<Record<string, number>> {
  if (observer === null) return {};
  await new Promise((resolve) => setTimeout(resolve, 100));
  seen.push(...observer.takeRecords());
  observer.disconnect();
  const during = seen.filter((e) => e.startTime >= from && e.startTime < to);
  return {
    longTasks: during.length,
    longestTaskMs: during.reduce((m, e) => Math.max(m, e.duration), 0),
    longTaskMs: during.reduce((sum, e) => sum + e.duration, 0),
  };
}

/** Untimed work before the clock starts: "aw-worker-warm" starts the library's worker with a one-element fetch. */
async function prepare(): Promise<void> {
  if (method === "aw-worker-warm") await fetchArrayInWorker(endpoint, arrayName(elementCount), { range: [0, 1] });
}

async function main(): Promise<void> {
  await fetch(`/ready?run=${run}`, { method: "POST" });
  await prepare();
  const detail: Record<string, string | number> = {};
  const seen: PerformanceEntry[] = [];
  const observer = PerformanceObserver.supportedEntryTypes.includes("longtask")
    ? new PerformanceObserver((list) => seen.push(...list.getEntries()))
    : null;
  observer?.observe({ type: "longtask" });
  const started = performance.now();
  const array = await transfer(detail);
  const ended = performance.now();
  const ms = ended - started;
  Object.assign(detail, await longTasksBetween(observer, seen, started, ended));
  await post({ ok: true, run, byteLength, ms, verified: verifyArange(array), detail });
}

main().catch((err: unknown) =>
  post({ ok: false, run, byteLength, ms: 0, verified: false, error: String((err as Error)?.stack ?? err) }),
);
