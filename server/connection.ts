/**
 * One client connection: decodes its control messages, opens streams, and pumps chunks out under
 * three limits: the bytes queued in this socket (send-side backpressure, via ws send callbacks),
 * the server-wide in-flight budget, and each stream's credit (the client's window). Chunks are
 * counted against the queue before they are read, so reads in flight and scratch buffers are
 * bounded by the same cap.
 *
 * A message that decodes badly, or asks for something impossible, gets an ERROR on the stream it
 * names, which ends that stream on both sides; the connection and its other streams keep
 * working. Only ws closes a connection for bad input (1002/1007/1008 for invalid frames, 1009
 * over maxControlByteLength); the server itself terminates a connection for liveness only
 * (missed heartbeat, undrained socket) and closes it with 1001 on shutdown.
 */
import type { WebSocket } from "ws";
import {
  decodeMessage,
  encodeData,
  encodeEnd,
  encodeError,
  ProtocolError,
  peekStreamId,
  type RequestMessage,
  type StreamErrorCode,
} from "../shared/index.ts";
import type { InFlightBudget } from "./budget.ts";
import type { StreamServices } from "./plan.ts";
import { ScratchPool } from "./scratch-pool.ts";
import { type Chunk, isPromiseLike, type OutgoingStream, openStream } from "./stream.ts";

/** Unread control replies (ERROR, ARRAY_HEADER, END) a connection may have, per allowed stream. */
export const CONTROL_REPLIES_PER_STREAM = 4;

/** Longest run of pumps (sends completing at once) before the event loop gets a turn, in ms. */
const MAX_BURST_MS = 8;

/** A REQUEST whose source is still being opened, and the credit granted meanwhile. */
interface PendingStream {
  request: RequestMessage;
  grantedByteLength: number;
  /** Aborted by CANCEL, a failure naming the stream, or the connection's end. */
  controller: AbortController;
}

export class Connection {
  readonly #ws: WebSocket;
  readonly #services: StreamServices;
  readonly #budget: InFlightBudget;
  readonly #pool: ScratchPool;
  readonly #streams = new Map<number, OutgoingStream>();
  /** Stream ids with a REQUEST being opened, counted against maxStreams. */
  readonly #pending = new Map<number, PendingStream>();
  #queuedBytes = 0;
  /** Control replies handed to ws and not yet written (they count in #queuedBytes too). */
  #queuedReplies = 0;
  readonly #maxQueuedReplies: number;
  /** When a send last completed (or the queue was last empty), for drain stall detection. */
  #lastDrainAt = performance.now();
  #closed = false;
  /** A pump is scheduled for the next turn of the event loop. */
  #pumpScheduled = false;
  /** When the current run of pumps without a turn of the event loop began; null after a turn. */
  #burstStartedAt: number | null = null;
  /** Set after a DATA from the client: its payload message follows and is dropped (no upload in v1). */
  #skipNext = false;

