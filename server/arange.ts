/**
 * `arange`: a generated source that never holds its array. Each chunk a stream asks for is
 * computed into the pooled scratch buffer the stream hands it, so a 2 GiB request costs the
 * server one chunk of memory and a few milliseconds of work per chunk instead of a 2 GiB
 * allocation filled while the event loop waits (issue 7, items 4 and 5). Nothing is reserved
 * against maxSourceBytes.
 */
import {
  DTYPE_BYTES_PER_ELEMENT,
  DTYPES,
  type Dtype,
  forEachByteWindow,
  isDtypeSupported,
  MAX_NDIM,
  StreamError,
  type TypedArray,
  typedArrayConstructor,
} from "../shared/index.ts";
import type { ArraySource, SourceArray } from "./sources.ts";

/** Options of {@link arange}. */
export interface ArangeOptions {
  /** Largest array it will generate, in bytes. Defaults to 268_435_456 (256 MiB). */
  maxByteLength?: number;
}

/** What arange generates: element i is start + i * step, stored as `dtype` stores it. */
interface ArangeSpec {
  dtype: Dtype;
  length: number;
  start: number;
  step: number;
}

const TWO_32 = 2 ** 32;
/** Elements generated at a time when the target is not aligned for a typed view. */
const UNALIGNED_BATCH = 8192;

/**
 * Writes elements [first, first + count) of `spec` into `view`: a typed array of the dtype, or
 * for bigint64/biguint64 a Uint32Array of two words per element (low, high; the host is
 * little-endian), so no BigInt is made per element. One loop per array type: a store site that
 * sees one type stays monomorphic (one shared loop ran uint8 at ~230 MB/s instead of GB/s).
 */
function fillElements(spec: ArangeSpec, first: number, count: number, view: TypedArray | Uint32Array): void {
  const { start, step } = spec;
  switch (spec.dtype) {
    case "float64": {
      const out = view as Float64Array;
      for (let i = 0; i < count; i++) out[i] = start + (first + i) * step;
      return;
    }
    case "float32": {
      const out = view as Float32Array;
      for (let i = 0; i < count; i++) out[i] = start + (first + i) * step;
      return;
    }
    case "int32": {
      const out = view as Int32Array;
      for (let i = 0; i < count; i++) out[i] = start + (first + i) * step;
      return;
    }
    case "uint32": {
      const out = view as Uint32Array;
      for (let i = 0; i < count; i++) out[i] = start + (first + i) * step;
      return;
    }
    case "int16": {
      const out = view as Int16Array;
      for (let i = 0; i < count; i++) out[i] = start + (first + i) * step;
      return;
    }
    case "uint16": {
      const out = view as Uint16Array;
      for (let i = 0; i < count; i++) out[i] = start + (first + i) * step;
      return;
    }
    case "int8": {
      const out = view as Int8Array;
      for (let i = 0; i < count; i++) out[i] = start + (first + i) * step;
      return;
    }
    case "uint8": {
      const out = view as Uint8Array;
      for (let i = 0; i < count; i++) out[i] = start + (first + i) * step;
      return;
    }
    case "uint8clamped": {
      const out = view as Uint8ClampedArray;
      for (let i = 0; i < count; i++) out[i] = start + (first + i) * step;
      return;
    }
    case "bigint64":
    case "biguint64": {
      const words = view as Uint32Array;
      for (let i = 0; i < count; i++) {
        // v is an integral double; hi * 2^32 + lo == v exactly, and Uint32 stores wrap hi into
        // two's complement, which is v mod 2^64: what BigInt.asIntN(64, BigInt(v)) stores.
        const v = Math.trunc(start + (first + i) * step);
        const hi = Math.floor(v / TWO_32);
        words[2 * i] = v - hi * TWO_32;
        words[2 * i + 1] = hi;
      }
      return;
    }
    default: {
      // float16 where the runtime has it: rare, so one generic loop.
      const out = view as unknown as { [i: number]: number };
      for (let i = 0; i < count; i++) out[i] = start + (first + i) * step;
    }
  }
}

