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
  xxh32,
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
   * Optional content version (up to 256 characters), such as a file's identity and modification
   * time: when given, the header's generation is derived from it (see {@link versionGeneration})
   * instead of the publish counter, so that a resume of bytes from another version gets E_GONE
   * and one of the same content continues, whichever publish or process serves it.
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
}

/** A SourceArray checked: what its header says. */
export interface ArrayDescription {
  dtype: Dtype;
  shape: number[];
  totalByteLength: number;
  meta: JsonObject | null;
  /** The source's content version, or null for none (the publish generation applies). */
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

/**
 * Checks what a source's open() returned.
 * @throws {TypeError} for an unknown or unsupported dtype, a bad shape, no read(), or bad meta.
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
  if (version !== undefined && (typeof version !== "string" || version.length > MAX_VERSION_LENGTH)) {
    throw new TypeError(
      `Invalid SourceArray: expected version to be a string of at most ${MAX_VERSION_LENGTH} characters, got ${typeof version === "string" ? `${version.length} characters` : typeof version}`,
    );
  }
  const checked = checkShape(shape, DTYPE_BYTES_PER_ELEMENT[dtype as Dtype]);
  return {
    dtype: dtype as Dtype,
    shape: checked.shape,
    totalByteLength: checked.byteLength,
    meta: checkMeta(meta),
    version: version ?? null,
  };
}

/**
 * The generation of a versioned array (docs/DEPLOY.md section 11): the XXH32 of
 * "arraywire.v1\0" + dtype + "\0" + shape joined by "," + "\0" + version, in UTF-8, with 0
 * mapped to 1 (generation 0 never matches).
 */
export function versionGeneration(dtype: Dtype, shape: readonly number[], version: string): number {
  const hash = xxh32(new TextEncoder().encode(`arraywire.v1\0${dtype}\0${shape.join(",")}\0${version}`));
  return hash === 0 ? 1 : hash;
}

/**
 * A SourceArray over a typed array's own memory: reads are subarray views (never copies), and
 * whole-array checksums are computed once (in slices that yield) and shared by every stream. Do
 * not mutate the array while it is published.
 * @throws {TypeError} for a non-typed array, a shape that does not match its length, or bad meta.
 */
export function typedArraySource(array: TypedArray, options: PublishOptions = {}): SourceArray {
  const dtype = dtypeOf(array);
  const { shape } = checkShape(options.shape ?? [array.length], array.BYTES_PER_ELEMENT, array.length);
  const meta = checkMeta(options.meta);
  const wholeChecksums = new Map<ChecksumAlgorithm, Promise<number>>();
  return {
    dtype,
    shape,
    meta,
    // A window per read, never one view of the whole: past 4 GiB Node 20 has no such Uint8Array.
    read: (byteOffset, byteLength) => byteWindow(array, byteOffset, byteLength),
    checksum(algorithm, byteStart, byteEnd) {
      // Ranges are hashed by their own stream as it reads them: a client asking for ever new
      // ranges cannot grow this cache.
      if (byteStart !== 0 || byteEnd !== array.byteLength) return undefined;
      let sum = wholeChecksums.get(algorithm);
      if (!sum) {
        sum = checksumInSlices(algorithm, array);
        wholeChecksums.set(algorithm, sum);
      }
      return sum;
    },
  };
}
