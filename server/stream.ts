/**
 * One outgoing array stream, the core both transports share: the range left to send, the
 * client's credit, reading each chunk from the source (a view of its memory, or a pooled scratch
 * buffer it filled), and the END checksum, computed over the bytes as they are read (hot in
 * cache) unless the source offers one. A resumed stream first hashes the bytes before its
 * resume point, in slices that yield to the event loop. A subscription's range grows
 * (server/live-feed.ts): its end moves only when a GROW announcing the new end is taken.
 */
import { type Checksum, createChecksum, DTYPE_BYTES_PER_ELEMENT, type RequestMessage } from "../shared/index.ts";
import { yieldToEventLoop } from "./checksum-slices.ts";
import { ChunkChooser, type EncodedChunk, encoderFor } from "./chunk-encoder.ts";
import type { Hooks } from "./hooks.ts";
import { LiveFeed } from "./live-feed.ts";
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

/**
 * How a subscription's range grows (server/live-feed.ts): the stream asks it what it may announce,
 * and whether the range is complete.
 */
export interface StreamGrowth {
  /** The furthest the range may end now: min(the end asked for, the array's byte length). */
  availableByteEnd(): number;
  /** True when a range ending at `rangeByteEnd` will never grow again (the array closed, or the end asked for). */
  finished(rangeByteEnd: number): boolean;
  /**
   * The GROW that announces the array's byte length now (what availableByteEnd was computed
   * from), or `totalByteLength` (the first GROW, which repeats the header's).
   */
  growMessage(totalByteLength?: number): Uint8Array;
  /** The stream ended: stop listening to the array. */
  detach(): void;
}

/** Options of an {@link OutgoingStream} beyond its plan. */
export interface StreamOptions {
  /** Set for a subscription: the range grows as the array does. */
  growth?: StreamGrowth;
  /**
   * The END checksum, given by the array at the end instead of hashed per stream (a live array's
   * running XXH32, shared by every subscription over the whole array).
   */
  endChecksum?: () => number;
  /**
   * Where reading stops (an HTTP byte range that ends before the range does); defaults to the
   * range's end. The checksum (header.checksumAlgorithm) still covers the whole range: only ask
   * for one when byteEnd is the range's end. Not for a subscription (its range grows).
   */
  byteEnd?: number;
}

/** True for a promise (or any thenable) a source returned. */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

export class OutgoingStream {
  readonly streamId: number;
  readonly plan: StreamPlan;
  readonly chunkByteLength: number;
  /** How the range grows (subscriptions), or null for a fixed range. */
  readonly growth: StreamGrowth | null;
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
  readonly #endChecksum: (() => number) | undefined;
  /** End of the range as announced (ARRAY_HEADER, then each GROW taken). */
  #rangeByteEnd: number;
  #reading = false;
  #closed = false;

  /**
   * @param creditByteLength the client's initial window; 0 means no credit flow control.
   * @param options a subscription's growth, an END checksum the array gives, and `byteEnd`.
   */
  constructor(plan: StreamPlan, creditByteLength: number, hooks: Hooks, options: StreamOptions = {}) {
    const { header } = plan;
    this.streamId = header.streamId;
    this.plan = plan;
    this.chunkByteLength = plan.chunkByteLength;
    this.firstByteOffset = header.firstByteOffset;
    this.nextByteOffset = header.firstByteOffset;
    this.#rangeByteEnd = options.byteEnd ?? header.rangeByteEnd;
    this.growth = options.growth ?? null;
    this.credit = creditByteLength === 0 ? Number.POSITIVE_INFINITY : creditByteLength;
    const algorithm = header.checksumAlgorithm;
    this.#endChecksum = algorithm === "none" ? undefined : options.endChecksum;
    this.#sourceChecksum =
      algorithm === "none" || this.#endChecksum !== undefined || this.growth !== null
        ? undefined
        : hooks.sourceChecksum(plan.lease.array, algorithm, header.rangeByteStart, header.rangeByteEnd);
    this.#hash =
      this.#sourceChecksum === undefined && this.#endChecksum === undefined ? createChecksum(algorithm) : null;
  }

  /** Where reading stops: the range as announced so far (it grows with each GROW of a subscription), or an HTTP byte range's end. */
  get rangeByteEnd(): number {
    return this.#rangeByteEnd;
  }

  /** True while a read (or an asynchronous encode) of this stream is in flight. */
  get reading(): boolean {
    return this.#reading;
  }

