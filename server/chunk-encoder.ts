/**
 * The server's per-chunk compression choice, for streams whose client offered zstd (REQUEST byte
 * 15). Each chunk: zstd a sample from its middle both as it is and byte-shuffled (two small
 * compress calls); keep the shuffled form unless the plain one is smaller by more than
 * `preferPlainRatio`; send the chunk raw (DATA) when the better sample compresses less than
 * `minRatio`, and again when the whole chunk does. After `skipAfterRawChunks` raw chunks in a
 * row a stream samples only every `skipAfterRawChunks`-th chunk, so incompressible data costs
 * almost nothing. The shuffle goes through one scratch buffer per server (compression is
 * synchronous and its output is a new buffer); measurements: research/DESIGN.md of issue 12.
 *
 * With the native codec (server/native-zstd.ts) encoding is asynchronous ({@link
 * ChunkEncoder.async}): compress runs in libuv's threadpool while the main thread keeps the
 * socket fed, each shuffle goes through its own buffer from the connection's scratch pool (given
 * back once the compress settles), and a stream samples only on its first chunk, every
 * {@link RESAMPLE_EVERY}-th chunk and after a raw one, reusing the filter in between.
 */
import { loadZstd, shuffleBytes, type ZstdCodec } from "../shared/index.ts";
import { type AsyncZstd, loadNativeZstd } from "./native-zstd.ts";
import type { ScratchPool } from "./scratch-pool.ts";

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

/** With the native codec, a stream samples again after this many chunks encoded with one filter. */
export const RESAMPLE_EVERY = 8;

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
    if (this.#skips()) return null;
    const encoded = this.#encoder.encode(payload, this.#itemByteLength);
    this.#rawRun = encoded === null ? this.#rawRun + 1 : 0;
    return encoded;
  }

  /** True when this chunk goes raw unsampled: after skipAfterRawChunks raw ones, all but every n-th. */
  #skips(): boolean {
    const skipAfter = this.#encoder.settings.skipAfterRawChunks;
    if (this.#rawRun >= skipAfter && ++this.#skipped < skipAfter) return true;
    this.#skipped = 0;
    return false;
  }

  /** True when {@link encodeAsync} is the path to take (the native codec loaded). */
  get async(): boolean {
    return this.#encoder.async;
  }

  #filter: EncodedChunk["filter"] | null = null;
  #sinceSample = 0;

  /**
   * The chunk encoded off the main thread, or null to send it raw; the filter a sample chose is
   * reused for {@link RESAMPLE_EVERY} chunks. One call at a time per stream.
   * @param pool where the shuffle's buffer comes from (and goes back to once compressed).
   * @throws (rejects) when the codec fails.
   */
  async encodeAsync(payload: Uint8Array, pool: ScratchPool): Promise<EncodedChunk | null> {
    if (this.#skips()) return null;
    const reuse = this.#filter !== null && this.#sinceSample < RESAMPLE_EVERY;
    const filter = reuse ? this.#filter : await this.#encoder.chooseFilterAsync(payload, this.#itemByteLength, pool);
    this.#sinceSample = reuse ? this.#sinceSample + 1 : 1;
    const encoded =
      filter === null ? null : await this.#encoder.encodeWithAsync(payload, this.#itemByteLength, filter, pool);
    this.#filter = encoded === null ? null : filter; // a raw chunk samples again next time
    this.#rawRun = encoded === null ? this.#rawRun + 1 : 0;
    return encoded;
  }
}

/** The server's encoder: settings, the codec once loaded, and the shuffle scratch. */
export class ChunkEncoder {
  readonly settings: CompressionSettings;
  readonly #zstd: ZstdCodec;
  readonly #native: AsyncZstd | null;
  #scratch = new Uint8Array(0);

  /** @param native the asynchronous codec, when it loaded: then the async methods use it. */
  constructor(zstd: ZstdCodec, settings: CompressionSettings, native: AsyncZstd | null = null) {
    this.#zstd = zstd;
    this.settings = settings;
    this.#native = native;
  }

  /** True when the native codec loaded: callers take the async methods. */
  get async(): boolean {
    return this.#native !== null;
  }

  /** The asynchronous codec: the native one, or the WebAssembly one wrapped. */
  #compressAsync(source: Uint8Array): Promise<Uint8Array> {
    const { level } = this.settings;
    return this.#native === null
      ? Promise.resolve(this.#zstd.compress(source, level))
      : this.#native.compress(source, level);
  }

  /**
   * Like {@link #chooseFilter}, off the main thread: both samples compress at once, the shuffled
   * one from a pool buffer.
   */
  async chooseFilterAsync(
    payload: Uint8Array,
    itemByteLength: number,
    pool: ScratchPool,
  ): Promise<EncodedChunk["filter"] | null> {
    if (payload.byteLength < this.settings.minChunkByteLength) return null;
    const sample = this.#sampleOf(payload, itemByteLength);
    const scratch = itemByteLength > 1 ? pool.take(sample.byteLength) : null;
    try {
      if (scratch !== null) shuffleBytes(sample, scratch, itemByteLength);
      // allSettled: the scratch goes back only once no compress reads it any more.
      const settled = await Promise.allSettled([
        this.#compressAsync(sample).then((b) => b.byteLength),
        scratch === null ? Number.POSITIVE_INFINITY : this.#compressAsync(scratch).then((b) => b.byteLength),
      ]);
      const [plain, shuffled] = settled.map((r) => {
        if (r.status === "rejected") throw r.reason;
        return r.value;
      }) as [number, number];
      return this.#decide(sample.byteLength, plain, shuffled);
    } finally {
      if (scratch !== null) pool.give(scratch);
    }
  }

