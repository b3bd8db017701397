/**
 * The demo's receiving worker, created the usual Vite way
 * (`new Worker(new URL("./receive-worker.ts", import.meta.url), { type: "module" })`): it serves
 * fetchArrayInWorker's requests with fetchArray, in this worker (arraywire/client/worker).
 */
import "../worker.ts";
