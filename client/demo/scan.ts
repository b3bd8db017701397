/**
 * One pass over a received `arange` array that does everything the dashboard shows: checks that
 * every a[i] equals what the dtype stores for i (what `new Ctor([i])[0]` gives: wrap-around for
 * integers, rounding for floats, clamping for uint8clamped), sums a[i] mod 2^32 as a checksum, and
 * takes min/max per plot column.
 *
 * Each dtype family gets its own tight loop with the expected value written inline, so the
 * element loads stay monomorphic (or nearly) and nothing is allocated per element: 50M float64
 * take about 100 ms. BigInt arrays are read as pairs of u32 words, because reading a
 * BigInt64Array element allocates a BigInt.
 */
import type { Dtype } from "../index.ts";

/** What {@link scanArange} found. */
export interface ScanResult {
  /** Elements that differ from their stored index. */
  mismatches: number;
  /** Index of the first mismatch, or -1. */
  firstMismatch: number;
  /** Sum of a[i] mod 2^32 (for BigInt dtypes, of the low 32 bits, which is the same thing). */
  checksum: number;
  /** Per column: smallest value (as a number). */
  columnMin: Float64Array;
  /** Per column: largest value (as a number). */
  columnMax: Float64Array;
}

/** A Float16Array where the runtime has one; the client's TypedArray union does not list it. */
type NumberArray = { readonly length: number; readonly [i: number]: number };

const TWO_POW_32 = 4294967296;

/**
 * Scans `array` (any length) into `columns` plot columns (at most one per element).
 * @throws {RangeError} when `columns` is not a positive integer.
 */
export function scanArange(array: ArrayBufferView, dtype: Dtype, columns: number): ScanResult {
  if (!(Number.isInteger(columns) && columns > 0)) {
    throw new RangeError(`Invalid columns: expected a positive integer, got ${columns}`);
  }
  const length = (array as unknown as NumberArray).length;
  const count = Math.max(1, Math.min(columns, length));
  const out: ScanResult = {
    mismatches: 0,
    firstMismatch: -1,
    checksum: 0,
    columnMin: new Float64Array(count).fill(Number.NaN),
    columnMax: new Float64Array(count).fill(Number.NaN),
  };
  if (length === 0) return out;
  switch (dtype) {
    case "float64":
      scanFloat64(array as Float64Array, out);
      break;
    case "float32":
      scanFloat32(array as Float32Array, out);
      break;
    case "float16":
      scanFloat16(array as unknown as NumberArray, out);
      break;
    case "int8":
      scanSigned(array as Int8Array, 24, out);
      break;
    case "int16":
      scanSigned(array as Int16Array, 16, out);
      break;
    case "int32":
      scanSigned(array as Int32Array, 0, out);
      break;
    case "uint8":
      scanUnsigned(array as Uint8Array, 24, out);
      break;
    case "uint16":
      scanUnsigned(array as Uint16Array, 16, out);
      break;
    case "uint32":
      scanUnsigned(array as Uint32Array, 0, out);
      break;
    case "uint8clamped":
      scanClamped(array as Uint8ClampedArray, out);
      break;
    case "bigint64":
    case "biguint64":
      scanBigInt(array as BigInt64Array | BigUint64Array, dtype === "bigint64", out);
      break;
  }
  return out;
}

/** End (exclusive) of column `c` of `count` over `length` elements. */
function columnEnd(c: number, count: number, length: number): number {
  return Math.floor(((c + 1) * length) / count);
}

function scanFloat64(a: Float64Array, out: ScanResult): void {
  const n = a.length;
  const count = out.columnMin.length;
  let mismatches = 0;
  let first = -1;
  let sum = 0;
  let i = 0;
  for (let c = 0; c < count; c++) {
    const end = columnEnd(c, count, n);
    let lo = a[i] as number;
    let hi = lo;
    for (; i < end; i++) {
      const v = a[i] as number;
      if (v !== i && mismatches++ === 0) first = i;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      sum = (sum + v) >>> 0;
    }
    out.columnMin[c] = lo;
    out.columnMax[c] = hi;
  }
  Object.assign(out, { mismatches, firstMismatch: first, checksum: sum });
}

function scanFloat32(a: Float32Array, out: ScanResult): void {
  const n = a.length;
  const count = out.columnMin.length;
  let mismatches = 0;
  let first = -1;
  let sum = 0;
  let i = 0;
  for (let c = 0; c < count; c++) {
    const end = columnEnd(c, count, n);
    let lo = a[i] as number;
    let hi = lo;
    for (; i < end; i++) {
      const v = a[i] as number;
      // float32 holds integers exactly up to 2^24; past that i rounds to the nearest float32.
      if (v !== Math.fround(i) && mismatches++ === 0) first = i;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      sum = (sum + v) >>> 0;
    }
    out.columnMin[c] = lo;
    out.columnMax[c] = hi;
  }
  Object.assign(out, { mismatches, firstMismatch: first, checksum: sum });
}

