/**
 * Zarr arrays (v2 and v3, sharded too) through zarrita (issue 9, part 1): each range a stream
 * asks for is copied, in C order, from the decoded chunks it covers into the stream's pooled
 * scratch buffer. Chunk files are read by a store of our own (rooted-store.ts: confined to the
 * array's directory, reads capped before they allocate); decoded chunks live in a small LRU
 * cache bounded by bytes, and that bound (cache, chunks being decoded, shard indexes zarrita
 * keeps) is reserved against the server's maxSourceBytes when the array opens (E_BUSY when it
 * does not fit). Codecs are what zarrita decodes in Node: bytes (either endian), gzip, zlib, zstd,
 * blosc, lz4, transpose, crc32c, sharding_indexed.
 *
 * Change detection is weaker than for .npy files: the version is the metadata file's identity,
 * and during a stream a chunk file written after the array opened (ctime later than the open)
 * fails it with E_GONE. Chunk files rewritten between a stream and its resume, while the metadata
 * stays, are not detected.
 */
import { readFile, realpath } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  DTYPE_BYTES_PER_ELEMENT,
  type Dtype,
  isDtypeSupported,
  type JsonObject,
  StreamError,
} from "../../shared/index.ts";
import type { ArraySource, SourceArray, SourceContext } from "../sources.ts";
import { ChunkCache } from "./chunk-cache.ts";
import { ChunkGrid } from "./chunk-runs.ts";
import { FileSourceError, fileChanged, fromFsError, unknownFile, unsupported } from "./file-errors.ts";
import { type FileIdentity, identityChange, identityOf, statPath, versionOf } from "./file-io.ts";
import { checkNoParams } from "./npy-file.ts";
import { RootedStore } from "./rooted-store.ts";

/** Options of {@link zarrArray}. */
export interface ZarrArrayOptions {
  /** Decoded chunks kept per open array, in bytes (at least one chunk is). Defaults to 33_554_432 (32 MiB). */
  cacheByteLength?: number;
  /** Largest decoded chunk (inner chunk of a shard) served, in bytes. Defaults to 67_108_864 (64 MiB). */
  maxChunkByteLength?: number;
  /** JSON sent in the header; defaults to `{ source: "zarr", zarrFormat, dataType, chunks }`. */
  meta?: JsonObject;
}

const DEFAULT_CACHE_BYTE_LENGTH = 32 * 1024 * 1024;
const DEFAULT_MAX_CHUNK_BYTE_LENGTH = 64 * 1024 * 1024;
/** Chunks decoded at a time per open array. */
const MAX_LOADS = 2;
/** Slack allowed for an encoded chunk over its decoded size (headers of compressors that did not compress). */
const ENCODED_SLACK_BYTE_LENGTH = 64 * 1024;

/** zarrita data types and the dtype each is served as (bool as uint8, like .npy). */
const DTYPE_BY_ZARR: Readonly<Record<string, Dtype>> = {
  int8: "int8",
  int16: "int16",
  int32: "int32",
  int64: "bigint64",
  uint8: "uint8",
  uint16: "uint16",
  uint32: "uint32",
  uint64: "biguint64",
  float16: "float16",
  float32: "float32",
  float64: "float64",
  bool: "uint8",
};

/** A decoded chunk as the cache keeps it: its bytes and element strides. */
interface DecodedChunk {
  readonly bytes: Uint8Array;
  readonly strides: readonly number[];
  readonly byteLength: number;
}

/** What zarrita is used for: opening an array and decoding its chunks. */
interface ZarritaArray {
  readonly shape: number[];
  readonly chunks: number[];
  readonly dtype: string;
  getChunk(
    coords: number[],
    options?: { signal?: AbortSignal },
  ): Promise<{ data: ArrayBufferView; shape: number[]; stride: number[] }>;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Reads the metadata file (zarr.json, else .zarray) for the version and the shard layout zarrita does not expose. */
async function readMetadata(
  root: string,
  label: string,
): Promise<{ identity: FileIdentity; path: string; json: Record<string, unknown> }> {
  for (const file of ["zarr.json", ".zarray"]) {
    const path = join(root, file);
    let stats: Awaited<ReturnType<typeof statPath>>;
    try {
      stats = await statPath(path);
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") continue;
      throw fromFsError(label, err);
    }
    if (!stats.isFile() || stats.size > 1024n * 1024n) {
      throw new FileSourceError("E_ZARR_METADATA", `${label}: ${file} is not a file of at most 1 MiB`);
    }
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, "utf8"));
    } catch (cause) {
      throw new FileSourceError("E_ZARR_METADATA", `${label}: ${file} is not valid JSON`, { cause });
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new FileSourceError("E_ZARR_METADATA", `${label}: ${file}: expected a JSON object`);
    }
    if (file === "zarr.json" && (json as { node_type?: unknown }).node_type !== "array") {
      throw unknownFile(label, "is a Zarr group, not an array");
    }
    return { identity: identityOf(stats), path, json: json as Record<string, unknown> };
  }
  throw unknownFile(label, "is not a Zarr array (no zarr.json or .zarray)");
}

