/**
 * The server's per-chunk compression choice, for streams whose client offered zstd (REQUEST byte
 * 15). Each chunk: zstd a sample from its middle both as it is and byte-shuffled (two small
 * compress calls); keep the shuffled form unless the plain one is smaller by more than
 * `preferPlainRatio`; send the chunk raw (DATA) when the better sample compresses less than
 * `minRatio`, and again when the whole chunk does. After `skipAfterRawChunks` raw chunks in a
 * row a stream samples only every `skipAfterRawChunks`-th chunk, so incompressible data costs
 * almost nothing. The shuffle goes through one scratch buffer per server (compression is
 * synchronous and its output is a new buffer); measurements: research/DESIGN.md of issue 12.
 */
import { loadZstd, shuffleBytes, type ZstdCodec } from "../shared/index.ts";

/** Compression options of {@link ArrayServerOptions}; every field has a default. */
export interface CompressionOptions {
  /** zstd level, 1..19 (levels above 19 could exceed the 8 MiB window). Defaults to 1. */
  level?: number;
  /** Least raw/encoded ratio worth sending encoded, of the sample and of the chunk. Defaults to 1.1. */
  minRatio?: number;
  /** Bytes sampled from the middle of each chunk to choose. Defaults to 131_072 (128 KiB). */
  sampleByteLength?: number;
  /** Chunks smaller than this go raw. Defaults to 4_096. */
  minChunkByteLength?: number;
  /** Raw chunks in a row after which only every n-th chunk is sampled. Defaults to 8. */
  skipAfterRawChunks?: number;
}

/** {@link CompressionOptions} resolved; `enabled` false when the server option is `false`. */
export interface CompressionSettings {
  enabled: boolean;
  level: number;
  minRatio: number;
  sampleByteLength: number;
  minChunkByteLength: number;
  skipAfterRawChunks: number;
}

/** Plain zstd wins only when it is smaller than the shuffled form by more than this factor. */
const PREFER_PLAIN_RATIO = 1.1;

function inRange(name: string, value: number, min: number, max: number, integer: boolean): number {
  if (
    typeof value !== "number" ||
    Number.isNaN(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `Invalid compression.${name}: expected ${integer ? "an integer" : "a number"} in ${min}..${max}, got ${value}`,
    );
  }
  return value;
}

/**
 * Applies defaults: `true` or undefined = on with defaults, `false` = off.
 * @throws {RangeError} for an option out of range; {@link TypeError} for another type.
 */
export function resolveCompression(option: boolean | CompressionOptions | undefined): CompressionSettings {
  if (option !== undefined && typeof option !== "boolean" && (typeof option !== "object" || option === null)) {
    throw new TypeError(`Invalid compression: expected a boolean or an options object, got ${String(option)}`);
  }
  const o = typeof option === "object" ? option : {};
  return {
    enabled: option !== false,
    level: inRange("level", o.level ?? 1, 1, 19, true),
    minRatio: inRange("minRatio", o.minRatio ?? 1.1, 1, 1000, false),
    sampleByteLength: inRange("sampleByteLength", o.sampleByteLength ?? 128 * 1024, 1024, 2 ** 31 - 1, true),
    minChunkByteLength: inRange("minChunkByteLength", o.minChunkByteLength ?? 4096, 1, 2 ** 31 - 1, true),
    skipAfterRawChunks: inRange("skipAfterRawChunks", o.skipAfterRawChunks ?? 8, 1, 2 ** 31 - 1, true),
  };
}

/** An encoded chunk: one zstd frame of the (possibly shuffled) raw bytes. */
export interface EncodedChunk {
  bytes: Uint8Array;
  filter: "none" | "shuffle";
}

/** Per-stream state of the choice (the run of raw chunks). */
export class ChunkChooser {
  readonly #encoder: ChunkEncoder;
  readonly #itemByteLength: number;
  #rawRun = 0;
  #skipped = 0;

  constructor(encoder: ChunkEncoder, itemByteLength: number) {
    this.#encoder = encoder;
    this.#itemByteLength = itemByteLength;
  }

