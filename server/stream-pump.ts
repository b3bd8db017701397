/**
 * The running streams of one WebSocket connection and the pump that sends them: round-robin over
 * the streams that have credit, a chunk at a time, while the connection's queue is under
 * maxQueuedBytes and the server-wide budget allows. Each chunk is counted against the queue
 * before it is read, so reads in flight and scratch buffers are bounded by the same cap. A stream
 * that sent every byte gets its END (after its checksum) and leaves. A subscription's GROW goes
 * out right before the first chunk past the end announced so far, so a subscriber that does not
 * read is sent nothing, not even GROWs, once its credit is spent.
 */
import type { WebSocket } from "ws";
import { encodeData, encodeDataEncoded, encodeEnd, encodeError } from "../shared/index.ts";
import type { InFlightBudget } from "./budget.ts";
import type { EncodedChunk } from "./chunk-encoder.ts";
import type { StreamServices } from "./plan.ts";
import { ScratchPool } from "./scratch-pool.ts";
import { SendQueue } from "./send-queue.ts";
import { type Chunk, isPromiseLike, type OutgoingStream } from "./stream.ts";

/** Unread control replies (ERROR, ARRAY_HEADER, END) a connection may have, per allowed stream. */
export const CONTROL_REPLIES_PER_STREAM = 4;

export class StreamPump {
  readonly #services: StreamServices;
  readonly #streams = new Map<number, OutgoingStream>();
  /** Scratch buffers: up to a queue's worth plus one chunk kept while streams run, none while idle. */
  readonly pool: ScratchPool;
  readonly #queue: SendQueue;
  readonly #onSourceFailure: (stream: OutgoingStream, err: unknown) => void;
  readonly #onReplyRefused: () => void;
  #closed = false;

