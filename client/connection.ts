/**
 * The WebSocket transport: ArrayClient, one connection carrying any number of array streams.
 * It only moves bytes: it sends each stream's REQUEST (and CREDIT, CANCEL), and routes what the
 * server sends to the stream's core (client/receive-stream.ts), which checks and stores it.
 *
 * Every message is binary. A DATA message announces the payload message that follows it; the
 * payload is copied into the stream's buffer with one bulk set. Credit is granted back as the
 * client consumes payloads, so the page never buffers more than the window per stream.
 */
import {
  assertLittleEndianHost,
  type DataEncodedMessage,
  type DataMessage,
  decodeMessage,
  encodeCancel,
  encodeCredit,
  encodeRequest,
  hasDataType,
  type Message,
  ProtocolError,
  peekStreamId,
  StreamError,
  SUBPROTOCOL,
  type TypedArray,
  toWebSocketUrl,
  type ZstdCodec,
} from "../shared/index.ts";
import type { ArrayResult } from "./assembler.ts";
import { loadCodec } from "./codec.ts";
import { callUserCode } from "./guard.ts";
import type { ConnectOptions, ConnectSettings, FetchOptions } from "./options.ts";
import { ReceiveStream } from "./receive-stream.ts";
import { resolveConnectOptions, resolveEndpoint, resolveFetchOptions } from "./resolve-options.ts";
import { openSocket, type SocketLike } from "./socket.ts";
import { recordOutcome, startTracking, withProgressRecorder } from "./track.ts";

export type { ConnectOptions, FetchOptions, ResumePoint } from "./options.ts";

/** Most warnings one connection reports. */
const MAX_WARNINGS = 10;
/** Close code of a client that is done (the only code below 3000 a browser may send). */
const CLOSE_NORMAL = 1000;
/**
 * Close code when the server broke the protocol (a text frame). Browsers accept only 1000 and
 * 3000-4999 in close() (1003 throws InvalidAccessError in Chromium and leaves the socket open).
 */
export const CLOSE_PROTOCOL_ERROR = 4002;

interface Entry {
  readonly stream: ReceiveStream;
  /** Credit window (0: off) and bytes consumed since the last grant. */
  readonly window: number;
  consumedSinceGrant: number;
  /** True when the stream owns the connection (fetchArray): it closes when the stream ends. */
  readonly ownsConnection: boolean;
}

/** Registers a prepared stream on a client (fetchArray's attempts); not part of the public API. */
export let receiveOn: (client: ArrayClient, stream: ReceiveStream, ownsConnection: boolean) => void;

/** One WebSocket connection to an arraywire server, carrying any number of concurrent streams. */
export class ArrayClient {
  readonly #socket: SocketLike;
  readonly #settings: ConnectSettings;
  readonly #url: string;
  readonly #streams = new Map<number, Entry>();
  /** Set by a DATA or DATA_ENCODED message: the next message is its payload. */
  #payloadFor: DataMessage | DataEncodedMessage | null = null;
  /** The codec offered in every REQUEST, or null: offer none. */
  readonly #zstd: ZstdCodec | null;
  #nextStreamId = 1;
  #closed: StreamError | null = null;
  #warningCount = 0;

  static {
    receiveOn = (client, stream, ownsConnection) => client.#receive(stream, ownsConnection);
  }

  private constructor(socket: SocketLike, settings: ConnectSettings, url: string, zstd: ZstdCodec | null) {
    this.#socket = socket;
    this.#settings = settings;
    this.#url = url;
    this.#zstd = zstd;
    socket.onmessage = (data) => this.#onMessage(data);
    socket.onclose = (code, reason) => this.#onClose(code, reason);
  }

  /**
   * Opens a connection to an arraywire server (`ws://host:port/arraywire`; http:// works too).
   * @throws {TypeError} / {@link RangeError} for invalid options, before connecting.
   * @throws {@link StreamError} `E_CONNECTION_CLOSED` when the connection cannot be opened.
   * @throws the signal's reason when aborted; what a caller-supplied WebSocket constructor throws.
   */
  static async connect(url: string | URL, options: ConnectOptions = {}): Promise<ArrayClient> {
    assertLittleEndianHost();
    const settings = resolveConnectOptions(options, SUBPROTOCOL);
    const endpoint = String(toWebSocketUrl(resolveEndpoint(url)));
    // Before the socket opens: a connection never waits on the codec with a stream in flight.
    const zstd = await loadCodec(settings, new URL(endpoint).hostname);
    const socket = await openSocket(endpoint, {
      WebSocket: settings.WebSocket,
      protocols: settings.protocols,
      headers: settings.headers,
      maxPayload: Math.max(settings.maxChunkByteLength, settings.maxControlByteLength) + 1024,
      signal: settings.signal,
    });
    return new ArrayClient(socket, settings, endpoint, zstd);
  }

