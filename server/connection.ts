/**
 * One client connection: decodes its control messages, opens streams, and pumps chunks out under
 * two limits: the bytes queued in the socket (send-side backpressure, via ws send callbacks) and
 * each stream's credit (the client's window). A bad message gets an ERROR and nothing else: the
 * connection and its other streams keep working.
 */
import type { WebSocket } from "ws";
import {
  decodeMessage,
  encodeArrayHeader,
  encodeData,
  encodeEnd,
  encodeError,
  ProtocolError,
  type RequestMessage,
  StreamError,
} from "../shared/index.ts";
import type { Registry } from "./registry.ts";
import { checkResolved } from "./sources.ts";
import { OutgoingStream } from "./stream.ts";

/** Per-connection settings, resolved from the server's options. */
export interface ConnectionSettings {
  chunkByteLength: number;
  minChunkByteLength: number;
  maxChunkByteLength: number;
  maxQueuedBytes: number;
  maxStreams: number;
  maxControlByteLength: number;
  log: (message: string) => void;
}

export class Connection {
  readonly #ws: WebSocket;
  readonly #registry: Registry;
  readonly #settings: ConnectionSettings;
  readonly #streams = new Map<number, OutgoingStream>();
  /** Stream ids with a REQUEST being resolved (async source), counted against maxStreams. */
  readonly #pending = new Set<number>();
  #queuedBytes = 0;
  #closed = false;
  /** Round-robin position, so several streams share the socket fairly. */
  #turn = 0;