/** Bytes of the shard indexes zarrita caches for a sharded v3 array (0 when not sharded). */
function shardIndexByteLength(json: Record<string, unknown>, shape: readonly number[]): number {
  const codecs = (json as { codecs?: { name?: string; configuration?: { chunk_shape?: number[] } }[] }).codecs;
  const sharding = Array.isArray(codecs) ? codecs.find((c) => c?.name === "sharding_indexed") : undefined;
  const shardShape = (json as { chunk_grid?: { configuration?: { chunk_shape?: number[] } } }).chunk_grid?.configuration
    ?.chunk_shape;
  const inner = sharding?.configuration?.chunk_shape;
  if (!sharding || !Array.isArray(shardShape) || !Array.isArray(inner)) return 0;
  const shards = product(shape.map((n, j) => Math.ceil(n / (shardShape[j] as number))));
  const perShard = 16 * product(shardShape.map((n, j) => Math.ceil(n / (inner[j] as number)))) + 4;
  return shards * perShard;
}

/** What zarrita's errors become for the client. */
function fromZarritaError(label: string, err: unknown): Error {
  if (err instanceof StreamError || err instanceof FileSourceError) return err;
  const name = (err as Error)?.name ?? "";
  const message = (err as Error)?.message ?? String(err);
  if (name === "NotFoundError") return unknownFile(label, "is not a Zarr array", err);
  if (name === "UnknownCodecError" || name === "UnsupportedError") return unsupported(label, message, err);
  if (name === "InvalidMetadataError") {
    return /data ?type/i.test(message)
      ? unsupported(label, message, err)
      : new FileSourceError("E_ZARR_METADATA", `${label}: ${message}`, { cause: err });
  }
  if ((err as { code?: unknown })?.code !== undefined) return fromFsError(label, err);
  return new FileSourceError("E_ZARR_CHUNK", `${label}: ${name}: ${message}`, { cause: err });
}

class ZarrSourceArray implements SourceArray {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly meta: JsonObject;
  readonly version: string;
  readonly #label: string;
  readonly #array: ZarritaArray;
  readonly #grid: ChunkGrid;
  readonly #itemsize: number;
  readonly #cache: ChunkCache<DecodedChunk>;
  readonly #metadataPath: string;
  readonly #identity: FileIdentity;
  readonly #context: SourceContext;
  #gone: StreamError | null = null;

  constructor(init: {
    label: string;
    array: ZarritaArray;
    dtype: Dtype;
    meta: JsonObject;
    cacheByteLength: number;
    metadataPath: string;
    identity: FileIdentity;
    context: SourceContext;
  }) {
    this.dtype = init.dtype;
    this.shape = [...init.array.shape];
    this.meta = init.meta;
    this.version = `zarr:${versionOf(init.identity)}`;
    this.#label = init.label;
    this.#array = init.array;
    this.#grid = new ChunkGrid(init.array.shape, init.array.chunks);
    this.#itemsize = DTYPE_BYTES_PER_ELEMENT[init.dtype];
    this.#cache = new ChunkCache(init.cacheByteLength, MAX_LOADS);
    this.#metadataPath = init.metadataPath;
    this.#identity = init.identity;
    this.#context = init.context;
  }

  /** Called by the store when a chunk file was written after the open. */
  markChanged(): void {
    this.#context.invalidate?.();
  }