  /** False once the connection closed (by either side); fetch() then rejects with E_CONNECTION_CLOSED. */
  get connected(): boolean {
    return this.#closed === null;
  }

  /** True when this connection offers zstd in its requests (see ConnectOptions.compression). */
  get compressionOffered(): boolean {
    return this.#zstd !== null;
  }

  /** Streams in flight. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Requests `name` and resolves with the array once every byte arrived (and the checksum matched).
   * @throws {TypeError} / {@link RangeError} synchronously for invalid options (a bad range, an
   *   `into` that is not a typed array...), before anything is sent.
   * @throws {@link StreamError} (rejects) with the server's code (E_UNKNOWN_NAME, E_BAD_RANGE...),
   *   or E_TOO_LARGE, E_TARGET_MISMATCH, E_CHECKSUM, E_INCOMPLETE, E_PROTOCOL, E_TIMEOUT,
   *   E_CONNECTION_CLOSED.
   * @throws (rejects) the signal's reason when aborted; what onProgress throws.
   */
  fetch<T extends TypedArray = TypedArray>(name: string, options: FetchOptions<T> = {}): Promise<ArrayResult<T>> {
    let request = resolveFetchOptions(name, options);
    // A page-side registry (tests) records the transfer; without one this is one global lookup.
    const recorder = startTracking({ key: request.track, name: request.name, url: this.#url, thread: "main" });
    if (recorder !== null) request = withProgressRecorder(request, recorder);
    const stream = new ReceiveStream(request);
    this.#receive(stream, false);
    const promise = stream.promise as Promise<ArrayResult<T>>;
    return recorder === null ? promise : recordOutcome(promise, recorder);
  }

  /** Closes the connection; streams in flight reject with E_CONNECTION_CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#socket.close(CLOSE_NORMAL, "client closed");
    this.#onClose(CLOSE_NORMAL, "client closed");
  }

  #receive(stream: ReceiveStream, ownsConnection: boolean): void {
    if (this.#closed) {
      stream.fail(new StreamError(this.#closed.code, this.#closed.message, 0, { cause: this.#closed.cause }));
    }
    if (stream.done) {
      if (ownsConnection) this.close();
      return;
    }
    const streamId = this.#allocateStreamId();
    stream.streamId = streamId;
    const request = encodeRequest({ streamId, ...stream.requestFields(), codecs: this.#zstd ? ["zstd"] : [] });
    const entry: Entry = { stream, window: stream.request.creditByteLength, consumedSinceGrant: 0, ownsConnection };
    this.#streams.set(streamId, entry);
    stream.onRelease((failed) => {
      // Still registered: the client ended it (its own failure, a timeout, an abort), so the
      // server is told. Streams the server ended or the connection took down are gone already.
      if (this.#streams.get(streamId) === entry) {
        this.#streams.delete(streamId);
        if (failed) this.#send(encodeCancel(streamId));
      }
      if (ownsConnection) this.close();
    });
    this.#send(request);
  }

  #allocateStreamId(): number {
    do {
      this.#nextStreamId = this.#nextStreamId >= 0xffffffff ? 1 : this.#nextStreamId + 1;
    } while (this.#streams.has(this.#nextStreamId));
    return this.#nextStreamId;
  }

  #onMessage(data: Uint8Array | string): void {
    if (typeof data === "string") {
      const cause = new ProtocolError("E_TEXT_FRAME", "Invalid message: expected a binary frame, got text");
      this.#socket.close(CLOSE_PROTOCOL_ERROR, "protocol error");
      this.#closeWith(new StreamError("E_PROTOCOL", cause.message, 0, { cause }));
      return;
    }
    const announced = this.#payloadFor;
    if (announced !== null) {
      this.#payloadFor = null;
      this.#onPayload(announced, data);
      return;
    }
    let message: Message;
    try {
      message = decodeMessage(data, {
        maxControlByteLength: this.#settings.maxControlByteLength,
        maxChunkByteLength: this.#settings.maxChunkByteLength,
        maxTotalByteLength: Number.MAX_SAFE_INTEGER, // each stream's maxBytes is checked by its core
      });
    } catch (err) {
      if (err instanceof ProtocolError) this.#onBadMessage(data, err);
      else this.#closeWith(err); // a decoder bug: reported to every stream, never thrown into the socket
      return;
    }
    const entry = this.#streams.get(message.streamId);
    switch (message.type) {
      case "ARRAY_HEADER":
        entry?.stream.header(message); // no entry: a stream this client cancelled
        return;
      case "DATA":
        this.#payloadFor = message;
        return;
      case "DATA_ENCODED":
        this.#payloadFor = message;
        // Never offered: the payload is skipped (its framing kept) and the stream fails.
        if (this.#zstd === null) {
          entry?.stream.fail(
            new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected DATA_ENCODED: no codec was offered"),
          );
        }
        return;
      case "END":
        entry?.stream.end(message);
        return;
      case "ERROR":
        if (message.streamId === 0) {
          // A connection-level complaint about something this client sent: nothing to fail.
          this.#warn(`server: ${message.code}: ${message.message}`);
          return;
        }
        if (entry) {
          this.#streams.delete(message.streamId); // the server ended it: no CANCEL
          entry.stream.fail(new StreamError(message.code, message.message, message.streamId));
        }
        return;
      default:
        entry?.stream.fail(new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${message.type} from a server`));
    }
  }

  #onPayload(data: DataMessage | DataEncodedMessage, payload: Uint8Array): void {
    const entry = this.#streams.get(data.streamId);
    if (!entry) return; // cancelled or failed: drop the payload, keep the framing
    const { stream } = entry;
    if (data.type === "DATA_ENCODED") {
      // #zstd is set: the stream failed at the announcement otherwise (and is gone).
      if (this.#zstd !== null) stream.writeEncoded(data, payload, this.#zstd);
    } else if (payload.byteLength !== data.payloadByteLength) {
      stream.fail(
        new ProtocolError(
          "E_BAD_LENGTH",
          `Invalid payload: expected ${data.payloadByteLength} bytes, got ${payload.byteLength}`,
        ),
      );
      return;
    } else {
      stream.write(data.byteOffset, payload);
    }
    if (stream.done) return;
    // Credit counts bytes on the wire: the encoded length of an encoded chunk.
    entry.consumedSinceGrant += payload.byteLength;
    if (entry.window > 0 && entry.consumedSinceGrant >= entry.window / 4) {
      this.#send(encodeCredit(data.streamId, entry.consumedSinceGrant));
      entry.consumedSinceGrant = 0;
    }
  }

  /** A control message that did not decode: fail the stream it names, keep the connection. */
  #onBadMessage(data: Uint8Array, err: ProtocolError): void {
    // A DATA with bad fields still has its payload coming: skip that message to keep framing.
    if (hasDataType(data) && err.code !== "E_BAD_MAGIC" && err.code !== "E_BAD_VERSION") {
      this.#payloadFor = { type: "DATA", streamId: 0, payloadByteLength: 0, byteOffset: 0 };
    }
    const entry = this.#streams.get(peekStreamId(data));
    if (entry) entry.stream.fail(err);
    else this.#warn(`dropped a bad message: ${err.code}: ${err.message}`);
  }

  #warn(message: string): void {
    if (this.#warningCount++ >= MAX_WARNINGS) return;
    // A throwing onWarning fails the connection's streams with the caller's own error.
    callUserCode(this.#settings.onWarning, message, (error) => {
      this.#socket.close(CLOSE_NORMAL, "client error");
      this.#closeWith(error);
    });
  }

