// src/main.ts (index.html: <p id="status"></p><script type="module" src="/src/main.ts"></script>)
import { fetchArray, fetchArrayInWorker, type Progress } from "arraywire/client";

const query = new URLSearchParams(location.search);
const endpoint = new URL(query.get("arrays") ?? "/arraywire", location.href);
const status = document.getElementById("status") as HTMLElement;
const options = {
  dtype: "float64",
  onProgress: (p: Progress) => (status.textContent = `${p.receivedByteLength} of ${p.totalByteLength} bytes`),
} as const;
const { array } = query.has("worker")
  ? await fetchArrayInWorker(endpoint, "prices", options) // the worker thread
  : await fetchArray(endpoint, "prices", options); // the main thread
status.textContent = `received ${array.length} prices`;