  async read(byteOffset: number, byteLength: number, scratch: Uint8Array): Promise<Uint8Array> {
    if (this.#gone) throw this.#gone;
    const k = this.#itemsize;
    const end = byteOffset + byteLength;
    let written = 0;
    const partial = async (element: number, from: number, to: number) => {
      const one = new Uint8Array(k);
      await this.#copyElements(element, element + 1, one);
      scratch.set(one.subarray(from, to), written);
      written += to - from;
    };
    const head = byteOffset % k;
    if (head !== 0) await partial((byteOffset - head) / k, head, Math.min(k, head + byteLength));
    const firstWhole = (byteOffset + written) / k;
    const wholeCount = Math.floor((end - byteOffset - written) / k);
    if (wholeCount > 0) {
      await this.#copyElements(
        firstWhole,
        firstWhole + wholeCount,
        scratch.subarray(written, written + wholeCount * k),
      );
      written += wholeCount * k;
    }
    if (written < byteLength) await partial((byteOffset + written) / k, 0, byteLength - written);
    await this.#checkMetadata();
    return scratch;
  }

  /** Copies flattened elements [start, end) into `out` (exactly their bytes), chunk run by chunk run. */
  async #copyElements(start: number, end: number, out: Uint8Array): Promise<void> {
    const k = this.#itemsize;
    for (let element = start; element < end; ) {
      const run = this.#grid.runAt(element, end);
      const key = ChunkGrid.keyOf(run.chunkCoords);
      const got = this.#cache.get(key, () => this.#decode(run.chunkCoords));
      const chunk = got instanceof Promise ? await got : got;
      const at = (element - start) * k;
      if (this.#grid.isCOrder(chunk.strides)) {
        const from = run.chunkElementOffset * k;
        out.set(chunk.bytes.subarray(from, from + run.elementCount * k), at);
      } else {
        for (let t = 0; t < run.elementCount; t++) {
          const from = this.#grid.stridedOffset(run.chunkElementOffset + t, chunk.strides) * k;
          out.set(chunk.bytes.subarray(from, from + k), at + t * k);
        }
      }
      element += run.elementCount;
    }
  }

  async #decode(coords: number[]): Promise<DecodedChunk> {
    let chunk: Awaited<ReturnType<ZarritaArray["getChunk"]>>;
    try {
      chunk = await this.#array.getChunk(coords, { signal: this.#context.signal });
    } catch (err) {
      const mapped = fromZarritaError(this.#label, err);
      if (mapped instanceof StreamError && mapped.code === "E_GONE") this.#gone ??= mapped;
      throw mapped;
    }
    const { data, shape, stride } = chunk;
    const expected = this.#grid.chunkElementCount * this.#itemsize;
    if (data.byteLength !== expected || shape.join() !== this.#grid.chunkShape.join()) {
      throw new FileSourceError(
        "E_ZARR_CHUNK",
        `${this.#label}: chunk ${coords.join(",")}: expected ${expected} bytes of shape [${this.#grid.chunkShape}], got ${data.byteLength} of [${shape}]`,
      );
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return { bytes, strides: stride, byteLength: bytes.byteLength };
  }

  async #checkMetadata(): Promise<void> {
    let change: string | null;
    try {
      change = identityChange(this.#identity, identityOf(await statPath(this.#metadataPath)));
    } catch {
      change = "its metadata was removed";
    }
    if (change !== null) {
      this.#gone ??= fileChanged(this.#label, `metadata ${change}`);
      this.#context.invalidate?.();
      throw this.#gone;
    }
  }

  close(): void {
    this.#cache.clear();
  }
}

/** Checks zarrArray's options; returns them with defaults. */
export function resolveZarrOptions(
  options: ZarrArrayOptions,
): Required<Omit<ZarrArrayOptions, "meta">> & { meta?: JsonObject } {
  for (const key of Object.keys(options)) {
    if (key !== "cacheByteLength" && key !== "maxChunkByteLength" && key !== "meta") {
      throw new TypeError(
        `Invalid zarrArray option ${JSON.stringify(key)}: expected cacheByteLength, maxChunkByteLength or meta`,
      );
    }
  }
  const cacheByteLength = options.cacheByteLength ?? DEFAULT_CACHE_BYTE_LENGTH;
  const maxChunkByteLength = options.maxChunkByteLength ?? DEFAULT_MAX_CHUNK_BYTE_LENGTH;
  for (const [name, value] of [
    ["cacheByteLength", cacheByteLength],
    ["maxChunkByteLength", maxChunkByteLength],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`Invalid ${name}: expected a positive safe integer, got ${value}`);
    }
  }
  return { cacheByteLength, maxChunkByteLength, meta: options.meta };
}