  #send(bytes: Uint8Array): void {
    // After a close the socket drops sends; #onClose has already failed every stream.
    if (this.#closed) return;
    const error = this.#socket.send(bytes);
    if (error !== undefined) {
      this.#socket.close(CLOSE_NORMAL, "client error");
      this.#closeWith(error);
    }
  }

  #onClose(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closeWith(
      new StreamError(
        "E_CONNECTION_CLOSED",
        `Connection closed (${code}${reason ? ` ${reason}` : ""}) before the stream ended`,
      ),
    );
  }

  /**
   * Marks the connection closed (later fetches reject with E_CONNECTION_CLOSED, `cause` saying
   * why) and fails every stream with `error`: a StreamError is copied per stream (with its id);
   * anything else (the caller's own error) is passed as it is.
   */
  #closeWith(error: unknown): void {
    if (!this.#closed) {
      this.#closed =
        error instanceof StreamError && error.code === "E_CONNECTION_CLOSED"
          ? error
          : new StreamError(
              "E_CONNECTION_CLOSED",
              `Connection closed after an error: ${error instanceof Error ? error.message : String(error)}`,
              0,
              { cause: error },
            );
    }
    const entries = [...this.#streams.values()];
    this.#streams.clear();
    for (const { stream } of entries) {
      stream.fail(
        error instanceof StreamError
          ? new StreamError(error.code, error.message, stream.streamId, { cause: error.cause })
          : error,
      );
    }
  }
}
