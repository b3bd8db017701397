/**
 * What a server publishes: an {@link ArraySource} opens a {@link SourceArray} for a request's
 * params, and the SourceArray serves byte ranges of the flattened array. A stream reads it chunk
 * by chunk, so a source never has to hold the whole array: a published typed array answers with
 * views of its own memory (zero copy), a generator fills the pooled scratch buffer it is handed
 * (see arange.ts), and file or live sources read the range they are asked for.
 */
import {
  byteWindow,
  type ChecksumAlgorithm,
  DTYPE_BYTES_PER_ELEMENT,
  DTYPES,
  type Dtype,
  dtypeOf,
  isDtypeSupported,
  type JsonObject,
  MAX_NDIM,
  type TypedArray,
} from "../shared/index.ts";
import { checksumInSlices } from "./checksum-slices.ts";
import { checkMeta } from "./meta.ts";

/**
 * Opens arrays on request. Throw a StreamError with code `E_BAD_REQUEST` (or any wire code) to
 * refuse params; the client receives the code and message. Anything else thrown is a bug: the
 * client gets E_INTERNAL and the server log one line.
 */
export interface ArraySource {
  open(params: JsonObject | null, context: SourceContext): SourceArray | Promise<SourceArray>;
  /**
   * Optional: what the source can say about itself without opening an array or reading data,
   * for listings and stats (docs/PROTOCOL.md §18): its dtype and shape when they do not depend on
   * params (a file's header), meta, and a description of the params it reads (a generator's). A
   * throw, a rejection, an invalid answer or one slower than 5 s lists the name without them.
   */
  describe?(): SourceDescription | Promise<SourceDescription>;
}

/** What {@link ArraySource.describe} returns; every field is optional. */
export interface SourceDescription {
  dtype?: Dtype;
  shape?: readonly number[];
  meta?: JsonObject | null;
  /** The params the source reads, as free-form JSON (e.g. a JSON Schema); listed as is. */
  params?: JsonObject;
}

/** What the server hands to {@link ArraySource.open}. */
export interface SourceContext {
  /**
   * Counts `byteLength` against the server's maxSourceBytes until this array closes; throws a
   * StreamError E_BUSY (before you allocate) when the budget is spent.
   */
  reserve(byteLength: number): void;
  /** Aborted when no stream wants the array any more (cancel, disconnect, server close). */
  readonly signal: AbortSignal;
  /**
   * Says this opened array no longer matches what it was opened from (a file changed): requests
   * that arrive from now on open the source afresh instead of sharing it. Streams already on it
   * go on; its read() decides what they get (file sources fail them with E_GONE). Present on
   * every context the server makes; optional for contexts made by hand in tests.
   */
  invalidate?(): void;
}

