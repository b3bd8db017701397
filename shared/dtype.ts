/**
 * Dtype code <-> TypedArray constructor table. Codes are wire values (u8) and never change.
 * Payload bytes are in the host's byte order, which both ends require to be little-endian
 * (see {@link assertLittleEndianHost}).
 */
import { ProtocolError } from "./errors.ts";

/** Wire codes of every dtype (u8 at OFFSET_DTYPE of ARRAY_HEADER and PUT). */
export const DTYPE_CODES = {
  int8: 1,
  uint8: 2,
  uint8clamped: 3,
  int16: 4,
  uint16: 5,
  int32: 6,
  uint32: 7,
  float16: 8,
  float32: 9,
  float64: 10,
  bigint64: 11,
  biguint64: 12,
} as const;

/** A dtype name, such as `"float64"`. */
export type Dtype = keyof typeof DTYPE_CODES;

/** Bytes per element of each dtype. */
export const DTYPE_BYTES_PER_ELEMENT: Readonly<Record<Dtype, number>> = {
  int8: 1,
  uint8: 1,
  uint8clamped: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float16: 2,
  float32: 4,
  float64: 8,
  bigint64: 8,
  biguint64: 8,
};

const CONSTRUCTOR_NAMES: Readonly<Record<Dtype, string>> = {
  int8: "Int8Array",
  uint8: "Uint8Array",
  uint8clamped: "Uint8ClampedArray",
  int16: "Int16Array",
  uint16: "Uint16Array",
  int32: "Int32Array",
  uint32: "Uint32Array",
  float16: "Float16Array",
  float32: "Float32Array",
  float64: "Float64Array",
  bigint64: "BigInt64Array",
  biguint64: "BigUint64Array",
};

/** Every dtype name, in wire-code order. */
export const DTYPES: readonly Dtype[] = Object.keys(DTYPE_CODES) as Dtype[];

const DTYPE_BY_CODE: ReadonlyMap<number, Dtype> = new Map(DTYPES.map((d) => [DTYPE_CODES[d], d]));

/** Any typed array arraywire can carry. Float16Array is included where the runtime has it. */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/**
 * The typed array of each dtype: `DtypeArray<"float64">` is `Float64Array`. float16 maps to
 * {@link TypedArray}: `Float16Array` is not in the ES2023 library types, and not in every runtime.
 */
export interface DtypeArrays {
  int8: Int8Array;
  uint8: Uint8Array;
  uint8clamped: Uint8ClampedArray;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  float16: TypedArray;
  float32: Float32Array;
  float64: Float64Array;
  bigint64: BigInt64Array;
  biguint64: BigUint64Array;
}

/** The typed array of dtype `D` (see {@link DtypeArrays}). */
export type DtypeArray<D extends Dtype> = DtypeArrays[D];

/**
 * The dtypes whose arrays a `T` can hold: `DtypeOf<Float64Array>` is `"float64"`, `DtypeOf<Buffer>`
 * is `"uint8"`, `DtypeOf<TypedArray>` is every dtype.
 */
export type DtypeOf<T extends TypedArray> =
  | (T extends unknown
      ? { [D in Exclude<Dtype, "float16">]: T extends DtypeArrays[D] ? D : never }[Exclude<Dtype, "float16">]
      : never)
  | ([TypedArray] extends [T] ? "float16" : never);

/** Constructor of a {@link TypedArray}. */
export interface TypedArrayConstructor {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

/**
 * Dtype name for a wire code.
 * @throws {@link ProtocolError} `E_UNKNOWN_DTYPE` for a code not in {@link DTYPE_CODES}.
 */
export function dtypeFromCode(code: number): Dtype {
  const dtype = DTYPE_BY_CODE.get(code);
  if (dtype === undefined) {
    throw new ProtocolError("E_UNKNOWN_DTYPE", `Unknown dtype code: expected 1..${DTYPES.length}, got ${code}`);
  }
  return dtype;
}

/** True where this runtime has a TypedArray for `dtype` (float16 needs Float16Array). */
export function isDtypeSupported(dtype: Dtype): boolean {
  return typeof (globalThis as Record<string, unknown>)[CONSTRUCTOR_NAMES[dtype]] === "function";
}

/**
 * The TypedArray constructor for `dtype`.
 * @throws {@link ProtocolError} `E_UNSUPPORTED_DTYPE` where the runtime lacks it (Float16Array).
 */
export function typedArrayConstructor(dtype: Dtype): TypedArrayConstructor {
  const ctor = (globalThis as Record<string, unknown>)[CONSTRUCTOR_NAMES[dtype]];
  if (typeof ctor !== "function") {
    throw new ProtocolError(
      "E_UNSUPPORTED_DTYPE",
      `Unsupported dtype: ${dtype} needs ${CONSTRUCTOR_NAMES[dtype]}, which this runtime does not have`,
    );
  }
  return ctor as TypedArrayConstructor;
}

/** Getter of %TypedArray%.prototype[Symbol.toStringTag]: a typed array's built-in name, else undefined. */
const TYPED_ARRAY_NAME_OF = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  Symbol.toStringTag,
)?.get as ((this: unknown) => string | undefined) | undefined;

/**
 * Dtype of a typed array instance, by the built-in typed array it is (subclasses included).
 * @throws {TypeError} if `array` is not a typed array (DataView and plain arrays included).
 */
export function dtypeOf(array: ArrayBufferView): Dtype {
  // %TypedArray%.prototype[Symbol.toStringTag] reads the [[TypedArrayName]] slot: "Uint8Array" for a
  // Node Buffer or any other subclass, correct across realms, undefined for anything else (DataView
  // included). constructor.name alone would refuse subclasses ("Buffer").
  const typedArrayName = TYPED_ARRAY_NAME_OF?.call(array);
  for (const dtype of DTYPES) {
    if (CONSTRUCTOR_NAMES[dtype] === typedArrayName) return dtype;
  }
  const name = (array as { constructor?: { name?: string } }).constructor?.name;
  throw new TypeError(`Expected a typed array, got ${name ?? typeof array}`);
}

/**
 * Throws unless the host is little-endian. Payload bytes travel in host order; every platform
 * Node and the browsers run on is little-endian, so a big-endian host is refused rather than
 * byte-swapped silently (zarrita bytes.ts does the same check).
 * @throws {Error} on a big-endian host.
 */
export function assertLittleEndianHost(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("arraywire needs a little-endian host: payload bytes are little-endian");
  }
}