  constructor(ws: WebSocket, registry: Registry, settings: ConnectionSettings) {
    this.#ws = ws;
    this.#registry = registry;
    this.#settings = settings;
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

  /** Sends an ERROR to every open stream (code E_SHUTDOWN) and closes with 1001. */
  shutdown(): void {
    for (const id of [...this.#streams.keys(), ...this.#pending]) {
      this.#sendError(id, "E_SHUTDOWN", "Server is shutting down");
    }
    this.#streams.clear();
    this.#pending.clear();
    this.#ws.close(1001, "server shutting down");
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
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
      const streamId = data.byteLength >= 12 ? data.readUInt32LE(8) : 0;
      this.#sendError(streamId, err.code, err.message);
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
        }
        break;
      }
      case "CANCEL":
        // Frames already queued still go out; the client drops payloads of streams it cancelled.
        this.#streams.delete(message.streamId);
        this.#pending.delete(message.streamId);
        break;
      default:
        this.#sendError(message.streamId, "E_UNEXPECTED_MESSAGE", `Unexpected ${message.type} from a client`);
    }
  }

  async #open(request: RequestMessage): Promise<void> {
    const { streamId } = request;
    if (streamId === 0) {
      this.#sendError(0, "E_BAD_REQUEST", "Invalid REQUEST: expected streamId > 0, got 0");
      return;
    }
    if (this.#streams.has(streamId) || this.#pending.has(streamId)) {
      this.#sendError(streamId, "E_STREAM_EXISTS", `Stream ${streamId} is already open on this connection`);
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
    this.#pending.add(streamId);
    try {
      const entry = this.#registry.get(request.name);
      if (!entry)
        throw new StreamError(
          "E_UNKNOWN_NAME",
          `Unknown array: ${JSON.stringify(request.name)} is not published`,
          streamId,
        );
      if (request.expectedGeneration !== null && request.expectedGeneration !== entry.generation) {
        throw new StreamError(
          "E_GONE",
          `Array ${JSON.stringify(request.name)} changed: expected generation ${request.expectedGeneration}, got ${entry.generation}; restart the transfer`,
          streamId,
        );
      }
      const resolved = await entry.resolve(request.params);
      if (!this.#pending.has(streamId) || this.#closed) return; // cancelled or closed meanwhile
      this.#pending.delete(streamId);
      this.#start(request, entry.generation, resolved, entry.checksumOf.bind(entry));
    } catch (err) {
      if (!this.#pending.delete(streamId)) return;
      if (err instanceof StreamError) this.#sendError(streamId, err.code, err.message);
      else {
        this.#settings.log(`source for ${JSON.stringify(request.name)} failed: ${(err as Error).stack ?? err}`);
        this.#sendError(streamId, "E_INTERNAL", "The array source failed; see the server log");
      }
    }
  }

  #start(
    request: RequestMessage,
    generation: number,
    resolved: Parameters<typeof checkResolved>[0],
    checksumOf: (array: Uint8Array, start: number, end: number) => Promise<number>,
  ): void {
    const { streamId } = request;
    const { dtype, shape } = checkResolved(resolved);
    const { array } = resolved;
    const itemsize = array.BYTES_PER_ELEMENT;
    const elementStart = request.range?.elementStart ?? 0;
    const elementEnd = request.range?.elementEnd ?? array.length;
    if (elementEnd > array.length) {
      this.#sendError(
        streamId,
        "E_BAD_REQUEST",
        `Invalid element range: expected end <= ${array.length}, got ${elementEnd}`,
      );
      return;
    }
    const rangeByteStart = elementStart * itemsize;
    const rangeByteEnd = elementEnd * itemsize;
    if (request.resumeByteOffset > rangeByteEnd - rangeByteStart) {
      this.#sendError(
        streamId,
        "E_BAD_REQUEST",
        `Invalid resumeByteOffset: expected at most ${rangeByteEnd - rangeByteStart}, got ${request.resumeByteOffset}`,
      );
      return;
    }
    const firstByteOffset = rangeByteStart + request.resumeByteOffset;
    const s = this.#settings;
    const chunkByteLength = Math.min(
      s.maxChunkByteLength,
      Math.max(s.minChunkByteLength, request.chunkByteLength || s.chunkByteLength),
    );
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    const stream = new OutgoingStream({
      streamId,
      array,
      chunkByteLength,
      firstByteOffset,
      rangeByteEnd,
      creditByteLength: request.creditByteLength,
      checksum: request.checksum ? checksumOf(bytes, rangeByteStart, rangeByteEnd) : null,
    });
    this.#send(
      encodeArrayHeader({
        streamId,
        dtype,
        shape,
        totalByteLength: array.byteLength,
        rangeByteStart,
        rangeByteEnd,
        firstByteOffset,
        generation,
        checksumAlgorithm: request.checksum ? "crc32c" : "none",
        name: request.name,
        meta: resolved.meta ?? null,
      }),
    );
    this.#streams.set(streamId, stream);
    this.#pump();
  }

  /** Sends chunks while the socket queue is under its cap and some stream has credit. */
  #pump(): void {
    const max = this.#settings.maxQueuedBytes;
    while (!this.#closed && this.#queuedBytes < max) {
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
  }

  /** The next stream that can send a chunk or its trailer, round-robin. */
  #nextStream(): OutgoingStream | undefined {
    const streams = [...this.#streams.values()];
    for (let i = 0; i < streams.length; i++) {
      const stream = streams[(this.#turn + i) % streams.length] as OutgoingStream;
      if (stream.sendable || stream.done) {
        this.#turn = (this.#turn + i + 1) % streams.length;
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
          checksumAlgorithm: checksum === null ? "none" : "crc32c",
          checksum: checksum ?? 0,
        }),
      );
    if (stream.checksum === null) sendEnd(null);
    else stream.checksum.then(sendEnd, (err) => this.#settings.log(`checksum failed: ${err}`));
  }

  #send(data: Uint8Array): void {
    if (this.#closed) return;
    const byteLength = data.byteLength;
    this.#queuedBytes += byteLength;
    this.#ws.send(data, (err) => {
      this.#queuedBytes -= byteLength;
      // An error here means the socket is closing; #onClose cleans up.
      if (!err) this.#pump();
    });
  }

  #sendError(streamId: number, code: string, message: string): void {
    this.#send(encodeError(streamId, code, message));
  }

  #onClose(): void {
    this.#closed = true;
    this.#streams.clear();
    this.#pending.clear();
  }
}
