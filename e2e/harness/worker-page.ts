/**
 * The worker page of the browser harness (`/worker.html`, `/worker.html?isolated=1` for a cross-
 * origin isolated one): runs fetchArrayInWorker (client/worker-fetch.ts, from source) and, for
 * SharedArrayBuffer targets, fetchArray itself, one case per `window.__workerCase(case)`, and
 * answers with a small summary. Every element received, and every element a chunk report covers
 * at the moment it is made, is checked here against the harness's values (e2e/harness/values.ts).
 *
 * Workers: "default" lets fetchArrayInWorker start its own (the bundled client/worker.ts, served
 * at /worker.js next to this page); "instrumented" is /test-worker.js, which records the buffers
 * it transfers and answers `{ type: "test:transferred" }` with their byteLengths (0: detached).
 */
import { fetchArray, fetchArrayInWorker, StreamError, type TypedArray } from "../../client/index.ts";
import { float64At, GRID_LENGTH } from "./values.ts";

export interface WorkerCase {
  endpoint: string;
  name: string;
  /** Where the fetch runs: "worker" (fetchArrayInWorker) or "main" (fetchArray). */
  thread: "worker" | "main";
  worker?: "default" | "instrumented";
  transport?: "auto" | "http" | "ws";
  range?: [number, number];
  /** Target: allocated, `shared: true`, `into` over a SharedArrayBuffer, or `into` over an ArrayBuffer. */
  target?: "allocated" | "shared" | "into-sab" | "into";
  chunks?: boolean;
  /** Abort once this many bytes arrived. */
  abortAtBytes?: number;
  /** Run a second, whole fetch on the same (instrumented) worker afterwards. */
  again?: boolean;
  /** The registry key (arraywire/playwright's tests). */
  track?: string;
  idleTimeoutMs?: number;
  /** Skip the element check (arrays that are not the harness's values). */
  noCheck?: boolean;
}

export interface WorkerSummary {
  ok: boolean;
  elapsedMs: number;
  name?: string;
  code?: string;
  message?: string;
  /** The rejection is the very reason the page aborted with. */
  sameReason?: boolean;
  length?: number;
  dtype?: string;
  shape?: number[];
  range?: [number, number];
  mismatches?: number;
  firstMismatch?: { index: number; got: number; expected: number } | null;
  sharedBuffer?: boolean;
  /** The result is the caller's `into` itself. */
  isInto?: boolean;
  /** `into` over an ArrayBuffer: its byteLength after the fetch (0: moved to the worker). */
  intoByteLengthAfter?: number;
  /** byteLengths of the buffers the instrumented worker transferred, read after the fetch. */
  workerTransferred?: number[];
  progressCount: number;
  progressMonotonic: boolean;
  lastProgress: number | null;
  chunkCount: number;
  /** Chunk reports tile [0, length) in order. */
  chunksTile: boolean;
  /** Elements of a chunk report that did not hold their final value when it was made. */
  chunkMismatches: number;
  /** Every chunk report's `array` was the result's array (shared), or null (copies). */
  chunkArray: "result" | "null" | "other" | "none";
  again?: boolean;
  crossOriginIsolated: boolean;
  pageErrors: string[];
}

