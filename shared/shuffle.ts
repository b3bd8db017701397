/**
 * Byte-shuffle (the Blosc / HDF5 "shuffle" filter): element bytes regrouped by significance, so
 * LZ codecs see long runs of similar exponent and high-mantissa bytes. For `n` whole elements of
 * `itemByteLength` bytes, byte `b` of element `i` moves to `b * n + i`; the `byteLength %
 * itemByteLength` trailing bytes that make no whole element are copied as they are, last (Blosc
 * does the same). Shuffling the shuffled bytes back with {@link unshuffleBytes} restores them.
 *
 * Both functions write into a caller-owned target (no allocation): the server shuffles a source
 * view into a reused scratch buffer (or straight into a WebAssembly codec's heap), the client
 * unshuffles a decoded chunk straight into its preallocated array at the chunk's byte offset.
 *
 * Speed: item sizes 2, 4 and 8 run a word kernel (four elements per step, 32-bit loads and
 * stores, a 4x4 byte transpose in registers) when both views start at a multiple of 4 bytes and
 * the element count is a multiple of 4 (2-3 GB/s here); otherwise a per-lane byte loop (about 4x
 * slower).
 * Payload bytes are in the host's byte order, which the protocol requires to be little-endian
 * (`assertLittleEndianHost`); the word kernels depend on that.
 */

/** Item sizes with a word kernel; any other size from 1 to {@link MAX_SHUFFLE_ITEM_BYTES} takes the byte loop. */
export const SHUFFLE_WORD_ITEM_BYTES = [2, 4, 8] as const;

/** Largest accepted `itemByteLength` (bytes per element), 255: it travels as a u8. */
export const MAX_SHUFFLE_ITEM_BYTES = 255;

/**
 * Shuffle `source` into `target` (same byte length, no overlap) for elements of `itemByteLength`
 * bytes; see the module comment for the layout.
 * @throws {RangeError} if `itemByteLength` is not an integer in 1..255, if the lengths differ, or
 *   if the two views overlap in one buffer.
 */
export function shuffleBytes(source: Uint8Array, target: Uint8Array, itemByteLength: number): void {
  checkArguments(source, target, itemByteLength, "shuffleBytes");
  transposeBytes(source, target, itemByteLength, true);
}

/**
 * Undo {@link shuffleBytes}: `source` holds shuffled bytes, `target` (same byte length, no
 * overlap) receives the elements, e.g. a subarray of the preallocated array at the chunk's offset.
 * @throws {RangeError} if `itemByteLength` is not an integer in 1..255, if the lengths differ, or
 *   if the two views overlap in one buffer.
 */
export function unshuffleBytes(source: Uint8Array, target: Uint8Array, itemByteLength: number): void {
  checkArguments(source, target, itemByteLength, "unshuffleBytes");
  transposeBytes(source, target, itemByteLength, false);
}

function checkArguments(source: Uint8Array, target: Uint8Array, itemByteLength: number, what: string): void {
  if (!Number.isInteger(itemByteLength) || itemByteLength < 1 || itemByteLength > MAX_SHUFFLE_ITEM_BYTES) {
    throw new RangeError(
      `${what}: expected itemByteLength an integer in 1..${MAX_SHUFFLE_ITEM_BYTES}, got ${itemByteLength}`,
    );
  }
  if (source.byteLength !== target.byteLength) {
    throw new RangeError(
      `${what}: expected target.byteLength ${source.byteLength} (the source's), got ${target.byteLength}`,
    );
  }
  if (
    source.buffer === target.buffer &&
    source.byteLength > 0 &&
    source.byteOffset < target.byteOffset + target.byteLength &&
    target.byteOffset < source.byteOffset + source.byteLength
  ) {
    throw new RangeError(
      `${what}: expected source and target not to overlap, got [${source.byteOffset}, ${
        source.byteOffset + source.byteLength
      }) and [${target.byteOffset}, ${target.byteOffset + target.byteLength}) in one buffer`,
    );
  }
}

function transposeBytes(source: Uint8Array, target: Uint8Array, itemByteLength: number, forward: boolean): void {
  const elementCount = Math.floor(source.byteLength / itemByteLength);
  const wholeBytes = elementCount * itemByteLength;
  if (itemByteLength === 1 || elementCount === 0) {
    target.set(source);
    return;
  }
  const wordAligned =
    (source.byteOffset & 3) === 0 &&
    (target.byteOffset & 3) === 0 &&
    (elementCount & 3) === 0 &&
    (itemByteLength === 2 || itemByteLength === 4 || itemByteLength === 8);
  if (wordAligned) {
    const src = new Int32Array(source.buffer, source.byteOffset, wholeBytes >>> 2);
    const dst = new Int32Array(target.buffer, target.byteOffset, wholeBytes >>> 2);
    if (itemByteLength === 8) (forward ? shuffleWords8 : unshuffleWords8)(src, dst, elementCount);
    else if (itemByteLength === 4) (forward ? shuffleWords4 : unshuffleWords4)(src, dst, elementCount);
    else (forward ? shuffleWords2 : unshuffleWords2)(src, dst, elementCount);
  } else if (forward) {
    shuffleLanes(source, target, itemByteLength, elementCount);
  } else {
    unshuffleLanes(source, target, itemByteLength, elementCount);
  }
  if (wholeBytes < source.byteLength) target.set(source.subarray(wholeBytes), wholeBytes);
}

