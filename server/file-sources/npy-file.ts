/**
 * `.npy` files served straight from disk (issue 9, part 1): the header is parsed by numpy's rules
 * (shared/npy.ts), then each chunk a stream asks for is read at its file offset into the pooled
 * scratch buffer the stream hands over (never the whole file; no allocation per chunk), swapped
 * to little-endian in place for a big-endian file, and checked against the file's identity.
 *
 * Change detection, and what it guarantees: the file's identity (device, inode, size, mtime and
 * ctime in ns) is taken when the array opens; after every chunk is read, the open file is
 * fstat'ed and the path stat'ed, and a chunk is served only when both still match. So a write,
 * truncation, append, chmod, replacement (rename over it) or removal that the file system stamps
 * before the check fails the stream with E_GONE and the chunk is dropped: the client never gets
 * bytes of two versions. Not detected: a write that keeps the size and lands within the same
 * file-system timestamp tick (a few ms at most) as the modification before the open, and writes
 * through another path of a file system that does not update times (some network mounts). The
 * version (SourceArray.version) is that identity, so a resume after any detected change gets
 * E_GONE too, and a resume of the same bytes continues on any server that sees the same file.
 */
import { constants } from "node:fs";
import { basename } from "node:path";
import {
  isDtypeSupported,
  type JsonObject,
  NpyError,
  type NpyHeader,
  parseNpyHeader,
  StreamError,
} from "../../shared/index.ts";
import type { ArraySource, SourceArray, SourceContext } from "../sources.ts";
import { fileChanged, fromFsError, fromNpyError, unknownFile, unsupported } from "./file-errors.ts";
import {
  closeFile,
  type FileIdentity,
  fstatFile,
  identityChange,
  identityOf,
  openFile,
  readInto,
  statPath,
  versionOf,
} from "./file-io.ts";

/** Options of {@link npyFile}. */
export interface NpyFileOptions {
  /**
   * What to do with Fortran-order data whose layout differs from C order: "refuse" (the
   * default) answers E_UNSUPPORTED; "transpose" serves the array's transpose, which is the file's
   * bytes as they are with the shape reversed (a (3, 4) Fortran array arrives as a (4, 3) C array).
   */
  fortranOrder?: "refuse" | "transpose";
  /** Longest header accepted, in characters. Defaults to 10_000 (numpy's cap for untrusted files). */
  maxHeaderSize?: number;
  /** JSON sent in the header; defaults to `{ source: "npy", descr }`. */
  meta?: JsonObject;
}

/**
 * How often an open array checks its file between reads: a request that arrives within this time
 * of a change may still join the old open (and get E_GONE at its first read); later ones open the
 * new version.
 */
export const WATCH_INTERVAL_MS = 1000;

/** Bytes read first: enough for every header numpy writes below 64 dimensions. */
const FIRST_READ_BYTE_LENGTH = 4096;

interface OpenedNpy {
  fd: number;
  header: NpyHeader;
  identity: FileIdentity;
}

/** Reads and parses the header of the open file `fd` (size from its fstat). */
async function readHeader(fd: number, size: number, label: string, options: NpyFileOptions): Promise<NpyHeader> {
  const parseOptions = {
    fileByteLength: size,
    maxHeaderSize: options.maxHeaderSize,
    allowFortranOrder: options.fortranOrder === "transpose",
  };
  let prefix = new Uint8Array(Math.min(size, FIRST_READ_BYTE_LENGTH));
  for (;;) {
    const n = await readInto(fd, prefix, 0);
    // parseNpyHeader checks the prefix against the file size it was given: a shorter read means
    // the file shrank since the fstat, which the first chunk's check reports.
    let result: ReturnType<typeof parseNpyHeader>;
    try {
      result = parseNpyHeader(prefix.subarray(0, n), parseOptions);
    } catch (err) {
      if (err instanceof NpyError) throw fromNpyError(label, err);
      throw err;
    }
    if (result.done) return result.header;
    if (n < prefix.byteLength || result.needByteLength <= prefix.byteLength) throw fileChanged(label, "it shrank");
    // needByteLength is bounded by the header cap the parser checked (at most 12 + 4 * maxHeaderSize).
    prefix = new Uint8Array(result.needByteLength);
  }
}

