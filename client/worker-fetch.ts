/**
 * fetchArrayInWorker: fetchArray run in a dedicated worker, so that neither the reads nor the
 * checksum run on the page's main thread, and the finished array handed over without a copy (its
 * ArrayBuffer is transferred). By default the worker is the library's own, shared by the calls of
 * a page and ended after 10 s without one. Options are checked here first, with the same errors as fetchArray;
 * what cannot cross (onProgress, onChunk, onWarning, the signal) stays here and is driven by the
 * worker's reports (client/worker-protocol.ts). Errors arrive as the same classes and codes.
 */
import {
  assertLittleEndianHost,
  type Dtype,
  type DtypeArray,
  StreamError,
  SUBPROTOCOL,
  type TypedArray,
} from "../shared/index.ts";
import type { ArrayResult } from "./assembler.ts";
import type { ArrayChunk } from "./chunks.ts";
import { callUserCode } from "./guard.ts";
import type { FetchArrayOptions } from "./index.ts";
import type { FetchOptions } from "./options.ts";
import {
  resolveConnectOptions,
  resolveEndpoint,
  resolveFetchOptions,
  resolveResume,
  resolveTransport,
} from "./resolve-options.ts";
import { defaultTransport } from "./runtime.ts";
import { startTracking } from "./track.ts";
import { type FromWorker, isArraywireMessage, type Reports, receivedError, type ToWorker } from "./worker-protocol.ts";

/** An onChunk report through fetchArrayInWorker. */
export interface WorkerArrayChunk<T extends TypedArray = TypedArray> extends Omit<ArrayChunk<T>, "array"> {
  /**
   * The target, when it is shared with the worker (`shared: true`, or `into` over a
   * SharedArrayBuffer): [0, elementEnd) is final and the rest is still being written. Null
   * otherwise: the worker holds the target until the end, and `values` is a copy.
   */
  array: T | null;
}

/** Options of {@link fetchArrayInWorker}. */
export interface WorkerFetchOptions<T extends TypedArray = TypedArray>
  extends Omit<FetchArrayOptions<T>, "onChunk" | "WebSocket"> {
  /**
   * Called in this thread, in order, as elements become final in the worker. On a shared target
   * (`shared: true`, or `into` over a SharedArrayBuffer; needs a cross-origin isolated page) it
   * gets the range and `array`, the shared target, which the worker fills while this thread reads:
   * no copy. Otherwise each report's `values` is a copy of the new elements, made in the worker and
   * transferred (one extra copy of every byte, held here until you drop it) and `array` is null.
   */
  onChunk?: (chunk: WorkerArrayChunk<T>) => void;
  /**
   * The worker to run in: one that runs `arraywire/client/worker` (or calls serveArrayFetches).
   * It is reused as it is and never terminated; aborting asks it to stop the fetch. Defaults to
   * the library's own module worker, started on the first call and shared by the calls that
   * follow (starting a worker costs 20-60 ms here, more on a loaded machine), terminated once it
   * has been idle for 10 s.
   */
  worker?: WorkerLike;
}

/** What fetchArrayInWorker needs from a Worker. */
export interface WorkerLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  terminate?(): void;
}

let nextId = 0;
const idPrefix = Math.random().toString(36).slice(2, 10);

/** How long the default worker stays up with no fetch, in ms. */
const DEFAULT_WORKER_IDLE_MS = 10_000;
/** The default worker, its fetches in flight, and the timer that ends it when idle. */
let defaultWorker: { worker: WorkerLike; users: number; idle: ReturnType<typeof setTimeout> | undefined } | null = null;

/**
 * The default worker, started from the library's own module (dist/client/worker.js next to this
 * file; bundlers such as Vite follow this `new URL`) when none runs.
 */
function acquireDefaultWorker(): WorkerLike {
  if (defaultWorker === null) {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "arraywire" });
    defaultWorker = { worker, users: 0, idle: undefined };
  }
  clearTimeout(defaultWorker.idle);
  defaultWorker.users++;
  return defaultWorker.worker;
}