/** Opens the Zarr array in directory `path` (a real path) as a SourceArray (directory.ts uses it with its own label). */
export async function openZarrArray(
  path: string,
  label: string,
  context: SourceContext,
  options: ReturnType<typeof resolveZarrOptions>,
): Promise<SourceArray> {
  let root: string;
  try {
    root = await realpath(path);
  } catch (err) {
    throw fromFsError(label, err);
  }
  const metadata = await readMetadata(root, label);
  const zarr = await import("zarrita");
  // Metadata reads only until the chunk size is known; chunk reads are capped from then on.
  const store = new RootedStore(root, label, 0);
  let array: ZarritaArray;
  try {
    array = (await zarr.open(store as never, { kind: "array" })) as unknown as ZarritaArray;
  } catch (err) {
    throw fromZarritaError(label, err);
  }
  const dtype = DTYPE_BY_ZARR[array.dtype];
  if (dtype === undefined) throw unsupported(label, `data type ${array.dtype} has no typed array`);
  if (!isDtypeSupported(dtype)) throw unsupported(label, `${dtype} has no typed array in this server's runtime`);
  const chunkByteLength = product(array.chunks) * DTYPE_BYTES_PER_ELEMENT[dtype];
  if (chunkByteLength > options.maxChunkByteLength) {
    throw unsupported(
      label,
      `a chunk of [${array.chunks}] is ${chunkByteLength} bytes, over maxChunkByteLength ${options.maxChunkByteLength}`,
    );
  }
  const maxChunkFileByteLength = 2 * chunkByteLength + ENCODED_SLACK_BYTE_LENGTH;
  const indexByteLength = shardIndexByteLength(metadata.json, array.shape);
  if (indexByteLength > options.maxChunkByteLength) {
    throw unsupported(
      label,
      `its shard indexes take ${indexByteLength} bytes, over maxChunkByteLength ${options.maxChunkByteLength}`,
    );
  }
  const cacheByteLength = Math.max(options.cacheByteLength, chunkByteLength);
  // Reserved before anything is decoded: E_BUSY when the server's budget is spent.
  context.reserve(cacheByteLength + MAX_LOADS * (chunkByteLength + maxChunkFileByteLength) + indexByteLength);
  store.maxChunkFileByteLength = maxChunkFileByteLength;
  const zarrFormat = (metadata.json as { zarr_format?: number }).zarr_format ?? null;
  const source = new ZarrSourceArray({
    label,
    array,
    dtype,
    meta: options.meta ?? { source: "zarr", zarrFormat, dataType: array.dtype, chunks: [...array.chunks] },
    cacheByteLength,
    metadataPath: metadata.path,
    identity: metadata.identity,
    context,
  });
  store.onChange = () => source.markChanged();
  return source;
}

/**
 * A Zarr array (v2 or v3, sharded or not) in directory `path`, served range by range from its
 * chunks: `server.publish("grid", zarrArray("/data/grid.zarr"))`. Each open array keeps a cache
 * of decoded chunks, reserved against maxSourceBytes with the memory decoding takes (E_BUSY when
 * it does not fit). It takes no params. The client gets E_UNKNOWN_NAME when the directory holds
 * no Zarr array, E_UNSUPPORTED for a data type with no typed array (strings, complex...), a
 * codec zarrita does not know or a chunk over maxChunkByteLength, E_GONE when the array changes
 * during a stream (see the module comment), and E_INTERNAL (logged) for broken metadata or chunks.
 * @throws {TypeError} for a path that is not a non-empty string or an unknown option;
 *   {RangeError} for a size that is not a positive safe integer.
 */
export function zarrArray(path: string, options: ZarrArrayOptions = {}): ArraySource {
  if (typeof path !== "string" || path.length === 0 || path.includes("\0")) {
    throw new TypeError(`Invalid zarrArray path: expected a non-empty string without NUL, got ${JSON.stringify(path)}`);
  }
  const resolved = resolveZarrOptions(options);
  const label = basename(path);
  return {
    open(params, context) {
      checkNoParams(params, label);
      return openZarrArray(path, label, context, resolved);
    },
  };
}