  /** The chunk encoded, or null to send it raw. */
  encode(payload: Uint8Array): EncodedChunk | null {
    const skipAfter = this.#encoder.settings.skipAfterRawChunks;
    if (this.#rawRun >= skipAfter && ++this.#skipped < skipAfter) return null;
    this.#skipped = 0;
    const encoded = this.#encoder.encode(payload, this.#itemByteLength);
    this.#rawRun = encoded === null ? this.#rawRun + 1 : 0;
    return encoded;
  }
}

/** The server's encoder: settings, the codec once loaded, and the shuffle scratch. */
export class ChunkEncoder {
  readonly settings: CompressionSettings;
  readonly #zstd: ZstdCodec;
  #scratch = new Uint8Array(0);

  constructor(zstd: ZstdCodec, settings: CompressionSettings) {
    this.#zstd = zstd;
    this.settings = settings;
  }

  /** The chunk encoded as the module comment describes, or null to send it raw. */
  encode(payload: Uint8Array, itemByteLength: number): EncodedChunk | null {
    const { minRatio, minChunkByteLength, level } = this.settings;
    const n = payload.byteLength;
    if (n < minChunkByteLength) return null;
    const filter = this.#chooseFilter(payload, itemByteLength);
    if (filter === null) return null;
    let source = payload;
    if (filter === "shuffle") {
      source = this.#scratchOf(n);
      shuffleBytes(payload, source, itemByteLength);
    }
    const bytes = this.#zstd.compress(source, level);
    return n / bytes.byteLength < minRatio ? null : { bytes, filter };
  }

  /**
   * The chunk as one plain zstd frame (no shuffle: for a body the browser decodes itself), or
   * null when its middle sample, then the whole chunk, compress less than minRatio.
   */
  encodePlain(payload: Uint8Array): Uint8Array | null {
    const { minRatio, minChunkByteLength, level, sampleByteLength } = this.settings;
    const n = payload.byteLength;
    if (n < minChunkByteLength) return null;
    const sampleLength = Math.min(n, sampleByteLength);
    const start = Math.floor((n - sampleLength) / 2);
    if (
      sampleLength / this.#zstd.compress(payload.subarray(start, start + sampleLength), level).byteLength <
      minRatio
    ) {
      return null;
    }
    const bytes = this.#zstd.compress(payload, level);
    return n / bytes.byteLength < minRatio ? null : bytes;
  }

  /** Which form the sample favours, or null when neither reaches minRatio. */
  #chooseFilter(payload: Uint8Array, itemByteLength: number): EncodedChunk["filter"] | null {
    const { sampleByteLength, minRatio, level } = this.settings;
    const n = payload.byteLength;
    // Whole elements from the middle of the chunk (its ends are often padding or ramps).
    const sampleLength = Math.min(n, sampleByteLength - (sampleByteLength % itemByteLength));
    const start = Math.floor((n - sampleLength) / 2 / itemByteLength) * itemByteLength;
    const sample = payload.subarray(start, start + sampleLength);
    const plain = this.#zstd.compress(sample, level).byteLength;
    let shuffled = Number.POSITIVE_INFINITY;
    if (itemByteLength > 1) {
      const scratch = this.#scratchOf(sampleLength);
      shuffleBytes(sample, scratch, itemByteLength);
      shuffled = this.#zstd.compress(scratch, level).byteLength;
    }
    const filter = plain * PREFER_PLAIN_RATIO < shuffled ? "none" : "shuffle";
    const best = filter === "none" ? plain : shuffled;
    return sampleLength / best < minRatio ? null : filter;
  }

  /** The first `byteLength` bytes of the scratch buffer, grown as needed. */
  #scratchOf(byteLength: number): Uint8Array {
    if (this.#scratch.byteLength < byteLength) this.#scratch = new Uint8Array(byteLength);
    return this.#scratch.subarray(0, byteLength);
  }
}

const encoders = new WeakMap<CompressionSettings, Promise<ChunkEncoder>>();

/**
 * The encoder for a server's settings, loading the codec on first use (one per server). A load
 * that failed is tried again next time.
 * @throws (rejects) when the codec cannot be loaded.
 */
export function encoderFor(settings: CompressionSettings): Promise<ChunkEncoder> {
  let encoder = encoders.get(settings);
  if (encoder === undefined) {
    encoder = loadZstd().then((zstd) => new ChunkEncoder(zstd, settings));
    encoders.set(settings, encoder);
    encoder.catch(() => encoders.delete(settings));
  }
  return encoder;
}
