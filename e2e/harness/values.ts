/**
 * The grid's arrays, computed the same way by the harness server (which publishes them) and by
 * the page (which checks every element it received against them). float64 values carry a
 * fraction and a sign; biguint64 values use all 64 bits, so a byte out of place shows.
 */

/** Elements of each published array: 24 MB of 8-byte elements. */
export const GRID_LENGTH = 3_000_000;
/** A range in the middle of the array (neither end touches the array's ends; 18.5 MB). */
export const GRID_RANGE: [number, number] = [345_679, 2_654_321];

export function float64At(i: number): number {
  return i * 0.5 - 1_000_000.25;
}

export function biguint64At(i: number): bigint {
  return (BigInt(i) << 32n) | BigInt(Math.imul(i, 0x9e3779b1) >>> 0);
}

export function makeFloat64(length: number): Float64Array {
  const a = new Float64Array(length);
  for (let i = 0; i < length; i++) a[i] = float64At(i);
  return a;
}

export function makeBigUint64(length: number): BigUint64Array {
  const a = new BigUint64Array(length);
  for (let i = 0; i < length; i++) a[i] = biguint64At(i);
  return a;
}