  constructor(ws: WebSocket, services: StreamServices, budget: InFlightBudget) {
    this.#ws = ws;
    this.#services = services;
    this.#budget = budget;
    // Keeps up to a queue's worth plus one chunk for reuse while streams run; none while idle.
    this.#pool = new ScratchPool(services.settings.maxQueuedBytes + services.settings.maxChunkByteLength);
    this.#maxQueuedReplies = CONTROL_REPLIES_PER_STREAM * services.settings.maxStreams;
    ws.on("message", (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on("close", () => this.#onClose());
    // ws emits 'error' for invalid frames (and then closes); without a listener the process dies.
    ws.on("error", (err) => services.hooks.logPeer("connection", `connection error: ${err.message}`));
  }

  /** Streams in flight on this connection. */
  get streamCount(): number {
    return this.#streams.size + this.#pending.size;
  }

  /** Bytes handed to ws (or being read for it) and not yet written to the socket. */
  get queuedByteLength(): number {
    return this.#queuedBytes;
  }

  /**
   * Drops streams that waited longer than stallTimeoutMs for credit (E_TIMEOUT), and terminates
   * the connection when its socket has not drained for that long.
   */
  checkStalls(now: number): void {
    const timeout = this.#services.settings.stallTimeoutMs;
    if (timeout === 0 || this.#closed) return;
    if (this.#queuedBytes > 0 && now - this.#lastDrainAt > timeout) {
      this.#services.hooks.logPeer("stall", `terminating a connection whose socket did not drain for ${timeout} ms`);
      this.#ws.terminate();
      return;
    }
    for (const stream of [...this.#streams.values()]) {
      if (stream.credit <= 0 && !stream.done && now - stream.lastProgressAt > timeout) {
        this.#failStream(stream.streamId, "E_TIMEOUT", `Stream stalled: no credit granted for ${timeout} ms`);
      }
    }
  }

  /** Sends an ERROR to every open stream (code E_SHUTDOWN) and closes with 1001. */
  shutdown(): void {
    for (const id of [...this.#streams.keys(), ...this.#pending.keys()]) {
      this.#failStream(id, "E_SHUTDOWN", "Server is shutting down");
    }
    this.#ws.close(1001, "server shutting down");
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    if (this.#skipNext) {
      this.#skipNext = false;
      return;
    }
    if (!isBinary) {
      this.#sendError(0, "E_TEXT_FRAME", "Invalid message: expected a binary frame, got text");
      return;
    }
    let message: ReturnType<typeof decodeMessage>;
    try {
      message = decodeMessage(data, { maxControlByteLength: this.#services.settings.maxControlByteLength });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      // Answer on the stream the message names, when it is long enough to name one.
      this.#failStream(peekStreamId(data), err.code, err.message);
      return;
    }
    switch (message.type) {
      case "REQUEST":
        void this.#open(message);
        break;
      case "CREDIT": {
        const stream = this.#streams.get(message.streamId);
        if (stream) {
          stream.grant(message.grantByteLength);
          this.#pump();
        } else {
          // Credit granted before the header (REQUEST and CREDIT in one write) counts too.
          const pending = this.#pending.get(message.streamId);
          if (pending) pending.grantedByteLength += message.grantByteLength;
        }
        break;
      }
      case "CANCEL":
        // Frames already queued still go out; the client drops payloads of streams it cancelled.
        this.#drop(message.streamId);
        break;
      default:
        // A DATA announces a payload message: drop it too, or it would be read as a control message.
        if (message.type === "DATA") this.#skipNext = true;
        this.#failStream(
          message.streamId,
          "E_UNEXPECTED_MESSAGE",
          `Unexpected ${message.type} from a client (v1 servers take no uploads)`,
        );
    }
  }

  async #open(request: RequestMessage): Promise<void> {
    const { streamId } = request;
    const { maxStreams } = this.#services.settings;
    if (streamId === 0) {
      this.#sendError(0, "E_BAD_REQUEST", "Invalid REQUEST: expected streamId > 0, got 0");
      return;
    }
    if (this.#streams.has(streamId) || this.#pending.has(streamId)) {
      // An ERROR names one stream id, and ends that stream on both sides: the running one too.
      this.#failStream(
        streamId,
        "E_STREAM_EXISTS",
        `Stream ${streamId} was already open on this connection; both requests end`,
      );
      return;
    }
    if (this.streamCount >= maxStreams) {
      this.#sendError(streamId, "E_TOO_MANY_STREAMS", `Too many streams: expected at most ${maxStreams} at once`);
      return;
    }
    // The entry is this request's own: if an ERROR ends this request and the client reuses the
    // id before our source opens, the newer request's entry is not ours to answer.
    const pending: PendingStream = { request, grantedByteLength: 0, controller: new AbortController() };
    this.#pending.set(streamId, pending);
    let stream: OutgoingStream;
    try {
      stream = await openStream(request, this.#services, this.#pool, pending.controller.signal);
    } catch (err) {
      if (this.#pending.get(streamId) !== pending) return; // cancelled, ended or closed meanwhile
      this.#pending.delete(streamId);
      const { code, message } = this.#services.hooks.errorReply(err, `source for ${JSON.stringify(request.name)}`);
      this.#sendError(streamId, code, message);
      return;
    }
    if (this.#pending.get(streamId) !== pending || this.#closed) {
      stream.close();
      return;
    }
    this.#pending.delete(streamId);
    if (request.creditByteLength > 0) stream.grant(pending.grantedByteLength);
    if (!this.#sendReply(stream.plan.headerBytes)) {
      stream.close();
      return;
    }
    this.#streams.set(streamId, stream);
    this.#pump();
  }

  /**
   * Pumps after a send completed: at once within a burst of MAX_BURST_MS, else on the next turn
   * of the event loop. A write the kernel takes at once calls back on process.nextTick, so
   * pumping from every callback would chain chunk after chunk to a fast reader without ever
   * giving the event loop a turn (1.6 s of lag for 2 GiB of arange in 1 MiB chunks).
   */
  #pumpSoon(): void {
    if (this.#pumpScheduled) return;
    const now = performance.now();
    if (this.#burstStartedAt === null) {
      this.#burstStartedAt = now;
      setImmediate(() => {
        this.#burstStartedAt = null; // the event loop had a turn
      });
    }
    if (now - this.#burstStartedAt < MAX_BURST_MS) {
      this.#pump();
      return;
    }
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Reads and sends chunks while the socket queue is under its cap and some stream has credit. */
  readonly #pump = (): void => {
    const max = this.#services.settings.maxQueuedBytes;
    while (!this.#closed && this.#queuedBytes < max) {
      // Over the shared budget a connection waits, unless its own queue is empty: stalled
      // connections that fill the budget must not starve the healthy ones, which drain. So the
      // total stays under maxBytesInFlight plus one chunk per connection.
      if (!this.#budget.available && this.#queuedBytes > 0) {
        this.#budget.wait(this.#pump);
        return;
      }
      const stream = this.#nextStream();
      if (!stream) return;
      if (stream.done) this.#finish(stream);
      else this.#sendChunk(stream);
    }
  };

  /** The next stream that can read a chunk or send its trailer, round-robin. */
  #nextStream(): OutgoingStream | undefined {
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
    this.#count(byteLength); // before the read: a read in flight holds a scratch buffer
    let chunk: Chunk | Promise<Chunk>;
    try {
      chunk = stream.readChunk(this.#pool);
    } catch (err) {
      this.#uncount(byteLength);
      this.#failSource(stream, err);
      return;
    }
    if (!isPromiseLike(chunk)) {
      this.#sendPayload(stream.streamId, chunk, byteLength);
      return;
    }
    chunk.then(
      (read) => {
        if (this.#closed) return; // #onClose gave every counted byte back
        if (this.#streams.get(stream.streamId) !== stream) {
          this.#uncount(byteLength); // cancelled while reading
          if (read.scratch) this.#pool.give(read.scratch);
          return;
        }
        this.#sendPayload(stream.streamId, read, byteLength);
        this.#pump();
      },
      (err: unknown) => {
        if (this.#closed) return;
        this.#uncount(byteLength);
        if (this.#streams.get(stream.streamId) === stream) this.#failSource(stream, err);
        this.#pump();
      },
    );
  }

  /** Sends DATA and its payload (whose bytes were counted when the read started). */
  #sendPayload(streamId: number, chunk: Chunk, countedByteLength: number): void {
    this.#send(encodeData(streamId, chunk.byteOffset, chunk.payload.byteLength));
    this.#send(chunk.payload, countedByteLength, chunk.scratch);
  }

  #finish(stream: OutgoingStream): void {
    this.#streams.delete(stream.streamId);
    stream.close();
    if (this.streamCount === 0) this.#pool.clear();
    const sendEnd = (checksum: number) =>
      this.#sendReply(
        encodeEnd({
          streamId: stream.streamId,
          byteLength: stream.sentByteLength,
          checksumAlgorithm: stream.plan.header.checksumAlgorithm,
          checksum,
        }),
      );
    const checksum = stream.checksum();
    if (checksum === null) sendEnd(0);
    else {
      checksum.then(sendEnd, (err: unknown) => {
        this.#services.hooks.errorReply(err, `checksum of ${JSON.stringify(stream.plan.header.name)}`);
        this.#sendError(stream.streamId, "E_INTERNAL", "Computing the checksum failed; see the server log");
      });
    }
  }

  #count(byteLength: number): void {
    if (this.#queuedBytes === 0) this.#lastDrainAt = performance.now();
    this.#queuedBytes += byteLength;
    this.#budget.acquire(byteLength);
  }

  #uncount(byteLength: number): void {
    this.#queuedBytes -= byteLength;
    this.#budget.release(byteLength);
  }

  /**
   * Hands `data` to ws. `countedByteLength` of it were counted already (a chunk's read); a
   * `scratch` buffer goes back to the pool once ws has written it to the socket; a `reply`
   * leaves the reply count then.
   */
  #send(data: Uint8Array, countedByteLength = 0, scratch: Uint8Array | null = null, reply = false): void {
    if (this.#closed) return;
    const byteLength = data.byteLength;
    this.#count(byteLength - countedByteLength);
    this.#ws.send(data, (err) => {
      if (this.#closed) return; // #onClose gave every queued byte back
      if (reply) this.#queuedReplies--;
      if (scratch && this.streamCount > 0) this.#pool.give(scratch);
      this.#uncount(byteLength);
      this.#lastDrainAt = performance.now();
      // An error here means the socket is closing; #onClose cleans up.
      if (!err) this.#pumpSoon();
    });
  }

  #failSource(stream: OutgoingStream, err: unknown): void {
    const { code, message } = this.#services.hooks.errorReply(
      err,
      `source for ${JSON.stringify(stream.plan.header.name)}`,
    );
    this.#failStream(stream.streamId, code, message);
  }

  /** Ends a stream (running or being opened) without a word to the client. */
  #drop(streamId: number): void {
    this.#streams.get(streamId)?.close();
    this.#streams.delete(streamId);
    this.#pending.get(streamId)?.controller.abort();
    this.#pending.delete(streamId);
    if (this.streamCount === 0) this.#pool.clear();
  }

  /** Ends a stream (running or being opened) and tells the client why. */
  #failStream(streamId: number, code: StreamErrorCode, message: string): void {
    this.#drop(streamId);
    this.#sendError(streamId, code, message);
  }

  #sendError(streamId: number, code: StreamErrorCode, message: string): void {
    this.#sendReply(encodeError(streamId, code, message));
  }

  /**
   * Sends a control reply, counted against the queue like data and against the reply allowance:
   * a peer that keeps sending while more than 4 x maxStreams replies wait unread is closed with
   * 1008 at once (it was 20 MB queued and 60 s before the stall timeout). False when closed.
   */
  #sendReply(data: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#queuedReplies >= this.#maxQueuedReplies) {
      this.#services.hooks.logPeer(
        "1008",
        `closing a connection with 1008: it kept sending while ${this.#queuedReplies} replies went unread`,
      );
      this.#onClose(); // frees its streams and budget now; ws ends the socket after its close timeout
      this.#ws.close(1008, "too many unread replies");
      return false;
    }
    this.#queuedReplies++;
    this.#send(data, 0, null, true);
    return true;
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#budget.forget(this.#pump);
    this.#budget.release(this.#queuedBytes);
    this.#queuedBytes = 0;
    for (const id of [...this.#streams.keys(), ...this.#pending.keys()]) this.#drop(id);
  }
}