  /**
   * @param onSourceFailure a stream's read failed: end it with an ERROR.
   * @param onReplyRefused 4 x maxStreams control replies wait unread: the peer floods.
   */
  constructor(
    ws: WebSocket,
    services: StreamServices,
    budget: InFlightBudget,
    onSourceFailure: (stream: OutgoingStream, err: unknown) => void,
    onReplyRefused: () => void,
  ) {
    const { settings } = services;
    this.#services = services;
    this.#onSourceFailure = onSourceFailure;
    this.#onReplyRefused = onReplyRefused;
    this.pool = new ScratchPool(settings.maxQueuedBytes + settings.maxChunkByteLength);
    this.#queue = new SendQueue(
      ws,
      budget,
      this.pool,
      CONTROL_REPLIES_PER_STREAM * settings.maxStreams,
      this.run,
      () => this.#streams.size > 0,
    );
  }

  /** Running streams. */
  get size(): number {
    return this.#streams.size;
  }

  /** The connection's queue (bytes and drain time, for stats and stall checks). */
  get queue(): SendQueue {
    return this.#queue;
  }

  has(streamId: number): boolean {
    return this.#streams.has(streamId);
  }

  get(streamId: number): OutgoingStream | undefined {
    return this.#streams.get(streamId);
  }

  /** The running streams (a copy: safe to end streams while iterating). */
  list(): OutgoingStream[] {
    return [...this.#streams.values()];
  }

  /**
   * Sends the stream's ARRAY_HEADER (and a subscription's first GROW, which states the array's
   * capacity) and starts pumping it; false (stream closed) if the peer floods.
   */
  start(stream: OutgoingStream): boolean {
    const { plan } = stream;
    const firstGrow = stream.growth?.growMessage(plan.header.totalByteLength) ?? null;
    if (!this.reply(plan.headerBytes) || (firstGrow !== null && !this.reply(firstGrow))) {
      stream.close();
      return false;
    }
    this.#streams.set(stream.streamId, stream);
    this.run();
    return true;
  }

  /** Ends a running stream, if there is one by that id; no message is sent. */
  remove(streamId: number): void {
    this.#streams.get(streamId)?.close();
    this.#streams.delete(streamId);
    if (this.#streams.size === 0) this.pool.clear();
  }

  /** Sends a control reply; false when the peer floods (onReplyRefused was called) or the pump closed. */
  reply(data: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#queue.sendReply(data)) return true;
    this.#onReplyRefused();
    return false;
  }

  /** Ends every stream and gives every queued byte back (the connection closed). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.close();
    for (const id of [...this.#streams.keys()]) this.remove(id);
  }

  /** Reads and sends chunks while the socket queue is under its cap and some stream has credit. */
  readonly run = (): void => {
    const max = this.#services.settings.maxQueuedBytes;
    while (!this.#closed && this.#queue.byteLength < max) {
      // Over the shared budget a connection waits, unless its own queue is empty: stalled
      // connections that fill the budget must not starve the healthy ones, which drain. So the
      // total stays under maxBytesInFlight plus one chunk per connection.
      if (this.#queue.waitForBudget()) return;
      const stream = this.#next();
      if (!stream) return;
      if (stream.done) {
        this.#finish(stream);
        continue;
      }
      const grow = stream.takeGrow();
      if (grow !== null && !this.reply(grow)) return;
      this.#sendChunk(stream);
    }
  };

  /** The next stream that can read a chunk or send its trailer, round-robin. */
  #next(): OutgoingStream | undefined {
    for (const stream of this.#streams.values()) {
      if (stream.sendable || stream.done) {
        // Round-robin without an array per chunk: the chosen stream moves to the back of the map.
        this.#streams.delete(stream.streamId);
        this.#streams.set(stream.streamId, stream);
        return stream;
      }
    }
    return undefined;
  }

  #sendChunk(stream: OutgoingStream): void {
    const byteLength = stream.nextByteLength();
    this.#queue.count(byteLength); // before the read: a read in flight holds a scratch buffer
    let chunk: Chunk | Promise<Chunk>;
    try {
      chunk = stream.readChunk(this.pool);
    } catch (err) {
      this.#queue.uncount(byteLength);
      this.#onSourceFailure(stream, err);
      return;
    }
    if (!isPromiseLike(chunk)) {
      this.#sendPayload(stream, chunk, byteLength);
      return;
    }
    chunk.then(
      (read) => {
        if (this.#closed) return; // close() gave every counted byte back
        if (this.#streams.get(stream.streamId) !== stream) {
          this.#queue.uncount(byteLength); // ended while reading
          if (read.scratch) this.pool.give(read.scratch);
          return;
        }
        this.#sendPayload(stream, read, byteLength);
        this.run();
      },
      (err: unknown) => {
        if (this.#closed) return;
        this.#queue.uncount(byteLength);
        if (this.#streams.get(stream.streamId) === stream) this.#onSourceFailure(stream, err);
        this.run();
      },
    );
  }

  /**
   * Sends DATA and its payload (whose bytes were counted when the read started), or DATA_ENCODED
   * and the encoded payload when the stream's chooser compresses the chunk: the bytes it saved go
   * back to the queue's count and to the stream's credit (both count bytes on the wire), and the
   * raw chunk's scratch buffer goes back to the pool at once. With the native codec the chunk is
   * encoded off the main thread first ({@link #encodeThenSend}).
   */
  #sendPayload(stream: OutgoingStream, chunk: Chunk, countedByteLength: number): void {
    if (stream.chooser?.async) {
      this.#encodeThenSend(stream, chunk, countedByteLength);
      return;
    }
    let encoded: EncodedChunk | null = null;
    try {
      encoded = stream.chooser?.encode(chunk.payload) ?? null;
    } catch (err) {
      this.#codecFailed(stream, err);
    }
    this.#sendEncoded(stream, chunk, countedByteLength, encoded);
  }

  /**
   * Encodes the chunk in the threadpool while the pump goes on with other streams and the socket
   * drains, then sends it. The stream counts as reading meanwhile (nothing else of it is read or
   * sent, so its chunks stay in order), and the shuffle buffer the encode may take is counted
   * against the queue (one chunk's length more) until it settles. After close() nothing is sent.
   */
  #encodeThenSend(stream: OutgoingStream, chunk: Chunk, countedByteLength: number): void {
    const extra = chunk.payload.byteLength;
    this.#queue.count(extra);
    const settle = (encoded: EncodedChunk | null) => {
      if (this.#closed) {
        if (chunk.scratch) this.pool.give(chunk.scratch); // close() gave every counted byte back
        return;
      }
      this.#queue.uncount(extra);
      if (this.#streams.get(stream.streamId) !== stream) {
        this.#queue.uncount(countedByteLength); // ended while encoding
        if (chunk.scratch) this.pool.give(chunk.scratch);
      } else {
        this.#sendEncoded(stream, chunk, countedByteLength, encoded);
      }
      this.run();
    };
    stream.encodeAsync(chunk, this.pool).then(settle, (err: unknown) => {
      if (!this.#closed) this.#codecFailed(stream, err);
      settle(null);
    });
  }

  /** A codec failure costs the compression, never the stream: this chunk and the rest go raw. */
  #codecFailed(stream: OutgoingStream, err: unknown): void {
    stream.chooser = null;
    this.#services.settings.log(
      `compression failed, sending raw chunks: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  /** Sends the chunk as DATA when `encoded` is null, else as DATA_ENCODED (see {@link #sendPayload}). */
  #sendEncoded(stream: OutgoingStream, chunk: Chunk, countedByteLength: number, encoded: EncodedChunk | null): void {
    const { streamId } = stream;
    if (encoded === null) {
      this.#queue.send(encodeData(streamId, chunk.byteOffset, chunk.payload.byteLength));
      this.#queue.send(chunk.payload, countedByteLength, chunk.scratch);
      return;
    }
    const saved = countedByteLength - encoded.bytes.byteLength;
    this.#queue.uncount(saved);
    stream.refund(saved);
    if (chunk.scratch) this.pool.give(chunk.scratch);
    this.#queue.send(
      encodeDataEncoded({
        streamId,
        payloadByteLength: encoded.bytes.byteLength,
        byteOffset: chunk.byteOffset,
        rawByteLength: chunk.payload.byteLength,
        codec: "zstd",
        filter: encoded.filter,
      }),
    );
    this.#queue.send(encoded.bytes, encoded.bytes.byteLength, null);
  }

  #finish(stream: OutgoingStream): void {
    this.remove(stream.streamId);
    const { header } = stream.plan;
    const sendEnd = (checksum: number) =>
      this.reply(
        encodeEnd({
          streamId: stream.streamId,
          byteLength: stream.sentByteLength,
          checksumAlgorithm: header.checksumAlgorithm,
          checksum,
        }),
      );
    const checksum = stream.checksum();
    if (checksum === null) sendEnd(0);
    else {
      checksum.then(sendEnd, (err: unknown) => {
        this.#services.hooks.errorReply(err, `checksum of ${JSON.stringify(header.name)}`);
        this.reply(encodeError(stream.streamId, "E_INTERNAL", "Computing the checksum failed; see the server log"));
      });
    }
  }
}
