/**
 * The harness's instrumented worker (`/test-worker.js`): serves fetchArrayInWorker like
 * arraywire/client/worker, and records every ArrayBuffer it transfers to the page, so a test can
 * see that the page got the worker's own buffer: after the transfer the worker's view of it is
 * detached (byteLength 0). `{ type: "test:transferred" }` answers with those byteLengths.
 */
import { serveArrayFetches } from "../../client/worker-host.ts";

interface Scope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

const scope = globalThis as unknown as Scope;
const post = scope.postMessage.bind(scope);
const transferred: ArrayBuffer[] = [];

scope.addEventListener("message", (event) => {
  if (event.data?.type === "test:transferred") {
    post({ type: "test:transferred", byteLengths: transferred.map((b) => b.byteLength) });
  }
});

serveArrayFetches({
  postMessage(message, transfer = []) {
    for (const t of transfer) if (t instanceof ArrayBuffer) transferred.push(t);
    post(message, transfer);
  },
  addEventListener: (type, listener) => scope.addEventListener(type, listener),
});
