/**
 * One client connection: decodes its control messages, opens streams, and pumps chunks out under
 * three limits: the bytes queued in this socket (send-side backpressure, via ws send callbacks),
 * the server-wide in-flight budget, and each stream's credit (the client's window).
 *
 * A message that decodes badly, or asks for something impossible, gets an ERROR on the stream it
 * names, which ends that stream on both sides; the connection and its other streams keep
 * working. Bad input never closes the connection here: only ws does, for invalid frames
 * (1002/1007/1008) and messages over maxControlByteLength, its maxPayload (1009). The server
 * itself terminates a connection for liveness only (missed heartbeat, undrained socket) and
 * closes it with 1001 on shutdown.
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
} from "../shared/index.ts";
import type { InFlightBudget } from "./budget.ts";
import { type ChunkLimits, errorReply, planStream, type StreamPlan } from "./plan.ts";
import type { Registry } from "./registry.ts";
import { OutgoingStream } from "./stream.ts";

/** Per-connection settings, resolved from the server's options. */
export interface ConnectionSettings extends ChunkLimits {
  maxQueuedBytes: number;
  maxStreams: number;
  maxControlByteLength: number;
  stallTimeoutMs: number;
  log: (message: string) => void;
}

/** A REQUEST whose source is still being opened, and the credit granted meanwhile. */
interface PendingStream {
  request: RequestMessage;
  grantedByteLength: number;
}

export class Connection {
  readonly #ws: WebSocket;
  readonly #registry: Registry;
  readonly #settings: ConnectionSettings;
  readonly #streams = new Map<number, OutgoingStream>();
  /** Stream ids with a REQUEST being resolved (async source), counted against maxStreams. */
  readonly #pending = new Map<number, PendingStream>();
  readonly #budget: InFlightBudget;
  #queuedBytes = 0;
  /** When a send last completed (or the queue was last empty), for drain stall detection. */
  #lastDrainAt = performance.now();
  #closed = false;
  /** Set after a DATA from the client: its payload message follows and is dropped (no upload in v1). */
  #skipNext = false;

  constructor(ws: WebSocket, registry: Registry, settings: ConnectionSettings, budget: InFlightBudget) {
    this.#ws = ws;
    this.#registry = registry;
    this.#settings = settings;
    this.#budget = budget;
    ws.on("message", (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on("close", () => this.#onClose());
    // ws emits 'error' for invalid frames (and then closes); without a listener the process dies.
    ws.on("error", (err) => settings.log(`connection error: ${err.message}`));
  }

  /** Streams in flight on this connection. */
  get streamCount(): number {
    return this.#streams.size + this.#pending.size;
  }

  /** Bytes handed to ws and not yet written to the socket. */
  get queuedByteLength(): number {
    return this.#queuedBytes;
  }

  /**
   * Drops streams that waited longer than stallTimeoutMs for credit (E_TIMEOUT), and terminates
   * the connection when its socket has not drained for that long.
   */
  checkStalls(now: number): void {
    const timeout = this.#settings.stallTimeoutMs;
    if (timeout === 0 || this.#closed) return;
    if (this.#queuedBytes > 0 && now - this.#lastDrainAt > timeout) {
      this.#settings.log(`terminating a connection whose socket did not drain for ${timeout} ms`);
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
      this.#sendError(id, "E_SHUTDOWN", "Server is shutting down");
    }
    this.#streams.clear();
    this.#pending.clear();
    this.#ws.close(1001, "server shutting down");
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
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
      message = decodeMessage(data, { maxControlByteLength: this.#settings.maxControlByteLength });
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
        this.#streams.delete(message.streamId);
        this.#pending.delete(message.streamId);
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
    if (this.streamCount >= this.#settings.maxStreams) {
      this.#sendError(
        streamId,
        "E_TOO_MANY_STREAMS",
        `Too many streams: expected at most ${this.#settings.maxStreams} at once`,
      );
      return;
    }
    // The entry is this request's own: if an ERROR ends this request and the client reuses the
    // id before our source resolves, the newer request's entry is not ours to answer.
    const pending: PendingStream = { request, grantedByteLength: 0 };
    this.#pending.set(streamId, pending);
    let plan: StreamPlan;
    try {
      plan = await planStream(request, this.#registry, this.#settings);
    } catch (err) {
      if (this.#pending.get(streamId) !== pending) return;
      this.#pending.delete(streamId);
      const { code, message } = errorReply(err, this.#settings.log, `source for ${JSON.stringify(request.name)}`);
      this.#sendError(streamId, code, message);
      return;
    }
    if (this.#pending.get(streamId) !== pending || this.#closed) return; // cancelled, ended or closed meanwhile
    this.#pending.delete(streamId);
    this.#send(plan.headerBytes);
    const credit = request.creditByteLength === 0 ? 0 : request.creditByteLength + pending.grantedByteLength;
    this.#streams.set(streamId, new OutgoingStream(plan, credit));
    this.#pump();
  }

  /** Sends chunks while the socket queue is under its cap and some stream has credit. */
  readonly #pump = (): void => {
    const max = this.#settings.maxQueuedBytes;
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
      if (stream.done) {
        this.#finish(stream);
        continue;
      }
      const { byteOffset, payload } = stream.takeChunk();
      this.#send(encodeData(stream.streamId, byteOffset, payload.byteLength));
      this.#send(payload);
    }
  };

  /** The next stream that can send a chunk or its trailer, round-robin. */
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

  #finish(stream: OutgoingStream): void {
    this.#streams.delete(stream.streamId);
    const sendEnd = (checksum: number | null) =>
      this.#send(
        encodeEnd({
          streamId: stream.streamId,
          byteLength: stream.sentByteLength,
          checksumAlgorithm: stream.checksumAlgorithm,
          checksum: checksum ?? 0,
        }),
      );
    if (stream.checksum === null) sendEnd(null);
    else {
      stream.checksum().then(sendEnd, (err) => {
        this.#settings.log(`checksum failed: ${err}`);
        this.#sendError(stream.streamId, "E_INTERNAL", "Computing the checksum failed; see the server log");
      });
    }
  }

  #send(data: Uint8Array): void {
    if (this.#closed) return;
    const byteLength = data.byteLength;
    if (this.#queuedBytes === 0) this.#lastDrainAt = performance.now();
    this.#queuedBytes += byteLength;
    this.#budget.acquire(byteLength);
    this.#ws.send(data, (err) => {
      if (this.#closed) return; // #onClose already gave every queued byte back
      this.#queuedBytes -= byteLength;
      this.#budget.release(byteLength);
      this.#lastDrainAt = performance.now();
      // An error here means the socket is closing; #onClose cleans up.
      if (!err) this.#pump();
    });
  }

  /** Ends a stream (running or being resolved) and tells the client why. */
  #failStream(streamId: number, code: string, message: string): void {
    this.#streams.delete(streamId);
    this.#pending.delete(streamId);
    this.#sendError(streamId, code, message);
  }

  #sendError(streamId: number, code: string, message: string): void {
    this.#send(encodeError(streamId, code, message));
  }

  #onClose(): void {
    this.#closed = true;
    this.#budget.forget(this.#pump);
    this.#budget.release(this.#queuedBytes);
    this.#queuedBytes = 0;
    this.#streams.clear();
    this.#pending.clear();
  }
}
