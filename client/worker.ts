/**
 * arraywire/client/worker: the module fetchArrayInWorker starts by default. Imported in a
 * dedicated worker it serves fetchArrayInWorker's requests there (serveArrayFetches). Import it
 * from a worker file of your own (`import "arraywire/client/worker";`) when that worker does
 * other work too, or when your bundler must see the worker, and pass that worker as the `worker`
 * option.
 * @throws {TypeError} when imported anywhere but in a dedicated worker (see serveArrayFetches).
 */
import { serveArrayFetches } from "./worker-host.ts";

export type { WorkerScopeLike } from "./worker-host.ts";
export { serveArrayFetches } from "./worker-host.ts";

serveArrayFetches();
