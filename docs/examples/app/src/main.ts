import { fetchArray, StreamError } from "arraywire/client";

const bar = document.createElement("progress");
const status = document.createElement("p");
document.querySelector("#app")?.replaceChildren(bar, status);

// Same origin ("/arraywire") unless .env.development names another server.
const url = import.meta.env.VITE_ARRAYWIRE_URL ?? "/arraywire";

try {
  const { array, shape, meta } = await fetchArray(url, "temperature", {
    dtype: "float64", // checked: the result is a Float64Array, or E_DTYPE_MISMATCH
    onProgress: ({ receivedByteLength, totalByteLength }) => {
      bar.value = receivedByteLength / totalByteLength;
      status.textContent = `${Math.round(receivedByteLength / 1e6)} of ${Math.round(totalByteLength / 1e6)} MB`;
    },
  });
  const last: number = array[array.length - 1];
  status.textContent = `${array.length.toLocaleString("en")} values (${shape.join(" x ")}), ${array[0]} to ${last} ${meta?.unit}`;
} catch (err) {
  status.textContent = err instanceof StreamError ? `${err.code}: ${err.message}` : String(err);
}