async function openNpy(
  path: string,
  label: string,
  options: NpyFileOptions,
  checkOpened?: (fd: number) => Promise<void>,
): Promise<OpenedNpy> {
  let fd: number;
  try {
    fd = await openFile(path, constants.O_RDONLY);
  } catch (err) {
    throw fromFsError(label, err);
  }
  try {
    await checkOpened?.(fd);
    const stats = await fstatFile(fd);
    if (!stats.isFile()) throw unknownFile(label, "is not a file");
    const header = await readHeader(fd, Number(stats.size), label, options);
    if (!isDtypeSupported(header.dtype)) {
      throw unsupported(label, `${header.descr} (${header.dtype}) has no typed array in this server's runtime`);
    }
    return { fd, header, identity: identityOf(stats) };
  } catch (err) {
    await closeFile(fd);
    throw fromFsError(label, err);
  }
}

/** A SourceArray over an opened .npy file. */
class NpyFileArray implements SourceArray {
  readonly dtype: SourceArray["dtype"];
  readonly shape: readonly number[];
  readonly meta: JsonObject;
  readonly version: string;
  readonly #path: string;
  readonly #label: string;
  readonly #fd: number;
  readonly #dataByteOffset: number;
  readonly #itemsize: number;
  readonly #swap: boolean;
  readonly #identity: FileIdentity;
  readonly #context: SourceContext;
  /** Set once a change was seen: every later read fails the same way. */
  #gone: StreamError | null = null;
  #closed = false;
  /** Checks the file while the array is open, so that a stalled stream does not keep a stale open shared. */
  readonly #watch: ReturnType<typeof setInterval>;