  /**
   * The whole chunk with `filter`, off the main thread (a shuffle goes through a pool buffer), or
   * null when it is below minChunkByteLength or compresses less than minRatio.
   */
  async encodeWithAsync(
    payload: Uint8Array,
    itemByteLength: number,
    filter: EncodedChunk["filter"],
    pool: ScratchPool,
  ): Promise<EncodedChunk | null> {
    const n = payload.byteLength;
    if (n < this.settings.minChunkByteLength) return null;
    const scratch = filter === "shuffle" ? pool.take(n) : null;
    let bytes: Uint8Array;
    try {
      if (scratch !== null) shuffleBytes(payload, scratch, itemByteLength);
      bytes = await this.#compressAsync(scratch ?? payload);
    } finally {
      if (scratch !== null) pool.give(scratch);
    }
    return n / bytes.byteLength < this.settings.minRatio ? null : { bytes, filter };
  }

  /** {@link encodePlain} off the main thread: the sample, then the chunk. */
  async encodePlainAsync(payload: Uint8Array): Promise<Uint8Array | null> {
    const { minRatio, minChunkByteLength } = this.settings;
    const n = payload.byteLength;
    if (n < minChunkByteLength) return null;
    const sample = this.#sampleOf(payload, 1);
    if (sample.byteLength / (await this.#compressAsync(sample)).byteLength < minRatio) return null;
    const bytes = await this.#compressAsync(payload);
    return n / bytes.byteLength < minRatio ? null : bytes;
  }

  /** Whole elements from the middle of the chunk (its ends are often padding or ramps). */
  #sampleOf(payload: Uint8Array, itemByteLength: number): Uint8Array {
    const { sampleByteLength } = this.settings;
    const n = payload.byteLength;
    const sampleLength = Math.min(n, sampleByteLength - (sampleByteLength % itemByteLength));
    const start = Math.floor((n - sampleLength) / 2 / itemByteLength) * itemByteLength;
    return payload.subarray(start, start + sampleLength);
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
    const { minRatio, minChunkByteLength, level } = this.settings;
    const n = payload.byteLength;
    if (n < minChunkByteLength) return null;
    const sample = this.#sampleOf(payload, 1);
    if (sample.byteLength / this.#zstd.compress(sample, level).byteLength < minRatio) return null;
    const bytes = this.#zstd.compress(payload, level);
    return n / bytes.byteLength < minRatio ? null : bytes;
  }

  /** Which form the sample favours, or null when neither reaches minRatio. */
  #chooseFilter(payload: Uint8Array, itemByteLength: number): EncodedChunk["filter"] | null {
    const { level } = this.settings;
    const sample = this.#sampleOf(payload, itemByteLength);
    const sampleLength = sample.byteLength;
    const plain = this.#zstd.compress(sample, level).byteLength;
    let shuffled = Number.POSITIVE_INFINITY;
    if (itemByteLength > 1) {
      const scratch = this.#scratchOf(sampleLength);
      shuffleBytes(sample, scratch, itemByteLength);
      shuffled = this.#zstd.compress(scratch, level).byteLength;
    }
    return this.#decide(sampleLength, plain, shuffled);
  }

  /** The filter whose sample compressed better (plain by a margin), or null below minRatio. */
  #decide(sampleLength: number, plain: number, shuffled: number): EncodedChunk["filter"] | null {
    const filter = plain * PREFER_PLAIN_RATIO < shuffled ? "none" : "shuffle";
    return sampleLength / (filter === "none" ? plain : shuffled) < this.settings.minRatio ? null : filter;
  }

  /** The first `byteLength` bytes of the scratch buffer, grown as needed. */
  #scratchOf(byteLength: number): Uint8Array {
    if (this.#scratch.byteLength < byteLength) this.#scratch = new Uint8Array(byteLength);
    return this.#scratch.subarray(0, byteLength);
  }
}

const encoders = new WeakMap<CompressionSettings, Promise<ChunkEncoder>>();

/**
 * The encoder for a server's settings, loading the codecs on first use (one per server): the
 * WebAssembly one always, the native one where it loads (else `log` says so, once per process).
 * A load that failed is tried again next time.
 * @throws (rejects) when the WebAssembly codec cannot be loaded.
 */
export function encoderFor(settings: CompressionSettings, log: (message: string) => void): Promise<ChunkEncoder> {
  let encoder = encoders.get(settings);
  if (encoder === undefined) {
    encoder = Promise.all([loadZstd(), loadNativeZstd(log)]).then(
      ([zstd, native]) => new ChunkEncoder(zstd, settings, native),
    );
    encoders.set(settings, encoder);
    encoder.catch(() => encoders.delete(settings));
  }
  return encoder;
}