/** One fetch on the default worker ended; `broken`: it failed to start or answer, so end it now. */
function releaseDefaultWorker(worker: WorkerLike, broken: boolean): void {
  const current = defaultWorker;
  if (current === null || current.worker !== worker) return;
  current.users--;
  if (broken) {
    defaultWorker = null;
    worker.terminate?.();
  } else if (current.users === 0) {
    current.idle = setTimeout(() => {
      if (defaultWorker === current && current.users === 0) {
        defaultWorker = null;
        worker.terminate?.();
      }
    }, DEFAULT_WORKER_IDLE_MS);
  }
}

/**
 * Fetches one array in a dedicated worker and hands it to this thread without a copy: the
 * worker's ArrayBuffer is transferred (the worker's view of it is detached), or, for a
 * SharedArrayBuffer target, shared. Takes fetchArray's options; `onProgress`, `onChunk` and
 * `onWarning` are called here (guarded: a throw rejects the fetch with that error, and the
 * worker's fetch stops), and `signal` aborts the worker's fetch. `url` must be absolute (resolve a path against
 * `location.href`). An `into` over an ArrayBuffer is transferred to the worker and back: the
 * array you passed is detached, `result.array` views the same memory (lost if the fetch fails);
 * over a SharedArrayBuffer it stays yours and is filled in place. `dtype` types the result and is
 * checked in the worker, as with fetchArray (E_DTYPE_MISMATCH before allocating).
 * @throws {TypeError} / {@link RangeError} (rejects, before any I/O) for invalid options, as
 *   fetchArray; a `WebSocket` option (a constructor cannot be sent to a worker).
 * @throws {@link StreamError} (rejects) with fetchArray's codes, as received in the worker;
 *   E_TIMEOUT when the worker does not answer within `idleTimeoutMs` (it does not run arraywire).
 * @throws {Error} (rejects) when the worker fails to start (its script did not load).
 * @throws (rejects) the signal's reason when aborted; what onProgress, onChunk or onWarning throw.
 */
