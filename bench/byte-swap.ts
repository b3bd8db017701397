/**
 * `npx tsx bench/byte-swap.ts [--mib 64] [--runs 5]`: throughput of swapBytesInPlace (shared/byte-swap.ts),
 * the big-endian .npy conversion the file server runs on each chunk it reads. For each item size it
 * times the aligned path (32-bit words, what a pooled read buffer gets), the unaligned fallback
 * (bytes), Node's native Buffer.swapN for reference, and a DataView get/set loop. Prints GB/s
 * (1e9 bytes per second), best of `runs` passes over one buffer of `mib` MiB.
 */
import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
import { swapBytesInPlace } from "../shared/byte-swap.ts";

const { values } = parseArgs({
  options: { mib: { type: "string", default: "64" }, runs: { type: "string", default: "5" } },
});
const byteLength = Number(values.mib) * 1024 * 1024;
const runs = Number(values.runs);
const backing = new Uint8Array(byteLength + 8);
for (let i = 0; i < backing.length; i++) backing[i] = (i * 2654435761) >>> 24;

function bestGbPerSecond(swap: () => void): number {
  swap(); // warm-up: JIT and page faults
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    swap();
    best = Math.min(best, performance.now() - start);
  }
  return byteLength / 1e9 / (best / 1e3);
}

function dataViewSwap(bytes: Uint8Array, bytesPerElement: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytesPerElement === 2) for (let i = 0; i < bytes.byteLength; i += 2) view.setUint16(i, view.getUint16(i), true);
  else if (bytesPerElement === 4) {
    for (let i = 0; i < bytes.byteLength; i += 4) view.setUint32(i, view.getUint32(i), true);
  } else for (let i = 0; i < bytes.byteLength; i += 8) view.setBigUint64(i, view.getBigUint64(i), true);
}

const aligned = backing.subarray(0, byteLength);
const unaligned = backing.subarray(1, 1 + byteLength);
const rows: Record<string, Record<string, string>> = {};
for (const bytesPerElement of [2, 4, 8]) {
  const nodeBuffer = Buffer.from(aligned.buffer, aligned.byteOffset, aligned.byteLength);
  const nodeSwap = { 2: () => nodeBuffer.swap16(), 4: () => nodeBuffer.swap32(), 8: () => nodeBuffer.swap64() }[
    bytesPerElement
  ] as () => void;
  const format = (gbPerSecond: number) => gbPerSecond.toFixed(2);
  rows[`${bytesPerElement}-byte items`] = {
    "swapBytesInPlace, 4-aligned": format(bestGbPerSecond(() => swapBytesInPlace(aligned, bytesPerElement))),
    "swapBytesInPlace, odd offset": format(bestGbPerSecond(() => swapBytesInPlace(unaligned, bytesPerElement))),
    "Node Buffer.swapN": format(bestGbPerSecond(nodeSwap)),
    "DataView get/set": format(bestGbPerSecond(() => dataViewSwap(aligned, bytesPerElement))),
  };
}
console.log(`byte swap, GB/s, best of ${runs} over ${values.mib} MiB (Node ${process.version})`);
console.table(rows);
