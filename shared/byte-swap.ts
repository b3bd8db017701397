/**
 * Byte-order conversion of a chunk of array data, in place: turns big-endian items (an .npy file
 * with a '>' descr) into the little-endian order arraywire serves. Isomorphic (no Buffer.swap64).
 *
 * Works on 32-bit words when the chunk starts 4-byte aligned (a pooled read buffer always does):
 * one load, a few shifts and one store per word, several GB/s in V8 (bench/byte-swap.ts). Other
 * alignments fall back to 16-bit lanes or single bytes.
 */

/**
 * Reverses the byte order of every `bytesPerElement`-byte item of `bytes`, in place. Swapping
 * twice restores the input. 1-byte items are left as they are.
 * @throws {RangeError} unless bytesPerElement is 1, 2, 4 or 8 and bytes.byteLength is a multiple of it.
 */
export function swapBytesInPlace(bytes: Uint8Array, bytesPerElement: number): void {
  if (bytesPerElement !== 1 && bytesPerElement !== 2 && bytesPerElement !== 4 && bytesPerElement !== 8) {
    throw new RangeError(`bytesPerElement: expected 1, 2, 4 or 8, got ${bytesPerElement}`);
  }
  if (bytes.byteLength % bytesPerElement !== 0) {
    throw new RangeError(
      `Byte swap: expected a byte length that is a multiple of ${bytesPerElement}, got ${bytes.byteLength}`,
    );
  }
  if (bytesPerElement === 1 || bytes.byteLength === 0) return;
  if (bytes.byteOffset % 4 === 0) {
    const wordCount = bytes.byteLength >>> 2;
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, wordCount);
    if (bytesPerElement === 2) swapHalvesOfWords(words);
    else if (bytesPerElement === 4) swapWords(words);
    else swapWordPairs(words);
    // Only 2-byte items can leave a tail: byteLength % 4 === 2.
    if (wordCount * 4 < bytes.byteLength) swapBytes(bytes, wordCount * 4, 2);
    return;
  }
  if (bytesPerElement === 2 && bytes.byteOffset % 2 === 0) {
    const lanes = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 1);
    for (let i = 0; i < lanes.length; i++) {
      const x = lanes[i] as number;
      lanes[i] = (x << 8) | (x >>> 8); // the store keeps the low 16 bits
    }
    return;
  }
  swapBytes(bytes, 0, bytesPerElement);
}

/** Two 2-byte items per word: swap the bytes inside each half. */
function swapHalvesOfWords(words: Uint32Array): void {
  for (let i = 0; i < words.length; i++) {
    const x = words[i] as number;
    words[i] = ((x & 0x00ff00ff) << 8) | ((x >>> 8) & 0x00ff00ff);
  }
}

/** One 4-byte item per word. */
function swapWords(words: Uint32Array): void {
  for (let i = 0; i < words.length; i++) {
    const x = words[i] as number;
    words[i] = (x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
  }
}

/** One 8-byte item per pair of words: reverse each word and exchange the two. */
function swapWordPairs(words: Uint32Array): void {
  for (let i = 0; i < words.length; i += 2) {
    const lo = words[i] as number;
    const hi = words[i + 1] as number;
    words[i] = (hi << 24) | ((hi & 0xff00) << 8) | ((hi >>> 8) & 0xff00) | (hi >>> 24);
    words[i + 1] = (lo << 24) | ((lo & 0xff00) << 8) | ((lo >>> 8) & 0xff00) | (lo >>> 24);
  }
}

/** Byte by byte, from `start` to the end: any alignment. */
function swapBytes(bytes: Uint8Array, start: number, bytesPerElement: number): void {
  for (let item = start; item < bytes.byteLength; item += bytesPerElement) {
    for (let a = item, b = item + bytesPerElement - 1; a < b; a++, b--) {
      const t = bytes[a] as number;
      bytes[a] = bytes[b] as number;
      bytes[b] = t;
    }
  }
}