/** One opened array: its description, and its bytes by range. */
export interface SourceArray {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Free-form JSON sent in the header (units, labels...). */
  readonly meta?: JsonObject | null;
  /**
   * Optional: names this array's content (a file's hash or mtime, an object store's ETag, a
   * release tag; it may depend on the params open() got). Equal versions (with equal dtype, shape
   * and meta) promise equal bytes: the generation is derived from them (server/generation.ts), so
   * every server process that opens this array agrees on it, and a resume is valid on any of
   * them. Without it, the generation is a number of this process's own: resumes work on this
   * process only. At most 256 characters. `arange` and the file sources (npyFile, zarrArray:
   * their file's identity) give one.
   */
  readonly version?: string;
  /**
   * Bytes [byteOffset, byteOffset + byteLength) of the flattened C-order array: either a view of
   * memory that stays unchanged while the stream runs (published arrays: zero copy), or
   * `scratch` (exactly byteLength bytes from a bounded pool; its byteOffset is congruent to
   * `byteOffset` modulo 8, so typed views at element boundaries are aligned) filled and
   * returned. Offsets can be at any byte (a resume may start mid-element). May be async.
   */
  read(byteOffset: number, byteLength: number, scratch: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * Optional: a checksum the source can give cheaply (a cached whole-array value); undefined
   * means the stream computes it from the bytes it reads.
   */
  checksum?(algorithm: ChecksumAlgorithm, byteStart: number, byteEnd: number): Promise<number> | undefined;
  /** Called once when the last stream using this array ended. */
  close?(): void;
}

/** Options of {@link ArrayServer.publish} and {@link typedArraySource} for a typed array. */
export interface PublishOptions {
  /** n-d shape; product must equal the array's length. Defaults to `[array.length]`. */
  shape?: number[];
  /** JSON sent in the header; checked at publish time. */
  meta?: JsonObject;
  /**
   * Names the array's content (a release tag, a file's hash, an object store's ETag): the
   * generation is derived from it, dtype, shape and meta, without reading the bytes. Without it,
   * {@link ArrayServer.publish} derives the generation from an XXH32 of the bytes, computed once
   * in slices that yield to the event loop (the first request waits for it). Either way every
   * process publishing the same array agrees on the generation.
   */
  version?: string;
}

/** A SourceArray checked: what its header says. */
export interface ArrayDescription {
  dtype: Dtype;
  shape: number[];
  totalByteLength: number;
  meta: JsonObject | null;
  /** SourceArray.version, or null for none. */
  version: string | null;
}

/** Longest SourceArray.version accepted, in characters. */
export const MAX_VERSION_LENGTH = 256;

function checkShape(shape: unknown, itemsize: number, elementCount?: number): { shape: number[]; byteLength: number } {
  if (!Array.isArray(shape)) throw new TypeError(`Invalid shape: expected an array of integers, got ${typeof shape}`);
  if (shape.length > MAX_NDIM) {
    throw new TypeError(`Invalid shape: expected at most ${MAX_NDIM} dims, got ${shape.length}`);
  }
  let product = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new TypeError(`Invalid shape: expected non-negative integers, got [${shape.join(", ")}]`);
    }
    product *= dim;
  }
  if (!Number.isSafeInteger(product * itemsize)) {
    throw new TypeError(`Invalid shape: [${shape.join(", ")}] is over 2^53 - 1 bytes`);
  }
  if (elementCount !== undefined && product !== elementCount) {
    throw new TypeError(
      `Invalid shape: expected non-negative integers with product ${elementCount}, got [${shape.join(", ")}]`,
    );
  }
  return { shape: [...shape], byteLength: product * itemsize };
}

/** A description checked: each field kept only when valid (a bad one is dropped, never sent). */
export interface CheckedDescription {
  dtype?: Dtype;
  shape?: number[];
  byteLength?: number;
  meta?: JsonObject | null;
  params?: JsonObject;
}

/**
 * Checks what a source's describe() returned: a shape needs a dtype (its byte length is computed
 * from both), meta and params must be JSON the protocol accepts.
 * @throws {TypeError} for an answer that is not an object, a shape without a dtype, or a bad
 *   dtype, shape, meta or params.
 */