  constructor(path: string, label: string, opened: OpenedNpy, context: SourceContext, meta: JsonObject | undefined) {
    const { header } = opened;
    const transposed = header.layout === "F";
    this.dtype = header.dtype;
    this.shape = transposed ? [...header.shape].reverse() : header.shape;
    this.meta = meta ?? { source: "npy", descr: header.descr, ...(transposed ? { transposed: true } : {}) };
    this.version = `npy:${versionOf(opened.identity)}${transposed ? ":T" : ""}`;
    this.#path = path;
    this.#label = label;
    this.#fd = opened.fd;
    this.#dataByteOffset = header.dataByteOffset;
    this.#itemsize = header.bytesPerElement;
    this.#swap = header.needsByteSwap;
    this.#identity = opened.identity;
    this.#context = context;
    this.#watch = setInterval(() => {
      this.#check().catch(() => {}); // a change is recorded in #gone; I/O errors surface on the next read
    }, WATCH_INTERVAL_MS);
    this.#watch.unref();
  }

  async read(byteOffset: number, _byteLength: number, scratch: Uint8Array): Promise<Uint8Array> {
    if (this.#gone) throw this.#gone;
    if (this.#closed) throw new TypeError(`read() of ${JSON.stringify(this.#label)} after close()`);
    if (this.#swap) await this.#readSwapped(byteOffset, scratch);
    else await this.#readExactly(scratch, byteOffset);
    await this.#check();
    return scratch;
  }

  /** Reads array bytes [byteOffset, + target.byteLength) into target; a short read means the file shrank. */
  async #readExactly(target: Uint8Array, byteOffset: number): Promise<void> {
    let n: number;
    try {
      n = await readInto(this.#fd, target, this.#dataByteOffset + byteOffset);
    } catch (err) {
      throw fromFsError(this.#label, err);
    }
    if (n < target.byteLength) this.#fail("it was truncated");
  }

  /**
   * Big-endian data: whole elements are read into the scratch and swapped there (Buffer#swapN,
   * which needs no alignment); a range that starts or ends inside an element (a resume at any
   * byte) reads that element into a small buffer, swaps it and copies the part asked for.
   */
  async #readSwapped(byteOffset: number, scratch: Uint8Array): Promise<void> {
    const k = this.#itemsize;
    const end = byteOffset + scratch.byteLength;
    let written = 0;
    const partial = async (elementByteOffset: number, from: number, to: number) => {
      const one = Buffer.alloc(k);
      await this.#readExactly(one, elementByteOffset);
      swapWhole(one, k);
      scratch.set(one.subarray(from, to), written);
      written += to - from;
    };
    const head = byteOffset % k;
    if (head !== 0) await partial(byteOffset - head, head, Math.min(k, head + scratch.byteLength));
    const wholeStart = byteOffset + written;
    const wholeByteLength = Math.floor((end - wholeStart) / k) * k;
    if (wholeByteLength > 0) {
      const whole = scratch.subarray(written, written + wholeByteLength);
      await this.#readExactly(whole, wholeStart);
      swapWhole(whole, k);
      written += wholeByteLength;
    }
    if (written < scratch.byteLength) await partial(byteOffset + written, 0, scratch.byteLength - written);
  }

  /** Fails with E_GONE unless the open file and the file at the path are still the version opened. */
  async #check(): Promise<void> {
    if (this.#gone) throw this.#gone;
    let change: string | null;
    try {
      const [now, atPath] = await Promise.all([fstatFile(this.#fd), statPath(this.#path)]);
      change = identityChange(this.#identity, identityOf(atPath)) ?? identityChange(this.#identity, identityOf(now));
    } catch (err) {
      if (fromFsError(this.#label, err) instanceof StreamError) change = "removed";
      else throw fromFsError(this.#label, err);
    }
    if (change !== null) this.#fail(change);
  }

  #fail(change: string): never {
    this.#gone ??= fileChanged(this.#label, change);
    this.#context.invalidate?.();
    throw this.#gone;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watch);
    void closeFile(this.#fd);
  }
}

/** Swaps each k-byte element of `bytes` (a whole number of them) with Node's Buffer#swapN. */
function swapWhole(bytes: Uint8Array, k: number): void {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (k === 2) buffer.swap16();
  else if (k === 4) buffer.swap32();
  else if (k === 8) buffer.swap64();
}

/** Refuses params: a file source serves one array. */
export function checkNoParams(params: JsonObject | null, label: string): void {
  if (params !== null && Object.keys(params).length > 0) {
    throw new StreamError(
      "E_BAD_REQUEST",
      `Invalid params for ${JSON.stringify(label)}: a file takes none, got ${Object.keys(params).join(", ")}`,
    );
  }
}

/**
 * Opens the .npy file at `path` as a SourceArray (directory.ts uses it with its own label, and
 * `checkOpened` to check where the opened file lies).
 */
export async function openNpyFile(
  path: string,
  label: string,
  context: SourceContext,
  options: NpyFileOptions = {},
  checkOpened?: (fd: number) => Promise<void>,
): Promise<SourceArray> {
  const opened = await openNpy(path, label, options, checkOpened);
  return new NpyFileArray(path, label, opened, context, options.meta);
}

/** Checks npyFile's options. */
export function checkNpyOptions(options: NpyFileOptions): void {
  for (const key of Object.keys(options)) {
    if (key !== "fortranOrder" && key !== "maxHeaderSize" && key !== "meta") {
      throw new TypeError(
        `Invalid npyFile option ${JSON.stringify(key)}: expected fortranOrder, maxHeaderSize or meta`,
      );
    }
  }
  const { fortranOrder, maxHeaderSize } = options;
  if (fortranOrder !== undefined && fortranOrder !== "refuse" && fortranOrder !== "transpose") {
    throw new TypeError(`Invalid fortranOrder: expected "refuse" or "transpose", got ${JSON.stringify(fortranOrder)}`);
  }
  if (maxHeaderSize !== undefined && (!Number.isSafeInteger(maxHeaderSize) || maxHeaderSize < 1)) {
    throw new RangeError(`Invalid maxHeaderSize: expected a positive safe integer, got ${maxHeaderSize}`);
  }
}

/**
 * An .npy file (format 1.0, 2.0 or 3.0; C order, or Fortran order with `fortranOrder:
 * "transpose"`; little- or big-endian, served little-endian) served from disk chunk by chunk:
 * `server.publish("temps", npyFile("/data/temps.npy"))`. The file is opened per request (opens
 * of identical requests are shared) and read into the stream's pooled buffers; nothing is
 * reserved against maxSourceBytes. It takes no params.
 * The client gets E_UNKNOWN_NAME when the file is missing, E_UNSUPPORTED for a dtype with no typed
 * array (complex, strings, structured; float16 on Node 20) or refused Fortran order, E_GONE when
 * the file changes during a stream or between a stream and its resume, and E_INTERNAL (with a
 * log line naming the NpyError code) for a file that is not a valid .npy.
 * @throws {TypeError} for a path that is not a non-empty string, or an unknown or invalid option;
 *   {RangeError} for a maxHeaderSize that is not a positive safe integer.
 */
export function npyFile(path: string, options: NpyFileOptions = {}): ArraySource {
  if (typeof path !== "string" || path.length === 0 || path.includes("\0")) {
    throw new TypeError(`Invalid npyFile path: expected a non-empty string without NUL, got ${JSON.stringify(path)}`);
  }
  checkNpyOptions(options);
  const label = basename(path);
  return {
    open(params, context) {
      checkNoParams(params, label);
      return openNpyFile(path, label, context, options);
    },
  };
}
