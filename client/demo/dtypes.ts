/**
 * The dtypes the dashboard offers, grouped for the picker. The client API exports the `Dtype`
 * type but no table of names or element sizes, so the demo keeps its own.
 */
import type { Dtype } from "../index.ts";

/** One pickable dtype. */
export interface DtypeInfo {
  dtype: Dtype;
  bytesPerElement: number;
  /** Global constructor name; the option is offered only where it exists (Float16Array). */
  constructorName: string;
  group: "Floating point" | "Integer" | "64-bit integer (BigInt)";
}

/** Every dtype, in picker order. */
export const DEMO_DTYPES: readonly DtypeInfo[] = [
  { dtype: "float64", bytesPerElement: 8, constructorName: "Float64Array", group: "Floating point" },
  { dtype: "float32", bytesPerElement: 4, constructorName: "Float32Array", group: "Floating point" },
  { dtype: "float16", bytesPerElement: 2, constructorName: "Float16Array", group: "Floating point" },
  { dtype: "int32", bytesPerElement: 4, constructorName: "Int32Array", group: "Integer" },
  { dtype: "uint32", bytesPerElement: 4, constructorName: "Uint32Array", group: "Integer" },
  { dtype: "int16", bytesPerElement: 2, constructorName: "Int16Array", group: "Integer" },
  { dtype: "uint16", bytesPerElement: 2, constructorName: "Uint16Array", group: "Integer" },
  { dtype: "int8", bytesPerElement: 1, constructorName: "Int8Array", group: "Integer" },
  { dtype: "uint8", bytesPerElement: 1, constructorName: "Uint8Array", group: "Integer" },
  { dtype: "uint8clamped", bytesPerElement: 1, constructorName: "Uint8ClampedArray", group: "Integer" },
  { dtype: "bigint64", bytesPerElement: 8, constructorName: "BigInt64Array", group: "64-bit integer (BigInt)" },
  { dtype: "biguint64", bytesPerElement: 8, constructorName: "BigUint64Array", group: "64-bit integer (BigInt)" },
];

/** The entry for `dtype`, or undefined for a name that is not a dtype. */
export function findDtype(dtype: string): DtypeInfo | undefined {
  return DEMO_DTYPES.find((info) => info.dtype === dtype);
}

/** True where this browser has the dtype's TypedArray constructor. */
export function isAvailableHere(info: DtypeInfo): boolean {
  return typeof (globalThis as Record<string, unknown>)[info.constructorName] === "function";
}

/**
 * What storing `index` into the dtype's array gives back, exactly as `new Ctor([index])[0]`
 * (wrap-around for integers, rounding for floats, clamping for uint8clamped). One allocation per
 * call: for reports, not for loops.
 */
export function storedValue(info: DtypeInfo, index: number): number | bigint {
  const Ctor = (globalThis as Record<string, unknown>)[info.constructorName] as new (
    length: number,
  ) => { [i: number]: number | bigint };
  const one = new Ctor(1);
  one[0] = info.group === "64-bit integer (BigInt)" ? BigInt(index) : index;
  return one[0] as number | bigint;
}
