/**
 * The worker side of fetchArrayInWorker: runs each requested fetch with fetchArray in this
 * dedicated worker and reports back (client/worker-protocol.ts). The finished array's ArrayBuffer
 * is transferred to the page, so the page gets the very memory the worker filled (no copy; the
 * worker's view is detached afterwards). A SharedArrayBuffer target is shared instead: the page
 * already sees it.
 */
import type { ArrayChunk } from "./chunks.ts";
import { type FetchArrayOptions, fetchArray } from "./index.ts";
import {
  type FromWorker,
  isArraywireMessage,
  type Reports,
  type SentOptions,
  sendableError,
  type ToWorker,
} from "./worker-protocol.ts";

/** What serveArrayFetches needs from a dedicated worker's global scope. */
export interface WorkerScopeLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

const served = new WeakSet<object>();

/**
 * Serves fetchArrayInWorker's requests in this dedicated worker (the module
 * `arraywire/client/worker` calls it on import). Call it yourself in a worker of your own that
 * also does other work; calling it twice on one scope serves once. Messages that are not
 * arraywire's are left alone.
 * @throws {TypeError} when `scope` is not a dedicated worker's global scope (a window, whose
 *   messages may come from any frame).
 */
export function serveArrayFetches(scope: WorkerScopeLike = globalThis as unknown as WorkerScopeLike): void {
  if (
    scope === null ||
    typeof scope !== "object" ||
    typeof scope.postMessage !== "function" ||
    typeof scope.addEventListener !== "function" ||
    "document" in scope
  ) {
    throw new TypeError(
      "serveArrayFetches: expected a dedicated worker's global scope, got a window or another object",
    );
  }
  if (served.has(scope)) return;
  served.add(scope);
  const controllers = new Map<string, AbortController>();
  scope.addEventListener("message", (event) => {
    const message = event.data as ToWorker;
    if (!isArraywireMessage(message)) return;
    if (message.type === "arraywire:abort") {
      controllers.get(message.id)?.abort(new DOMException("Aborted by the page", "AbortError"));
    } else if (message.type === "arraywire:fetch") {
      const controller = new AbortController();
      controllers.set(message.id, controller);
      void run(scope, message, controller.signal).finally(() => controllers.delete(message.id));
    }
  });
}

async function run(
  scope: WorkerScopeLike,
  request: Extract<ToWorker, { type: "arraywire:fetch" }>,
  signal: AbortSignal,
): Promise<void> {
  const { id, reports } = request;
  const post = (message: FromWorker, transfer?: Transferable[]) => scope.postMessage(message, transfer);
  post({ type: "arraywire:accepted", id });
  const options: FetchArrayOptions = { ...(request.options as SentOptions), signal };
  if (reports.progress) options.onProgress = (progress) => post({ type: "arraywire:progress", id, progress });
  if (reports.warnings) options.onWarning = (message) => post({ type: "arraywire:warning", id, message });
  if (reports.chunks !== null) options.onChunk = chunkReporter(id, reports, post);
  try {
    const result = await fetchArray(request.url, request.name, options);
    const { buffer } = result.array;
    // Transfer an ArrayBuffer (zero copy: detached here afterwards); a SharedArrayBuffer is shared.
    post({ type: "arraywire:done", id, result }, buffer instanceof ArrayBuffer ? [buffer] : []);
  } catch (error) {
    post({ type: "arraywire:error", id, error: sendableError(error) });
  }
}

/** onChunk in the worker: reports the range over a shared target, or posts a copy of the elements. */
function chunkReporter(
  id: string,
  reports: Reports,
  post: (message: FromWorker, transfer?: Transferable[]) => void,
): (chunk: ArrayChunk) => void {
  const { cell } = reports;
  if (reports.chunks === "shared" && cell !== null) {
    let first = true;
    return (chunk) => {
      // Publishes the writes before the page hears of them: it loads the cell before reading.
      Atomics.store(cell, 0, BigInt(chunk.elementEnd));
      const { elementStart, elementEnd } = chunk;
      post({ type: "arraywire:chunk", id, elementStart, elementEnd, array: first ? chunk.array : undefined });
      first = false;
    };
  }
  return (chunk) => {
    // The target is not shared: the worker keeps it until the end, so the page gets a copy.
    const values = chunk.values.slice();
    const { elementStart, elementEnd } = chunk;
    post({ type: "arraywire:chunk", id, elementStart, elementEnd, values }, [values.buffer as ArrayBuffer]);
  };
}
