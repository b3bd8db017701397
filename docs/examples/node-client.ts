import { ArrayClient, fetchArray, StreamError } from "arraywire/client";

const url = "ws://127.0.0.1:8080/arraywire";

// One array, typed and checked (E_DTYPE_MISMATCH if the server's is not float64).
const controller = new AbortController(); // controller.abort() cancels; the promise rejects with its reason
const { array, shape, meta } = await fetchArray(url, "temperature", {
  dtype: "float64",
  onProgress: ({ receivedByteLength, totalByteLength }) => console.log(`${receivedByteLength} / ${totalByteLength}`),
  signal: controller.signal,
  maxBytes: 1 << 30, // refuse anything over 1 GiB before allocating (default 2 GiB)
  resume: true, // reconnect with backoff after a lost connection, continue from the last byte
});
console.log(array.length, shape, meta); // 50000000 [ 5000, 10000 ] { unit: 'K' }

// recv_into: fill your own array (same dtype, large enough, else E_TARGET_MISMATCH).
const into = new Float64Array(1_000_000);
await fetchArray(url, "arange", { params: { length: 1_000_000 }, into });

// Several arrays over one WebSocket, concurrently.
const client = await ArrayClient.connect(url);
const [row, ramp] = await Promise.all([
  client.fetch("temperature", { dtype: "float64", range: [10_000, 20_000] }), // the second row
  client.fetch("arange", { params: { length: 1000, dtype: "int32" }, dtype: "int32" }),
]);
client.close();
console.log(row.array[0], ramp.array[999]); // 273.15 999

// Errors are StreamErrors with a stable code: branch on it, never on the message.
try {
  await fetchArray(url, "pressure");
} catch (err) {
  if (err instanceof StreamError && err.code === "E_UNKNOWN_NAME") console.log("not published:", err.message);
  else throw err;
}
