/**
 * One outgoing array stream, the core both transports share: the range left to send, the
 * client's credit, reading each chunk from the source (a view of its memory, or a pooled scratch
 * buffer it filled), and the END checksum, computed over the bytes as they are read (hot in
 * cache) unless the source offers one. A resumed stream first hashes the bytes before its
 * resume point, in slices that yield to the event loop.
 */
import { type Checksum, createChecksum, DTYPE_BYTES_PER_ELEMENT, type RequestMessage } from "../shared/index.ts";
import { yieldToEventLoop } from "./checksum-slices.ts";
import { ChunkChooser, encoderFor } from "./chunk-encoder.ts";
import type { Hooks } from "./hooks.ts";
import { planStream, type StreamPlan, type StreamServices } from "./plan.ts";
import type { ScratchPool } from "./scratch-pool.ts";

/** Bytes read per slice while hashing a resumed stream's prefix. */
const PREFIX_SLICE_BYTES = 1024 * 1024;

/** One chunk read from the source. */
export interface Chunk {
  /** Offset in the array of the payload's first byte. */
  byteOffset: number;
  payload: Uint8Array;
  /** The pool's buffer the payload lives in, to give back once the socket wrote it; null for a view of the source. */
  scratch: Uint8Array | null;
}

/** True for a promise (or any thenable) a source returned. */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

export class OutgoingStream {
  readonly streamId: number;
  readonly plan: StreamPlan;
  readonly chunkByteLength: number;
  readonly rangeByteEnd: number;
  /** First byte this stream sends (the range start, or the resume point). */
  readonly firstByteOffset: number;
  /** Next byte offset (in the array) to read. */
  nextByteOffset: number;
  /** Bytes the client still allows; Infinity without credit flow control. */
  credit: number;
  /** Chooses and encodes each chunk when the client offered a codec and the server compresses; else null. */
  chooser: ChunkChooser | null = null;
  /** Time (performance.now) of the last chunk read or credit received, for stall detection. */
  lastProgressAt = performance.now();
  readonly #hash: Checksum | null;
  readonly #sourceChecksum: Promise<number> | undefined;
  #reading = false;
  #closed = false;

  /** @param creditByteLength the client's initial window; 0 means no credit flow control. */
  constructor(plan: StreamPlan, creditByteLength: number, hooks: Hooks) {
    const { header } = plan;
    this.streamId = header.streamId;
    this.plan = plan;
    this.chunkByteLength = plan.chunkByteLength;
    this.firstByteOffset = header.firstByteOffset;
    this.nextByteOffset = header.firstByteOffset;
    this.rangeByteEnd = header.rangeByteEnd;
    this.credit = creditByteLength === 0 ? Number.POSITIVE_INFINITY : creditByteLength;
    const algorithm = header.checksumAlgorithm;
    this.#sourceChecksum =
      algorithm === "none"
        ? undefined
        : hooks.sourceChecksum(plan.lease.array, algorithm, header.rangeByteStart, header.rangeByteEnd);
    this.#hash = this.#sourceChecksum === undefined ? createChecksum(algorithm) : null;
  }

  /** True while a read of this stream is in flight. */
  get reading(): boolean {
    return this.#reading;
  }

  /** True once every byte of the range has been read (and no read is in flight). */
  get done(): boolean {
    return !this.#reading && this.nextByteOffset >= this.rangeByteEnd;
  }

  /** True when a chunk can be read now: bytes left, credit for at least one, no read in flight. */
  get sendable(): boolean {
    return !this.#reading && this.nextByteOffset < this.rangeByteEnd && this.credit > 0;
  }

  /** Bytes this stream sends in all: from firstByteOffset to the end of the range. */
  get sentByteLength(): number {
    return this.rangeByteEnd - this.firstByteOffset;
  }

  /** Length of the next chunk: at most the chunk size, the credit, and what is left. */
  nextByteLength(): number {
    return Math.min(this.chunkByteLength, this.rangeByteEnd - this.nextByteOffset, this.credit);
  }

