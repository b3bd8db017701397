/**
 * What a server publishes: a fixed typed array, or a source that makes one from request params
 * (such as {@link arange}). Resolved arrays are shared by every client that asks for them: a
 * stream only ever sends subarray views of their memory.
 */
import {
  DTYPE_BYTES_PER_ELEMENT,
  DTYPES,
  type Dtype,
  dtypeOf,
  isDtypeSupported,
  type JsonObject,
  MAX_NDIM,
  StreamError,
  type TypedArray,
  typedArrayConstructor,
} from "../shared/index.ts";

/** A typed array ready to stream, with its n-d shape. */
export interface ResolvedArray {
  array: TypedArray;
  /** Defaults to `[array.length]`. product(shape) must equal array.length. */
  shape?: number[];
  /** Free-form JSON sent in the header (units, labels...). */
  meta?: JsonObject;
}

/**
 * Makes an array from request params. Throw a {@link StreamError} with code `E_BAD_REQUEST` (or
 * any code) to refuse; the client receives the code and message.
 */
export interface ArraySource {
  resolve(params: JsonObject | null): ResolvedArray | Promise<ResolvedArray>;
}

/** Options of {@link arange}. */
export interface ArangeOptions {
  /** Largest array it will generate, in bytes. Defaults to 2_147_483_648 (2 GiB). */
  maxByteLength?: number;
  /** How many generated arrays it keeps for reuse. Defaults to 2. */
  cacheEntries?: number;
}

/**
 * A source of `numpy.arange(start, start + length * step, step)` arrays of any dtype.
 * Params: `{ length: number, dtype?: Dtype = "float64", start?: number = 0, step?: number = 1,
 * shape?: number[] }`. Results are cached (LRU, `cacheEntries`) and shared by concurrent requests,
 * so ten clients asking for the same 400 MB array share one copy.
 */
export function arange(options: ArangeOptions = {}): ArraySource {
  const maxByteLength = options.maxByteLength ?? 2 ** 31;
  const cacheEntries = options.cacheEntries ?? 2;
  const cache = new Map<string, Promise<ResolvedArray>>();
  return {
    resolve(params) {
      const p = params ?? {};
      const length = p.length;
      const dtype = (p.dtype ?? "float64") as Dtype;
      const start = p.start ?? 0;
      const step = p.step ?? 1;
      if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0) {
        throw new StreamError(
          "E_BAD_REQUEST",
          `Invalid arange length: expected a non-negative integer, got ${JSON.stringify(length)}`,
        );
      }
      if (!DTYPES.includes(dtype)) {
        throw new StreamError(
          "E_BAD_REQUEST",
          `Invalid arange dtype: expected one of ${DTYPES.join(", ")}, got ${JSON.stringify(p.dtype)}`,
        );
      }
      if (!isDtypeSupported(dtype)) {
        throw new StreamError(
          "E_BAD_REQUEST",
          `Unsupported arange dtype: ${dtype} is not available in this server's runtime`,
        );
      }
      if (typeof start !== "number" || typeof step !== "number" || !Number.isFinite(start) || !Number.isFinite(step)) {
        throw new StreamError("E_BAD_REQUEST", "Invalid arange start/step: expected finite numbers");
      }
      const byteLength = length * DTYPE_BYTES_PER_ELEMENT[dtype];
      if (byteLength > maxByteLength) {
        throw new StreamError(
          "E_BAD_REQUEST",
          `arange too large: expected at most ${maxByteLength} bytes, got ${byteLength}`,
        );
      }
      const shape = parseShape(p.shape, length);
      const key = JSON.stringify([length, dtype, start, step, shape]);
      let hit = cache.get(key);
      if (hit) {
        cache.delete(key); // re-insert: most recently used last
      } else {
        hit = Promise.resolve({
          array: fillArange(dtype, length, start, step),
          shape,
          meta: { source: "arange", start, step },
        });
        while (cache.size >= cacheEntries) cache.delete(cache.keys().next().value as string);
      }
      cache.set(key, hit);
      return hit;
    },
  };
}

function parseShape(shape: unknown, length: number): number[] {
  if (shape === undefined || shape === null) return [length];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new StreamError("E_BAD_REQUEST", "Invalid arange shape: expected an array of non-negative integers");
  }
  if (shape.length > MAX_NDIM) {
    throw new StreamError(
      "E_BAD_REQUEST",
      `Invalid arange shape: expected at most ${MAX_NDIM} dims, got ${shape.length}`,
    );
  }
  const product = shape.reduce((a: number, b: number) => a * b, 1);
  if (product !== length) {
    throw new StreamError("E_BAD_REQUEST", `Invalid arange shape: expected product ${length}, got ${product}`);
  }
  return shape as number[];
}

/** Fills a new typed array with start + i * step (wrapped to the dtype, as a typed array store does). */
export function fillArange(dtype: Dtype, length: number, start = 0, step = 1): TypedArray {
  const array = new (typedArrayConstructor(dtype))(length);
  if (array instanceof BigInt64Array || array instanceof BigUint64Array) {
    const big = array as unknown as { [i: number]: bigint };
    for (let i = 0; i < length; i++) big[i] = BigInt.asIntN(64, BigInt(Math.trunc(start + i * step)));
  } else {
    const num = array as Float64Array;
    for (let i = 0; i < length; i++) num[i] = start + i * step;
  }
  return array;
}

/**
 * Checks a resolved array and returns its shape.
 * @throws {TypeError} when `array` is not a typed array or the shape does not match its length.
 */
export function checkResolved(resolved: ResolvedArray): { dtype: Dtype; shape: number[] } {
  const dtype = dtypeOf(resolved.array);
  const shape = resolved.shape ?? [resolved.array.length];
  const product = shape.reduce((a, b) => a * b, 1);
  if (shape.length > MAX_NDIM) {
    throw new TypeError(`Invalid shape: expected at most ${MAX_NDIM} dims, got ${shape.length}`);
  }
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || product !== resolved.array.length) {
    throw new TypeError(
      `Invalid shape: expected non-negative integers with product ${resolved.array.length}, got [${shape.join(", ")}]`,
    );
  }
  return { dtype, shape };
}