export function fetchArrayInWorker<D extends Dtype>(
  url: string | URL,
  name: string,
  options: WorkerFetchOptions<DtypeArray<D>> & { dtype: D },
): Promise<ArrayResult<DtypeArray<D>>>;
export function fetchArrayInWorker<T extends TypedArray = TypedArray>(
  url: string | URL,
  name: string,
  options?: WorkerFetchOptions<T>,
): Promise<ArrayResult<T>>;
export async function fetchArrayInWorker<T extends TypedArray = TypedArray>(
  url: string | URL,
  name: string,
  options: WorkerFetchOptions<T> = {},
): Promise<ArrayResult<T>> {
  assertLittleEndianHost();
  if ((options as { WebSocket?: unknown }).WebSocket !== undefined) {
    throw new TypeError("Invalid WebSocket: fetchArrayInWorker cannot send a constructor to a worker");
  }
  const { onChunk, worker: given, signal: _signal, onProgress: _p, onWarning: _w, ...rest } = options;
  // The same checks, and errors, as fetchArray, before anything starts.
  const request = resolveFetchOptions(name, options as FetchOptions);
  const connect = resolveConnectOptions(options, SUBPROTOCOL);
  resolveResume(options.resume);
  const endpoint = resolveEndpoint(url);
  resolveTransport(options.transport, connect, { canSendHeaders: false }, defaultTransport());
  if (given !== undefined && (given === null || typeof given.postMessage !== "function")) {
    throw new TypeError("Invalid worker: expected a Worker");
  }
  const { into } = request;
  const intoShared = into !== undefined && isShared(into.buffer);
  const chunks = onChunk === undefined ? null : request.shared || intoShared ? "shared" : "copy";
  const reports: Reports = {
    progress: true,
    warnings: options.onWarning !== undefined,
    chunks,
    cell: chunks === "shared" ? new BigInt64Array(new SharedArrayBuffer(8)) : null,
  };
  if (request.signal?.aborted) throw request.signal.reason;
  const recorder = startTracking({ key: request.track, name: request.name, url: endpoint.href, thread: "worker" });
  const worker = given ?? acquireDefaultWorker();
  const id = `${idPrefix}-${++nextId}`;
  const message: ToWorker = { type: "arraywire:fetch", id, url: endpoint.href, name, options: rest, reports };
  // An `into` over an ArrayBuffer moves to the worker; a SharedArrayBuffer is shared.
  const transfer = into !== undefined && !intoShared ? [into.buffer as ArrayBuffer] : [];

  return new Promise<ArrayResult<T>>((resolve, reject) => {
    let accepted = false;
    /** The worker failed to start or to answer: it is not used again. */
    let broken = false;
    let settled = false;
    let target: T | null = null; // the shared target, as seen here
    const { signal } = request;
    const finish = (error: unknown, result?: ArrayResult<T>) => {
      if (settled) return;
      settled = true;
      clearTimeout(startTimer);
      worker.removeEventListener("message", onMessage);
      worker.removeEventListener("error", onError);
      worker.removeEventListener("messageerror", onError);
      signal?.removeEventListener("abort", onAbort);
      // Messages keep their order: the worker sees the abort after the fetch it stops.
      if (error !== undefined && !broken) worker.postMessage({ type: "arraywire:abort", id } satisfies ToWorker);
      if (given === undefined) releaseDefaultWorker(worker, broken);
      if (recorder !== null) {
        try {
          if (result) recorder.done(result);
          else recorder.fail(error);
        } catch {
          // The registry's failure cannot change the outcome.
        }
      }
      if (result) resolve(result);
      else reject(error);
    };
    const fail = (error: unknown) => finish(error);
    const onAbort = () => fail(signal?.reason);
    const onError = (event: Event) => {
      if (accepted) return; // a worker of the caller's may report its own errors
      broken = true;
      const what = (event as ErrorEvent).message || event.type;
      fail(new Error(`fetchArrayInWorker: the worker failed before answering (${what})`));
    };
    const onMessage = (event: Event) => {
      const m = (event as MessageEvent).data as FromWorker;
      if (!isArraywireMessage(m) || m.id !== id || settled) return;
      switch (m.type) {
        case "arraywire:accepted":
          accepted = true;
          clearTimeout(startTimer);
          return;
        case "arraywire:progress":
          try {
            recorder?.progress(m.progress);
          } catch {
            // As above.
          }
          if (options.onProgress) callUserCode(options.onProgress, m.progress, fail);
          return;
        case "arraywire:warning":
          if (options.onWarning) callUserCode(options.onWarning, m.message, fail);
          return;
        case "arraywire:chunk": {
          if (onChunk === undefined) return;
          const { elementStart, elementEnd } = m;
          let values: T;
          if (m.values !== undefined) values = m.values as T;
          else {
            if (m.array !== undefined) target = sameView(m.array as T, into as T | undefined);
            if (target === null && intoShared) target = into as T;
            if (target === null) return;
            // Orders the worker's writes before these reads (it stored the count before posting).
            Atomics.load(reports.cell as BigInt64Array, 0);
            values = target.subarray(elementStart, elementEnd) as T;
          }
          const itemsize = values.BYTES_PER_ELEMENT;
          callUserCode(
            onChunk,
            {
              array: m.values !== undefined ? null : target,
              values,
              elementStart,
              elementEnd,
              byteStart: elementStart * itemsize,
              byteEnd: elementEnd * itemsize,
            },
            fail,
          );
          return;
        }
        case "arraywire:done": {
          const result = m.result as ArrayResult<T>;
          if (isShared(result.array.buffer)) result.array = target ?? sameView(result.array, into as T | undefined);
          finish(undefined, result);
          return;
        }
        case "arraywire:error":
          fail(receivedError(m.error));
          return;
      }
    };
    const idle = request.idleTimeoutMs;
    const startTimer =
      idle > 0
        ? setTimeout(() => {
            if (!accepted) {
              broken = true;
              fail(
                new StreamError(
                  "E_TIMEOUT",
                  `fetchArrayInWorker: expected the worker to answer within ${idle} ms (idleTimeoutMs), got nothing: does it run arraywire/client/worker?`,
                ),
              );
            }
          }, idle)
        : undefined;
    worker.addEventListener("message", onMessage);
    worker.addEventListener("error", onError);
    worker.addEventListener("messageerror", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      worker.postMessage(message, transfer);
    } catch (error) {
      fail(error); // a DataCloneError: an option that cannot be cloned
    }
  });
}

function isShared(buffer: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer === "function" && buffer instanceof SharedArrayBuffer;
}

/** `into` itself when `view` is the same window of the same shared memory, else `view`. */
function sameView<T extends TypedArray>(view: T, into: T | undefined): T {
  return into !== undefined &&
    isShared(into.buffer) &&
    view.byteOffset === into.byteOffset &&
    view.byteLength === into.byteLength
    ? into
    : view;
}
