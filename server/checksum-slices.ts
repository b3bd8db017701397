/**
 * Checksums of large byte ranges computed in slices with a yield to the event loop between them,
 * so that hashing a 400 MB array does not block other connections for the 70-250 ms it takes.
 */
import { byteWindow, type ChecksumAlgorithm, createChecksum } from "../shared/index.ts";

/** Bytes checksummed between yields to the event loop. */
export const CHECKSUM_SLICE_BYTES = 8 * 1024 * 1024;

/** Resolves on the next turn of the event loop, after pending I/O callbacks. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Checksum of the bytes of `view` (a typed array or DataView, of any length: past 4 GiB too,
 * where no single Uint8Array spans them on Node 20), computed in slices of CHECKSUM_SLICE_BYTES
 * with a yield between them (and before the first one when there is more than one, so that the
 * caller, ArrayServer.publish say, returns before any slice runs). Rejects with a TypeError for "none".
 */
export async function checksumInSlices(algorithm: ChecksumAlgorithm, view: ArrayBufferView): Promise<number> {
  const checksum = createChecksum(algorithm);
  if (!checksum) throw new TypeError("checksumInSlices needs an algorithm, got none");
  const byteLength = view.byteLength;
  if (byteLength > CHECKSUM_SLICE_BYTES) await yieldToEventLoop();
  for (let offset = 0; offset < byteLength; offset += CHECKSUM_SLICE_BYTES) {
    checksum.update(byteWindow(view, offset, Math.min(CHECKSUM_SLICE_BYTES, byteLength - offset)));
    if (offset + CHECKSUM_SLICE_BYTES < byteLength) await yieldToEventLoop();
  }
  return checksum.digest();
}