  /**
   * True once every byte of the range has been read (and no read is in flight); for a
   * subscription, once its range can grow no more, too.
   */
  get done(): boolean {
    if (this.#reading || this.nextByteOffset < this.#rangeByteEnd) return false;
    return this.growth === null || this.growth.finished(this.#rangeByteEnd);
  }

  /**
   * True when a chunk can be read now: bytes left (announced, or a subscription's array grew),
   * credit for at least one, no read in flight.
   */
  get sendable(): boolean {
    if (this.#reading || this.credit <= 0) return false;
    if (this.nextByteOffset < this.#rangeByteEnd) return true;
    return this.growth !== null && this.growth.availableByteEnd() > this.#rangeByteEnd;
  }

  /**
   * For a subscription whose announced bytes were all read and whose array grew: extends the range
   * to what is there now and returns the GROW to send before the next chunk. Null otherwise.
   */
  takeGrow(): Uint8Array | null {
    const growth = this.growth;
    if (growth === null || this.nextByteOffset < this.#rangeByteEnd) return null;
    const available = growth.availableByteEnd();
    if (available <= this.#rangeByteEnd) return null;
    const message = growth.growMessage();
    this.#rangeByteEnd = available;
    return message;
  }

  /** Bytes this stream sends in all: from firstByteOffset to where it stops. */
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
    if (this.#endChecksum !== undefined) return Promise.resolve(this.#endChecksum());
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
    this.growth?.detach();
    if (!this.#reading) this.plan.lease.release();
  }

  /**
   * Encodes a chunk read from this stream with its chooser, off the main thread. Counts as a
   * read in flight (the stream sends nothing else meanwhile, and a close waits for it before it
   * gives the array back: the threadpool may be reading the array's memory).
   * @throws (rejects) when the codec fails; a TypeError (synchronously) without a chooser.
   */
  encodeAsync(chunk: Chunk, pool: ScratchPool): Promise<EncodedChunk | null> {
    const chooser = this.chooser;
    if (chooser === null) throw new TypeError("encodeAsync: expected a stream with a chunk chooser, got none");
    this.#reading = true;
    return chooser.encodeAsync(chunk.payload, pool).finally(() => this.#settleRead());
  }

  #settleRead(): void {
    this.#reading = false;
    if (this.#closed) this.plan.lease.release();
  }
}

/**

 * A subscription's growth, and the live array's running XXH32 as END checksum when the
 * subscription covers the whole array (no RANGE: from byte 0 to wherever the array ends).
 */
function streamOptions(plan: StreamPlan): StreamOptions {
  const sub = plan.subscription;
  if (sub === null) return {};
  const { header } = plan;
  const growth = new LiveFeed(header.streamId, sub.live, header.totalByteLength, sub.requestedByteEnd);
  const live = sub.live;
  const whole = live !== null && header.rangeByteStart === 0 && sub.requestedByteEnd === live.maxByteLength;
  return whole && header.checksumAlgorithm === "xxh32" ? { growth, endChecksum: () => live.xxh32() } : { growth };
}

/**
 * Starts a planned stream: hashes a resumed stream's prefix (when it sends a checksum). Aborting
 * `signal` gives the array back and rejects.
 * @param byteEnd see {@link StreamOptions.byteEnd}.
 * @throws what the source's read throws while hashing, or the signal's reason.
 */
export async function startStream(
  plan: StreamPlan,
  creditByteLength: number,
  services: StreamServices,
  pool: ScratchPool,
  signal: AbortSignal,
  byteEnd?: number,
): Promise<OutgoingStream> {
  const options = streamOptions(plan);
  const stream = new OutgoingStream(
    plan,
    creditByteLength,
    services.hooks,
    byteEnd === undefined ? options : { ...options, byteEnd },
  );
  try {
    await stream.hashPrefix(pool, signal);
  } catch (err) {
    stream.close();
    throw err;
  }
  return stream;
}

/**
 * Opens a stream for `request`: plans it, hashes a resumed stream's prefix, and, when the
 * request offers zstd and the server's compression is on, gives it a chunk chooser (a codec that
 * fails to load is logged and the stream goes raw). Aborting `signal` gives the array back and rejects.
 * @throws what {@link planStream} throws, or what the source's read throws while hashing.
 */
export async function openStream(
  request: RequestMessage,
  services: StreamServices,
  pool: ScratchPool,
  signal: AbortSignal,
): Promise<OutgoingStream> {
  const plan = await planStream(request, services, signal);
  const stream = await startStream(plan, request.creditByteLength, services, pool, signal);
  const { compression, log } = services.settings;
  if (compression.enabled && request.codecs?.includes("zstd")) {
    try {
      const itemByteLength = DTYPE_BYTES_PER_ELEMENT[plan.header.dtype];
      stream.chooser = new ChunkChooser(await encoderFor(compression, log), itemByteLength);
    } catch (err) {
      // The stream still works, uncompressed.
      log(`compression unavailable, sending raw chunks: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (signal.aborted) {
      stream.close();
      signal.throwIfAborted();
    }
  }
  return stream;
}