export function checkDescription(value: unknown): CheckedDescription {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Invalid describe() result: expected an object, got ${value === null ? "null" : typeof value}`);
  }
  const { dtype, shape, meta, params } = value as SourceDescription;
  const out: CheckedDescription = {};
  if (dtype !== undefined || shape !== undefined) {
    if (!DTYPES.includes(dtype as Dtype)) {
      throw new TypeError(`Invalid describe() result: dtype ${JSON.stringify(dtype)} is not a dtype`);
    }
    out.dtype = dtype as Dtype;
  }
  if (shape !== undefined) {
    const checked = checkShape(shape, DTYPE_BYTES_PER_ELEMENT[dtype as Dtype]);
    out.shape = checked.shape;
    out.byteLength = checked.byteLength;
  }
  if (meta !== undefined) out.meta = checkMeta(meta);
  if (params !== undefined) {
    const checked = checkMeta(params);
    if (checked !== null) out.params = checked;
  }
  return out;
}

/** `version` as given (null for none). @throws {TypeError} for anything but a string or undefined. */
function checkVersion(version: unknown, what: string): string | null {
  if (version === undefined) return null;
  if (typeof version !== "string")
    throw new TypeError(`Invalid ${what} version: expected a string, got ${typeof version}`);
  if (version.length > MAX_VERSION_LENGTH) {
    throw new TypeError(
      `Invalid ${what} version: expected at most ${MAX_VERSION_LENGTH} characters, got ${version.length}`,
    );
  }
  return version;
}

/**
 * Checks what a source's open() returned.
 * @throws {TypeError} for an unknown or unsupported dtype, a bad shape, no read(), bad meta, or a
 *   version that is not a string.
 */
export function describeSourceArray(array: unknown): ArrayDescription {
  if (typeof array !== "object" || array === null) {
    throw new TypeError(`Invalid SourceArray: expected an object, got ${array === null ? "null" : typeof array}`);
  }
  const { dtype, shape, meta, read, version } = array as Partial<SourceArray>;
  if (!DTYPES.includes(dtype as Dtype) || !isDtypeSupported(dtype as Dtype)) {
    throw new TypeError(`Invalid SourceArray: dtype ${JSON.stringify(dtype)} is not a dtype this runtime supports`);
  }
  if (typeof read !== "function") throw new TypeError("Invalid SourceArray: expected a read() method");
  const checked = checkShape(shape, DTYPE_BYTES_PER_ELEMENT[dtype as Dtype]);
  return {
    dtype: dtype as Dtype,
    shape: checked.shape,
    totalByteLength: checked.byteLength,
    meta: checkMeta(meta),
    version: checkVersion(version, "SourceArray"),
  };
}

/** A typed array's SourceArray, and its whole-array checksum (the one its checksum() caches). */
export interface TypedSourceArray {
  readonly array: SourceArray;
  /** The checksum of every byte, computed once per algorithm in slices that yield. */
  wholeChecksum(algorithm: Exclude<ChecksumAlgorithm, "none">): Promise<number>;
}

/**
 * {@link typedArraySource} with its checksum cache exposed (ArrayServer.publish derives the
 * generation from the whole-array XXH32, which streams then reuse).
 * @throws what {@link typedArraySource} throws.
 */
export function describeTypedArray(array: TypedArray, options: PublishOptions = {}): TypedSourceArray {
  const dtype = dtypeOf(array);
  const { shape } = checkShape(options.shape ?? [array.length], array.BYTES_PER_ELEMENT, array.length);
  const meta = checkMeta(options.meta);
  const version = checkVersion(options.version, "publish");
  const wholeChecksums = new Map<ChecksumAlgorithm, Promise<number>>();
  const wholeChecksum = (algorithm: ChecksumAlgorithm): Promise<number> => {
    let sum = wholeChecksums.get(algorithm);
    if (!sum) {
      sum = checksumInSlices(algorithm, array);
      wholeChecksums.set(algorithm, sum);
    }
    return sum;
  };
  return {
    array: {
      dtype,
      shape,
      meta,
      ...(version === null ? {} : { version }),
      // A window per read, never one view of the whole: past 4 GiB Node 20 has no such Uint8Array.
      read: (byteOffset, byteLength) => byteWindow(array, byteOffset, byteLength),
      // Ranges are hashed by their own stream as it reads them: a client asking for ever new
      // ranges cannot grow this cache.
      checksum: (algorithm, byteStart, byteEnd) =>
        byteStart === 0 && byteEnd === array.byteLength ? wholeChecksum(algorithm) : undefined,
    },
    wholeChecksum,
  };
}

/**
 * A SourceArray over a typed array's own memory: reads are subarray views (never copies), and
 * whole-array checksums are computed once (in slices that yield) and shared by every stream. Do
 * not mutate the array while it is published. `options.version` becomes the SourceArray's version.
 * @throws {TypeError} for a non-typed array, a shape that does not match its length, bad meta, or
 *   a version that is not a string.
 */
export function typedArraySource(array: TypedArray, options: PublishOptions = {}): SourceArray {
  return describeTypedArray(array, options).array;
}
