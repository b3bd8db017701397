// the page
import { fetchArrayInWorker } from "arraywire/client";

const url = new URL("/arraywire", location.href);
const worker = new Worker(new URL("./fetch-worker.ts", import.meta.url), { type: "module" });
await fetchArrayInWorker(url, "prices", { worker }); // reused as it is, never terminated