  /**
   * Reads the next chunk ({@link nextByteLength} bytes) and hashes it. Synchronous when the
   * source is (published arrays, generators).
   * @throws what the source throws, or a TypeError when read() returns something else than
   *   exactly the bytes asked for (a source bug: E_INTERNAL for the client).
   */
  readChunk(pool: ScratchPool): Chunk | Promise<Chunk> {
    const byteOffset = this.nextByteOffset;
    const byteLength = this.nextByteLength();
    this.nextByteOffset += byteLength;
    this.credit -= byteLength;
    this.lastProgressAt = performance.now();
    const scratch = pool.take(byteLength, byteOffset);
    let result: Uint8Array | PromiseLike<Uint8Array>;
    try {
      result = this.plan.lease.array.read(byteOffset, byteLength, scratch);
    } catch (err) {
      pool.give(scratch);
      throw err;
    }
    if (!isPromiseLike(result)) return this.#accept(result, byteOffset, byteLength, scratch, pool);
    this.#reading = true;
    return Promise.resolve(result).then(
      (payload) => {
        this.#settleRead();
        return this.#accept(payload, byteOffset, byteLength, scratch, pool);
      },
      (err: unknown) => {
        this.#settleRead();
        pool.give(scratch);
        throw err;
      },
    );
  }

  #accept(payload: unknown, byteOffset: number, byteLength: number, scratch: Uint8Array, pool: ScratchPool): Chunk {
    if (!(payload instanceof Uint8Array) || payload.byteLength !== byteLength) {
      pool.give(scratch);
      const got = payload instanceof Uint8Array ? `${payload.byteLength} bytes` : typeof payload;
      throw new TypeError(`SourceArray.read returned ${got}: expected a Uint8Array of ${byteLength} bytes`);
    }
    this.#hash?.update(payload);
    const inScratch = payload.buffer === scratch.buffer;
    if (!inScratch) pool.give(scratch);
    return { byteOffset, payload, scratch: inScratch ? scratch : null };
  }

  /**
   * Hashes [rangeByteStart, firstByteOffset) of a resumed stream, in slices that yield to the
   * event loop, before the first chunk is sent. Stops (rejecting with the reason) once `signal`
   * aborts.
   */
  async hashPrefix(pool: ScratchPool, signal: AbortSignal): Promise<void> {
    const hash = this.#hash;
    if (hash === null) return;
    for (let offset = this.plan.header.rangeByteStart; offset < this.firstByteOffset; ) {
      signal.throwIfAborted();
      const byteLength = Math.min(PREFIX_SLICE_BYTES, this.firstByteOffset - offset);
      const scratch = pool.take(byteLength, offset);
      try {
        const read = this.plan.lease.array.read(offset, byteLength, scratch);
        const bytes = isPromiseLike(read) ? await read : read;
        if (!(bytes instanceof Uint8Array) || bytes.byteLength !== byteLength) {
          throw new TypeError(`SourceArray.read returned a wrong result: expected a Uint8Array of ${byteLength} bytes`);
        }
        hash.update(bytes);
      } finally {
        pool.give(scratch);
      }
      offset += byteLength;
      await yieldToEventLoop();
    }
  }

  /** The END checksum (once every byte was read), or null when none was asked for. */
  checksum(): Promise<number> | null {
    if (this.#sourceChecksum !== undefined) return this.#sourceChecksum;
    return this.#hash === null ? null : Promise.resolve(this.#hash.digest());
  }

  /**
   * Gives back credit a chunk did not use: credit counts bytes on the wire, and an encoded chunk
   * is smaller than the raw length {@link readChunk} took.
   */
  refund(byteLength: number): void {
    this.credit += byteLength;
  }

  /** Adds credit granted by the client. */
  grant(byteLength: number): void {
    this.credit += byteLength;
    this.lastProgressAt = performance.now();
  }

  /** Ends the stream: its array is given back (after a read in flight, if any, settles). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#reading) this.plan.lease.release();
  }

  #settleRead(): void {
    this.#reading = false;
    if (this.#closed) this.plan.lease.release();
  }
}

/**
 * Opens a stream for `request`: plans it, then hashes a resumed stream's prefix. Aborting
 * `signal` gives the array back and rejects.
 * @throws what {@link planStream} throws, or what the source's read throws while hashing.
 */
export async function openStream(
  request: RequestMessage,
  services: StreamServices,
  pool: ScratchPool,
  signal: AbortSignal,
): Promise<OutgoingStream> {
  const plan = await planStream(request, services, signal);
  const stream = new OutgoingStream(plan, request.creditByteLength, services.hooks);
  try {
    const { compression, log } = services.settings;
    if (compression.enabled && request.codecs?.includes("zstd")) {
      try {
        const itemByteLength = DTYPE_BYTES_PER_ELEMENT[plan.header.dtype];
        stream.chooser = new ChunkChooser(await encoderFor(compression), itemByteLength);
      } catch (err) {
        // The stream still works, uncompressed.
        log(`compression unavailable, sending raw chunks: ${err instanceof Error ? err.message : String(err)}`);
      }
      signal.throwIfAborted();
    }
    await stream.hashPrefix(pool, signal);
  } catch (err) {
    stream.close();
    throw err;
  }
  return stream;
}