// Byte loops: one lane (byte significance) at a time, sequential on the shuffled side.
function shuffleLanes(src: Uint8Array, dst: Uint8Array, k: number, n: number): void {
  for (let lane = 0; lane < k; lane++) {
    const base = lane * n;
    for (let i = 0, s = lane; i < n; i++, s += k) dst[base + i] = src[s] as number;
  }
}

function unshuffleLanes(src: Uint8Array, dst: Uint8Array, k: number, n: number): void {
  for (let lane = 0; lane < k; lane++) {
    const base = lane * n;
    for (let i = 0, d = lane; i < n; i++, d += k) dst[d] = src[base + i] as number;
  }
}

// Word kernels. Four elements per step; a 4x4 byte transpose of words (a, b, c, d) gives word j =
// byte j of a, b, c, d (little-endian lanes). A transpose is its own inverse, so shuffle and
// unshuffle differ only in which side is strided. `n` (element count) is a multiple of 4, so every
// lane starts on a word: lane j's words begin at word j * n / 4.

function shuffleWords8(src: Int32Array, dst: Int32Array, n: number): void {
  const q = n >>> 2;
  for (let w = 0, s = 0; w < q; w++, s += 8) {
    const a = src[s] as number;
    const b = src[s + 2] as number;
    const c = src[s + 4] as number;
    const d = src[s + 6] as number;
    const ab02 = (a & 0x00ff00ff) | ((b & 0x00ff00ff) << 8);
    const ab13 = ((a >>> 8) & 0x00ff00ff) | (b & 0xff00ff00);
    const cd02 = (c & 0x00ff00ff) | ((d & 0x00ff00ff) << 8);
    const cd13 = ((c >>> 8) & 0x00ff00ff) | (d & 0xff00ff00);
    dst[w] = (ab02 & 0xffff) | (cd02 << 16);
    dst[q + w] = (ab13 & 0xffff) | (cd13 << 16);
    dst[2 * q + w] = (ab02 >>> 16) | (cd02 & 0xffff0000);
    dst[3 * q + w] = (ab13 >>> 16) | (cd13 & 0xffff0000);
    const e = src[s + 1] as number;
    const f = src[s + 3] as number;
    const g = src[s + 5] as number;
    const h = src[s + 7] as number;
    const ef02 = (e & 0x00ff00ff) | ((f & 0x00ff00ff) << 8);
    const ef13 = ((e >>> 8) & 0x00ff00ff) | (f & 0xff00ff00);
    const gh02 = (g & 0x00ff00ff) | ((h & 0x00ff00ff) << 8);
    const gh13 = ((g >>> 8) & 0x00ff00ff) | (h & 0xff00ff00);
    dst[4 * q + w] = (ef02 & 0xffff) | (gh02 << 16);
    dst[5 * q + w] = (ef13 & 0xffff) | (gh13 << 16);
    dst[6 * q + w] = (ef02 >>> 16) | (gh02 & 0xffff0000);
    dst[7 * q + w] = (ef13 >>> 16) | (gh13 & 0xffff0000);
  }
}

function unshuffleWords8(src: Int32Array, dst: Int32Array, n: number): void {
  const q = n >>> 2;
  for (let w = 0, d = 0; w < q; w++, d += 8) {
    const l0 = src[w] as number;
    const l1 = src[q + w] as number;
    const l2 = src[2 * q + w] as number;
    const l3 = src[3 * q + w] as number;
    const a02 = (l0 & 0x00ff00ff) | ((l1 & 0x00ff00ff) << 8);
    const a13 = ((l0 >>> 8) & 0x00ff00ff) | (l1 & 0xff00ff00);
    const b02 = (l2 & 0x00ff00ff) | ((l3 & 0x00ff00ff) << 8);
    const b13 = ((l2 >>> 8) & 0x00ff00ff) | (l3 & 0xff00ff00);
    dst[d] = (a02 & 0xffff) | (b02 << 16);
    dst[d + 2] = (a13 & 0xffff) | (b13 << 16);
    dst[d + 4] = (a02 >>> 16) | (b02 & 0xffff0000);
    dst[d + 6] = (a13 >>> 16) | (b13 & 0xffff0000);
    const l4 = src[4 * q + w] as number;
    const l5 = src[5 * q + w] as number;
    const l6 = src[6 * q + w] as number;
    const l7 = src[7 * q + w] as number;
    const c02 = (l4 & 0x00ff00ff) | ((l5 & 0x00ff00ff) << 8);
    const c13 = ((l4 >>> 8) & 0x00ff00ff) | (l5 & 0xff00ff00);
    const e02 = (l6 & 0x00ff00ff) | ((l7 & 0x00ff00ff) << 8);
    const e13 = ((l6 >>> 8) & 0x00ff00ff) | (l7 & 0xff00ff00);
    dst[d + 1] = (c02 & 0xffff) | (e02 << 16);
    dst[d + 3] = (c13 & 0xffff) | (e13 << 16);
    dst[d + 5] = (c02 >>> 16) | (e02 & 0xffff0000);
    dst[d + 7] = (c13 >>> 16) | (e13 & 0xffff0000);
  }
}

