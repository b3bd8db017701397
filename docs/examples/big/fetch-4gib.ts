import { fetchArray } from "arraywire/client";

const url = "ws://127.0.0.1:8080/arraywire"; // a server publishing arange() with a raised maxByteLength
// 4 GiB + 8 B of float64: maxBytes past the 2 GiB default, or E_TOO_LARGE before anything is allocated
const { array } = await fetchArray(url, "arange", { params: { length: 2 ** 29 + 1 }, maxBytes: 2 ** 33 });
console.log(array.length, array[array.length - 1]);