const pageErrors: string[] = [];
window.addEventListener("error", (e) => pageErrors.push(`error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => pageErrors.push(`unhandledrejection: ${String(e.reason)}`));

let instrumented: Worker | null = null;
function instrumentedWorker(): Worker {
  instrumented ??= new Worker("/test-worker.js", { type: "module" });
  return instrumented;
}

function askTransferred(worker: Worker): Promise<number[]> {
  return new Promise((resolve) => {
    const onMessage = (event: MessageEvent) => {
      if (event.data?.type !== "test:transferred") return;
      worker.removeEventListener("message", onMessage);
      resolve(event.data.byteLengths as number[]);
    };
    worker.addEventListener("message", onMessage);
    worker.postMessage({ type: "test:transferred" });
  });
}

function mismatches(array: Float64Array, start: number): Pick<WorkerSummary, "mismatches" | "firstMismatch"> {
  let count = 0;
  let first: WorkerSummary["firstMismatch"] = null;
  for (let j = 0; j < array.length; j++) {
    const expected = float64At(start + j);
    if (array[j] !== expected && count++ === 0) first = { index: start + j, got: array[j] as number, expected };
  }
  return { mismatches: count, firstMismatch: first };
}

async function run(c: WorkerCase): Promise<WorkerSummary> {
  const start = c.range ? c.range[0] : 0;
  const length = (c.range ? c.range[1] : GRID_LENGTH) - start;
  const progress: number[] = [];
  const chunkArrays = new Set<unknown>();
  let chunkCount = 0;
  let chunkNext = 0;
  let chunksTile = true;
  let chunkMismatches = 0;
  const controller = new AbortController();
  const reason = new DOMException("aborted by the test", "AbortError");
  let into: Float64Array | undefined;
  if (c.target === "into-sab") into = new Float64Array(new SharedArrayBuffer(length * 8)).fill(-0.125);
  if (c.target === "into") into = new Float64Array(length).fill(-0.125);
  const worker = c.worker === "instrumented" ? instrumentedWorker() : undefined;
  const onChunk = (chunk: {
    array: TypedArray | null;
    values: TypedArray;
    elementStart: number;
    elementEnd: number;
  }) => {
    chunkCount++;
    chunkArrays.add(chunk.array);
    if (chunk.elementStart !== chunkNext || chunk.elementEnd <= chunk.elementStart) chunksTile = false;
    chunkNext = chunk.elementEnd;
    const values = chunk.values as Float64Array;
    for (let j = 0; j < values.length; j++) {
      if (values[j] !== float64At(start + chunk.elementStart + j)) chunkMismatches++;
    }
  };
  const options = {
    transport: c.transport,
    range: c.range,
    into,
    shared: c.target === "shared" ? true : undefined,
    signal: controller.signal,
    progressIntervalMs: 0,
    onProgress: (p: { receivedByteLength: number }) => {
      progress.push(p.receivedByteLength);
      if (c.abortAtBytes !== undefined && p.receivedByteLength >= c.abortAtBytes) controller.abort(reason);
    },
    onChunk: c.chunks ? onChunk : undefined,
    track: c.track,
    idleTimeoutMs: c.idleTimeoutMs,
  };
  const startedAt = performance.now();
  const common = () => ({
    progressCount: progress.length,
    progressMonotonic: progress.every((p, i) => i === 0 || p >= (progress[i - 1] as number)),
    lastProgress: progress.at(-1) ?? null,
    chunkCount,
    chunksTile: chunksTile && (chunkCount === 0 || chunkNext === length),
    chunkMismatches,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    pageErrors,
  });
  try {
    const url = new URL(c.endpoint, location.href);
    const result =
      c.thread === "worker"
        ? await fetchArrayInWorker<Float64Array>(url, c.name, { ...options, worker })
        : await fetchArray<Float64Array>(url, c.name, options);
    const elapsedMs = performance.now() - startedAt;
    const arrays = [...chunkArrays];
    const summary: WorkerSummary = {
      ok: true,
      elapsedMs,
      length: result.array.length,
      dtype: result.dtype,
      shape: result.shape,
      range: result.range,
      ...(c.noCheck ? {} : mismatches(result.array, start)),
      sharedBuffer: typeof SharedArrayBuffer === "function" && result.array.buffer instanceof SharedArrayBuffer,
      isInto: into !== undefined && result.array === into,
      intoByteLengthAfter: into?.byteLength,
      ...common(),
      chunkArray:
        arrays.length === 0
          ? "none"
          : arrays.every((a) => a === result.array)
            ? "result"
            : arrays.every((a) => a === null)
              ? "null"
              : "other",
    };
    if (worker) summary.workerTransferred = await askTransferred(worker);
    if (c.again && worker) {
      const second = await fetchArrayInWorker<Float64Array>(url, c.name, { worker });
      summary.again = mismatches(second.array, 0).mismatches === 0 && second.array.length === GRID_LENGTH;
    }
    return summary;
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    const summary: WorkerSummary = {
      ok: false,
      elapsedMs: performance.now() - startedAt,
      name: e?.name,
      code: err instanceof StreamError ? err.code : e?.code,
      message: e?.message,
      sameReason: err === reason,
      ...common(),
      chunkArray: "none",
    };
    if (c.again && worker) {
      const second = await fetchArrayInWorker<Float64Array>(new URL(c.endpoint, location.href), c.name, { worker });
      summary.again = mismatches(second.array, 0).mismatches === 0 && second.array.length === GRID_LENGTH;
    }
    return summary;
  }
}

declare global {
  interface Window {
    __workerCase: (c: WorkerCase) => Promise<WorkerSummary>;
  }
}

window.__workerCase = run;
(document.getElementById("status") as HTMLElement).textContent = "ready";