function shuffleWords4(src: Int32Array, dst: Int32Array, n: number): void {
  const q = n >>> 2;
  for (let w = 0, s = 0; w < q; w++, s += 4) {
    const a = src[s] as number;
    const b = src[s + 1] as number;
    const c = src[s + 2] as number;
    const d = src[s + 3] as number;
    const ab02 = (a & 0x00ff00ff) | ((b & 0x00ff00ff) << 8);
    const ab13 = ((a >>> 8) & 0x00ff00ff) | (b & 0xff00ff00);
    const cd02 = (c & 0x00ff00ff) | ((d & 0x00ff00ff) << 8);
    const cd13 = ((c >>> 8) & 0x00ff00ff) | (d & 0xff00ff00);
    dst[w] = (ab02 & 0xffff) | (cd02 << 16);
    dst[q + w] = (ab13 & 0xffff) | (cd13 << 16);
    dst[2 * q + w] = (ab02 >>> 16) | (cd02 & 0xffff0000);
    dst[3 * q + w] = (ab13 >>> 16) | (cd13 & 0xffff0000);
  }
}

function unshuffleWords4(src: Int32Array, dst: Int32Array, n: number): void {
  const q = n >>> 2;
  for (let w = 0, d = 0; w < q; w++, d += 4) {
    const l0 = src[w] as number;
    const l1 = src[q + w] as number;
    const l2 = src[2 * q + w] as number;
    const l3 = src[3 * q + w] as number;
    const a02 = (l0 & 0x00ff00ff) | ((l1 & 0x00ff00ff) << 8);
    const a13 = ((l0 >>> 8) & 0x00ff00ff) | (l1 & 0xff00ff00);
    const b02 = (l2 & 0x00ff00ff) | ((l3 & 0x00ff00ff) << 8);
    const b13 = ((l2 >>> 8) & 0x00ff00ff) | (l3 & 0xff00ff00);
    dst[d] = (a02 & 0xffff) | (b02 << 16);
    dst[d + 1] = (a13 & 0xffff) | (b13 << 16);
    dst[d + 2] = (a02 >>> 16) | (b02 & 0xffff0000);
    dst[d + 3] = (a13 >>> 16) | (b13 & 0xffff0000);
  }
}

// Two elements per word: a = [e0b0 e0b1 e1b0 e1b1], b = [e2b0 e2b1 e3b0 e3b1].
function shuffleWords2(src: Int32Array, dst: Int32Array, n: number): void {
  const q = n >>> 2;
  for (let w = 0, s = 0; w < q; w++, s += 2) {
    const a = src[s] as number;
    const b = src[s + 1] as number;
    const a0 = a & 0x00ff00ff;
    const a1 = (a >>> 8) & 0x00ff00ff;
    const b0 = b & 0x00ff00ff;
    const b1 = (b >>> 8) & 0x00ff00ff;
    dst[w] = ((a0 | (a0 >>> 8)) & 0xffff) | ((b0 | (b0 >>> 8)) << 16);
    dst[q + w] = ((a1 | (a1 >>> 8)) & 0xffff) | ((b1 | (b1 >>> 8)) << 16);
  }
}

function unshuffleWords2(src: Int32Array, dst: Int32Array, n: number): void {
  const q = n >>> 2;
  for (let w = 0, d = 0; w < q; w++, d += 2) {
    const l0 = src[w] as number;
    const l1 = src[q + w] as number;
    const lo0 = ((l0 & 0xffff) | ((l0 & 0xffff) << 8)) & 0x00ff00ff;
    const lo1 = ((l1 & 0xffff) | ((l1 & 0xffff) << 8)) & 0x00ff00ff;
    const hi0 = ((l0 >>> 16) | ((l0 >>> 16) << 8)) & 0x00ff00ff;
    const hi1 = ((l1 >>> 16) | ((l1 >>> 16) << 8)) & 0x00ff00ff;
    dst[d] = lo0 | (lo1 << 8);
    dst[d + 1] = hi0 | (hi1 << 8);
  }
}