/** A view of `count` elements (bigint: 2 * count words) over `bytes` at `byteOffset`, which is aligned. */
function elementView(dtype: Dtype, bytes: Uint8Array, byteOffset: number, count: number): TypedArray | Uint32Array {
  if (dtype === "bigint64" || dtype === "biguint64") return new Uint32Array(bytes.buffer, byteOffset, 2 * count);
  return new (typedArrayConstructor(dtype))(bytes.buffer as ArrayBuffer, byteOffset, count);
}

/**
 * Fills `out` with bytes [byteOffset, byteOffset + out.byteLength) of the flattened array:
 * partial elements at either end through a one-element buffer, the whole elements between
 * straight into `out` when it is aligned for them (the pool sees to that), else in batches.
 */
function fillBytes(spec: ArangeSpec, byteOffset: number, out: Uint8Array): void {
  const itemsize = DTYPE_BYTES_PER_ELEMENT[spec.dtype];
  const end = byteOffset + out.byteLength;
  let offset = byteOffset;
  let written = 0;
  const one = new Uint8Array(8);
  const partial = (element: number, skip: number, take: number) => {
    fillElements(spec, element, 1, elementView(spec.dtype, one, 0, 1));
    out.set(one.subarray(skip, skip + take), written);
    written += take;
    offset += take;
  };
  const skip = offset % itemsize;
  if (skip !== 0) partial((offset - skip) / itemsize, skip, Math.min(itemsize - skip, end - offset));
  let whole = Math.floor((end - offset) / itemsize);
  if (whole > 0 && (out.byteOffset + written) % itemsize === 0) {
    fillElements(spec, offset / itemsize, whole, elementView(spec.dtype, out, out.byteOffset + written, whole));
    written += whole * itemsize;
    offset += whole * itemsize;
  } else if (whole > 0) {
    const batch = new Uint8Array(Math.min(whole, UNALIGNED_BATCH) * itemsize);
    while (whole > 0) {
      const count = Math.min(whole, UNALIGNED_BATCH);
      fillElements(spec, offset / itemsize, count, elementView(spec.dtype, batch, 0, count));
      out.set(batch.subarray(0, count * itemsize), written);
      written += count * itemsize;
      offset += count * itemsize;
      whole -= count;
    }
  }
  if (offset < end) partial(offset / itemsize, 0, end - offset);
}

/**
 * A new typed array with start + i * step (wrapped to the dtype as a typed array store does;
 * bigint dtypes take the value modulo 2^64, and 0 for a non-finite value).
 */
export function fillArange(dtype: Dtype, length: number, start = 0, step = 1): TypedArray {
  const array = new (typedArrayConstructor(dtype))(length);
  // Window by window: past 4 GiB no single Uint8Array spans the array on Node 20.
  forEachByteWindow(array, 0, array.byteLength, (window, byteOffset) =>
    fillBytes({ dtype, length, start, step }, byteOffset, window),
  );
  return array;
}

function badRequest(message: string): StreamError {
  return new StreamError("E_BAD_REQUEST", message);
}

function parseShape(shape: unknown, length: number): number[] {
  if (shape === undefined || shape === null) return [length];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw badRequest("Invalid arange shape: expected an array of non-negative integers");
  }
  if (shape.length > MAX_NDIM) {
    throw badRequest(`Invalid arange shape: expected at most ${MAX_NDIM} dims, got ${shape.length}`);
  }
  const product = shape.reduce((a: number, b: number) => a * b, 1);
  if (product !== length) throw badRequest(`Invalid arange shape: expected product ${length}, got ${product}`);
  return shape as number[];
}

/** Refuses bigint aranges whose first or last value does not fit (the values are monotonic). */
function checkBigintRange(spec: ArangeSpec): void {
  if (spec.length === 0) return;
  const [min, max, label] =
    spec.dtype === "bigint64" ? [-(2 ** 63), 2 ** 63, "[-2^63, 2^63)"] : [0, 2 ** 64, "[0, 2^64)"];
  const first = Math.trunc(spec.start);
  const last = Math.trunc(spec.start + (spec.length - 1) * spec.step);
  for (const value of [first, last]) {
    if (!(value >= min && value < max)) {
      throw badRequest(`Invalid arange: ${spec.dtype} values run from ${first} to ${last}, outside ${label}`);
    }
  }
}