function scanFloat16(a: NumberArray, out: ScanResult): void {
  const n = a.length;
  const count = out.columnMin.length;
  // Math.f16round ships with Float16Array; a one-element array is the same rounding without it.
  const f16round =
    (Math as unknown as { f16round?: (x: number) => number }).f16round ??
    ((x: number) => {
      const Ctor = (globalThis as Record<string, unknown>).Float16Array as new (values: number[]) => NumberArray;
      return new Ctor([x])[0] as number;
    });
  let mismatches = 0;
  let first = -1;
  let sum = 0;
  let i = 0;
  for (let c = 0; c < count; c++) {
    const end = columnEnd(c, count, n);
    let lo = a[i] as number;
    let hi = lo;
    for (; i < end; i++) {
      const v = a[i] as number;
      // Integers are exact up to 2048; past 65504 they round to Infinity.
      if (v !== f16round(i) && mismatches++ === 0) first = i;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      sum = (sum + v) >>> 0;
    }
    out.columnMin[c] = lo;
    out.columnMax[c] = hi;
  }
  Object.assign(out, { mismatches, firstMismatch: first, checksum: sum });
}

/** int8/int16/int32: the stored value of i is its low (32 - shift) bits, sign-extended. */
function scanSigned(a: Int8Array | Int16Array | Int32Array, shift: number, out: ScanResult): void {
  const n = a.length;
  const count = out.columnMin.length;
  let mismatches = 0;
  let first = -1;
  let sum = 0;
  let i = 0;
  for (let c = 0; c < count; c++) {
    const end = columnEnd(c, count, n);
    let lo = a[i] as number;
    let hi = lo;
    for (; i < end; i++) {
      const v = a[i] as number;
      if (v !== (i << shift) >> shift && mismatches++ === 0) first = i;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      sum = (sum + v) >>> 0;
    }
    out.columnMin[c] = lo;
    out.columnMax[c] = hi;
  }
  Object.assign(out, { mismatches, firstMismatch: first, checksum: sum });
}

/** uint8/uint16/uint32: the stored value of i is its low (32 - shift) bits. */
function scanUnsigned(a: Uint8Array | Uint16Array | Uint32Array, shift: number, out: ScanResult): void {
  const n = a.length;
  const count = out.columnMin.length;
  let mismatches = 0;
  let first = -1;
  let sum = 0;
  let i = 0;
  for (let c = 0; c < count; c++) {
    const end = columnEnd(c, count, n);
    let lo = a[i] as number;
    let hi = lo;
    for (; i < end; i++) {
      const v = a[i] as number;
      if (v !== (i << shift) >>> shift && mismatches++ === 0) first = i;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      sum = (sum + v) >>> 0;
    }
    out.columnMin[c] = lo;
    out.columnMax[c] = hi;
  }
  Object.assign(out, { mismatches, firstMismatch: first, checksum: sum });
}

function scanClamped(a: Uint8ClampedArray, out: ScanResult): void {
  const n = a.length;
  const count = out.columnMin.length;
  let mismatches = 0;
  let first = -1;
  let sum = 0;
  let i = 0;
  for (let c = 0; c < count; c++) {
    const end = columnEnd(c, count, n);
    let lo = a[i] as number;
    let hi = lo;
    for (; i < end; i++) {
      const v = a[i] as number;
      if (v !== Math.min(i, 255) && mismatches++ === 0) first = i;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      sum = (sum + v) >>> 0;
    }
    out.columnMin[c] = lo;
    out.columnMax[c] = hi;
  }
  Object.assign(out, { mismatches, firstMismatch: first, checksum: sum });
}

/** bigint64/biguint64 read as little-endian u32 pairs: (lo, hi) of i is (i mod 2^32, i / 2^32). */
function scanBigInt(a: BigInt64Array | BigUint64Array, signed: boolean, out: ScanResult): void {
  const n = a.length;
  const words = new Uint32Array(a.buffer, a.byteOffset, n * 2);
  const count = out.columnMin.length;
  let mismatches = 0;
  let first = -1;
  let sum = 0;
  let i = 0;
  for (let c = 0; c < count; c++) {
    const end = columnEnd(c, count, n);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (; i < end; i++) {
      const low = words[2 * i] as number;
      const high = words[2 * i + 1] as number;
      if ((low !== i >>> 0 || high !== Math.floor(i / TWO_POW_32)) && mismatches++ === 0) first = i;
      // Only the plot needs the value as a number (exact below 2^53).
      const v = (signed ? high | 0 : high) * TWO_POW_32 + low;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      sum = (sum + low) >>> 0;
    }
    out.columnMin[c] = lo;
    out.columnMax[c] = hi;
  }
  Object.assign(out, { mismatches, firstMismatch: first, checksum: sum });
}
