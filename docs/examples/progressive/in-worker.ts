import { fetchArrayInWorker } from "arraywire/client";

const bar = document.body.appendChild(document.createElement("progress"));
const controller = new AbortController();

const { array } = await fetchArrayInWorker(new URL("/arraywire", location.href), "prices", {
  dtype: "float64",
  onProgress: ({ receivedByteLength, totalByteLength }) => (bar.value = receivedByteLength / totalByteLength),
  signal: controller.signal,
});
console.log(`${array.length} prices, received off the main thread`);