function parseSpec(params: Record<string, unknown>, maxByteLength: number): ArangeSpec & { shape: number[] } {
  const { length } = params;
  const dtype = (params.dtype ?? "float64") as Dtype;
  const start = params.start ?? 0;
  const step = params.step ?? 1;
  if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0) {
    throw badRequest(`Invalid arange length: expected a non-negative integer, got ${JSON.stringify(length)}`);
  }
  if (!DTYPES.includes(dtype)) {
    throw badRequest(`Invalid arange dtype: expected one of ${DTYPES.join(", ")}, got ${JSON.stringify(params.dtype)}`);
  }
  if (!isDtypeSupported(dtype)) {
    throw badRequest(`Unsupported arange dtype: ${dtype} is not available in this server's runtime`);
  }
  if (typeof start !== "number" || typeof step !== "number" || !Number.isFinite(start) || !Number.isFinite(step)) {
    throw badRequest("Invalid arange start/step: expected finite numbers");
  }
  const byteLength = length * DTYPE_BYTES_PER_ELEMENT[dtype];
  if (byteLength > maxByteLength) {
    throw badRequest(`arange too large: expected at most ${maxByteLength} bytes, got ${byteLength}`);
  }
  const spec = { dtype, length, start, step, shape: parseShape(params.shape, length) };
  if (dtype === "bigint64" || dtype === "biguint64") checkBigintRange(spec);
  return spec;
}

/** A number as text that tells -0 from 0 (String() and JSON do not; the sign bit is data). */
function numberText(value: number): string {
  return Object.is(value, -0) ? "-0" : String(value);
}

/**
 * The version of an arange array: its output is a function of its params alone, so every server
 * process gives the same array the same generation, and a resume is valid on any of them.
 */
function arangeVersion(spec: ArangeSpec): string {
  return `arange.v1 ${spec.dtype} ${spec.length} start=${numberText(spec.start)} step=${numberText(spec.step)}`;
}

/**
 * A source of `numpy.arange(start, start + length * step, step)` arrays of any dtype, generated
 * chunk by chunk as streams read them (never held whole, nothing reserved). Its arrays carry a
 * version derived from their params, so their generation is the same on every server process.
 * Params: `{ length: number, dtype?: Dtype = "float64", start?: number = 0, step?: number = 1,
 * shape?: number[] }`. A bigint64/biguint64 arange whose values overflow is E_BAD_REQUEST.
 * @throws {TypeError} for an unknown option; {RangeError} for a maxByteLength that is not a positive safe integer.
 */
export function arange(options: ArangeOptions = {}): ArraySource {
  for (const key of Object.keys(options)) {
    if (key !== "maxByteLength") {
      throw new TypeError(`Invalid arange option ${JSON.stringify(key)}: expected only maxByteLength`);
    }
  }
  const maxByteLength = options.maxByteLength ?? 256 * 1024 * 1024;
  if (!Number.isSafeInteger(maxByteLength) || maxByteLength < 1) {
    throw new RangeError(`Invalid maxByteLength: expected a positive safe integer, got ${maxByteLength}`);
  }
  // What listings show for arange (docs/PROTOCOL.md §18): a JSON Schema of its params.
  const description = {
    meta: { source: "arange" },
    params: {
      type: "object",
      required: ["length"],
      properties: {
        length: { type: "integer", minimum: 0 },
        dtype: { enum: DTYPES.filter(isDtypeSupported), default: "float64" },
        start: { type: "number", default: 0 },
        step: { type: "number", default: 1 },
        shape: { type: "array", items: { type: "integer", minimum: 0 }, maxItems: MAX_NDIM },
      },
      maxByteLength,
    },
  };
  return {
    describe: () => description,
    open(params): SourceArray {
      const spec = parseSpec(params ?? {}, maxByteLength);
      return {
        dtype: spec.dtype,
        shape: spec.shape,
        meta: { source: "arange", start: spec.start, step: spec.step },
        version: arangeVersion(spec),
        read(byteOffset, _byteLength, scratch) {
          fillBytes(spec, byteOffset, scratch);
          return scratch;
        },
      };
    },
  };
}
