/**
 * The WebSocket transport: ArrayClient, one connection carrying any number of array streams.
 * It only moves bytes: it sends each stream's REQUEST (and CREDIT, CANCEL), and routes what the
 * server sends to the stream's core (client/receive-stream.ts), which checks and stores it.
 *
 * Every message is binary. A DATA message announces the payload message that follows it; the
 * payload is copied into the stream's buffer with one bulk set. Credit is granted back as the
 * client consumes payloads, so the page never buffers more than the window per stream.
 *
 * Downloads are one kind of stream; subscriptions (client/subscribe.ts), uploads
 * (client/upload.ts) and stats (client/stat.ts) are others. Each registers a
 * {@link StreamHandler} under its own stream id through {@link openStreamOn}, and gets the
 * messages of its id.
 */
import {
  assertLittleEndianHost,
  type DataEncodedMessage,
  type DataMessage,
  type Dtype,
  type DtypeArray,
  decodeMessage,
  type ErrorMessage,
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
import { openConnection } from "./open-connection.ts";
import type { ConnectOptions, ConnectSettings, FetchOptions } from "./options.ts";
import { ReceiveStream } from "./receive-stream.ts";
import { resolveConnectOptions, resolveEndpoint, resolveFetchOptions } from "./resolve-options.ts";
import type { SocketLike } from "./socket.ts";
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

/**
 * One stream of a connection, as the connection drives it: every message naming its id (a
 * payload comes after its DATA), and the connection's failures. Errors thrown by a handler fail
 * the stream (through `fail`); they never reach the socket.
 */
export interface StreamHandler {
  /** A control message of this stream other than DATA and ERROR (ARRAY_HEADER, END, GROW, ACCEPT, CREDIT...). */
  message(message: Message): void;
  /** The payload a DATA of this stream announced (its length is checked already). */
  payload(data: DataMessage, payload: Uint8Array): void;
  /**
   * The payload a DATA_ENCODED of this stream announced, to decode with `zstd`. Only a handler
   * whose request offered the codec has it: for any other, DATA_ENCODED fails the stream.
   */
  encoded?(data: DataEncodedMessage, payload: Uint8Array, zstd: ZstdCodec): void;
  /** The stream failed: an ERROR from the server (a StreamError), a bad message, the connection's end. */
  fail(error: unknown): void;
}

/** What a handler gets to speak on the connection. */
export interface StreamPort {
  readonly streamId: number;
  /** Sends a message of the stream (after a close it is dropped; the connection's failure reaches the handler). */
  send(bytes: Uint8Array): void;
  /**
   * The stream ended on this side: forget it, and tell the server with CANCEL when `cancel`. If
   * the connection belongs to the stream (a one-shot call), it closes too. Idempotent.
   */
  release(cancel: boolean): void;
}

interface Entry {
  readonly handler: StreamHandler;
  /** True when the stream owns the connection (fetchArray): it closes when the stream ends. */
  readonly ownsConnection: boolean;
}

/** Registers a prepared stream on a client (fetchArray's attempts); not part of the public API. */
export let receiveOn: (client: ArrayClient, stream: ReceiveStream, ownsConnection: boolean) => void;

/**
 * Opens a stream of any kind on a client: registers `handler` under a new stream id and sends
 * `first(streamId)`. Not part of the public API (subscribe, upload and stat use it). When the
 * connection is closed already, the handler's fail is called at once and the port does nothing.
 */
export let openStreamOn: (
  client: ArrayClient,
  makeHandler: (port: StreamPort) => StreamHandler,
  first: (streamId: number) => Uint8Array,
  ownsConnection: boolean,
) => StreamPort;

/** One WebSocket connection to an arraywire server, carrying any number of concurrent streams. */
export class ArrayClient {
  readonly #socket: SocketLike;
  readonly #settings: ConnectSettings;
  readonly #url: string;
  readonly #streams = new Map<number, Entry>();
  /** Set by a DATA or DATA_ENCODED message: the next message is its payload. */
  #payloadFor: DataMessage | DataEncodedMessage | null = null;
  /** The codec offered in every download REQUEST, or null: offer none. */
  readonly #zstd: ZstdCodec | null;
  #nextStreamId = 1;
  #closed: StreamError | null = null;
  #warningCount = 0;

  static {
    receiveOn = (client, stream, ownsConnection) => client.#receive(stream, ownsConnection);
    openStreamOn = (client, makeHandler, first, ownsConnection) => client.#open(makeHandler, first, ownsConnection);
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
   * Opens a connection to an arraywire server (`ws://host:port/arraywire`; http:// works too, and
   * a relative URL in a page). When the WebSocket does not open, the endpoint is probed over HTTP
   * to say why (client/open-connection.ts).
   * @throws {TypeError} / {@link RangeError} for invalid options, before connecting.
   * @throws {@link StreamError} E_UNAUTHORIZED, E_FORBIDDEN_ORIGIN, E_FORBIDDEN_HOST or E_NOT_FOUND
   *   (from the probe: each message says what to change), E_SHUTDOWN; E_CONNECTION_CLOSED or
   *   E_TIMEOUT (connectTimeoutMs) when the connection cannot be opened for another reason.
   * @throws the signal's reason when aborted; what a caller-supplied WebSocket constructor throws.
   */
  static async connect(url: string | URL, options: ConnectOptions = {}): Promise<ArrayClient> {
    assertLittleEndianHost();
    const settings = resolveConnectOptions(options, SUBPROTOCOL);
    const endpoint = resolveEndpoint(url);
    const wsUrl = String(toWebSocketUrl(endpoint));
    // Before the socket opens: a connection never waits on the codec with a stream in flight.
    const zstd = await loadCodec(settings, new URL(wsUrl).hostname);
    const socket = await openConnection(endpoint, settings);
    return new ArrayClient(socket, settings, wsUrl, zstd);
  }

  /** False once the connection closed (by either side); fetch() then rejects with E_CONNECTION_CLOSED. */
  get connected(): boolean {
    return this.#closed === null;
  }

  /** True when this connection offers zstd in its download requests (see ConnectOptions.compression). */
  get compressionOffered(): boolean {
    return this.#zstd !== null;
  }

  /** Streams in flight. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Requests `name` and resolves with the array once every byte arrived (and the checksum matched).
   * With `dtype` the result is typed and checked (E_DTYPE_MISMATCH), as in fetchArray.
   * @throws {TypeError} / {@link RangeError} synchronously for invalid options (a bad range, an
   *   `into` that is not a typed array...), before anything is sent.
   * @throws {@link StreamError} (rejects) with the server's code (E_UNKNOWN_NAME, E_BAD_RANGE...),
   *   or E_TOO_LARGE, E_TARGET_MISMATCH, E_DTYPE_MISMATCH, E_CHECKSUM, E_INCOMPLETE, E_PROTOCOL, E_TIMEOUT,
   *   E_CONNECTION_CLOSED.
   * @throws (rejects) the signal's reason when aborted; what onProgress throws.
   */
  fetch<D extends Dtype>(
    name: string,
    options: FetchOptions<DtypeArray<D>> & { dtype: D },
  ): Promise<ArrayResult<DtypeArray<D>>>;
  fetch<T extends TypedArray = TypedArray>(name: string, options?: FetchOptions<T>): Promise<ArrayResult<T>>;
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
      stream.fail(new StreamError(this.#closed.wireCode, this.#closed.message, 0, { cause: this.#closed.cause }));
    }
    if (stream.done) {
      if (ownsConnection) this.close();
      return;
    }
    const window = stream.request.creditByteLength;
    let consumedSinceGrant = 0;
    const zstd = this.#zstd;
    this.#open(
      (port) => {
        stream.streamId = port.streamId;
        // Credit counts bytes on the wire: the encoded length of an encoded chunk.
        const consumed = (byteLength: number): void => {
          if (stream.done) return;
          consumedSinceGrant += byteLength;
          if (window > 0 && consumedSinceGrant >= window / 4) {
            port.send(encodeCredit(port.streamId, consumedSinceGrant));
            consumedSinceGrant = 0;
          }
        };
        // Still registered when it settles: the client ended it (its own failure, a timeout, an
        // abort), so the server is told. Streams the server ended or the connection took down
        // are gone already, and release() does nothing for them but close an owned connection.
        stream.onRelease((failed) => port.release(failed));
        return {
          message: (message) => {
            if (message.type === "ARRAY_HEADER") stream.header(message);
            else if (message.type === "END") stream.end(message);
            else stream.fail(new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${message.type} from a server`));
          },
          payload: (data, payload) => {
            stream.write(data.byteOffset, payload);
            consumed(payload.byteLength);
          },
          ...(zstd === null
            ? {}
            : {
                encoded: (data: DataEncodedMessage, payload: Uint8Array, codec: ZstdCodec) => {
                  stream.writeEncoded(data, payload, codec);
                  consumed(payload.byteLength);
                },
              }),
          fail: (error) => stream.fail(error),
        };
      },
      (streamId) => encodeRequest({ streamId, ...stream.requestFields(), codecs: zstd === null ? [] : ["zstd"] }),
      ownsConnection,
    );
  }

  #open(
    makeHandler: (port: StreamPort) => StreamHandler,
    first: (streamId: number) => Uint8Array,
    ownsConnection: boolean,
  ): StreamPort {
    const streamId = this.#allocateStreamId();
    let entry: Entry | null = null;
    let released = false;
    const port: StreamPort = {
      streamId,
      send: (bytes) => {
        if (this.#streams.get(streamId) === entry) this.#send(bytes);
      },
      release: (cancel) => {
        if (released) return;
        released = true;
        if (entry !== null && this.#streams.get(streamId) === entry) {
          this.#streams.delete(streamId);
          if (cancel) this.#send(encodeCancel(streamId));
        }
        if (ownsConnection) this.close();
      },
    };
    const handler = makeHandler(port);
    if (released) return port;
    if (this.#closed) {
      const closed = this.#closed;
      handler.fail(new StreamError(closed.code, closed.message, streamId, { cause: closed.cause }));
      return port;
    }
    entry = { handler, ownsConnection };
    this.#streams.set(streamId, entry);
    this.#send(first(streamId));
    return port;
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
    if (message.type === "DATA") {
      this.#payloadFor = message;
      return;
    }
    if (message.type === "DATA_ENCODED") {
      this.#payloadFor = message;
      // Never offered: the payload is skipped (its framing kept) and the stream fails.
      const entry = this.#streams.get(message.streamId);
      if (entry && (entry.handler.encoded === undefined || this.#zstd === null)) {
        entry.handler.fail(new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected DATA_ENCODED: no codec was offered"));
      }
      return;
    }
    if (message.type === "ERROR") {
      this.#onError(message);
      return;
    }
    // No entry: a stream this client cancelled (or never had): ignore its messages.
    const entry = this.#streams.get(message.streamId);
    if (entry) this.#dispatch(entry, () => entry.handler.message(message));
  }

  #onError(message: ErrorMessage): void {
    if (message.streamId === 0) {
      // A connection-level complaint about something this client sent: nothing to fail.
      this.#warn(`server: ${message.code}: ${message.message}`);
      return;
    }
    const entry = this.#streams.get(message.streamId);
    if (entry) {
      this.#streams.delete(message.streamId); // the server ended it: no CANCEL
      entry.handler.fail(new StreamError(message.code, message.message, message.streamId));
    }
  }

  /** Runs a handler's step; what it throws fails that stream (never the socket's listener). */
  #dispatch(entry: Entry, step: () => void): void {
    try {
      step();
    } catch (error) {
      entry.handler.fail(error);
    }
  }

  #onPayload(data: DataMessage | DataEncodedMessage, payload: Uint8Array): void {
    const entry = this.#streams.get(data.streamId);
    if (!entry) return; // cancelled or failed: drop the payload, keep the framing
    if (data.type === "DATA_ENCODED") {
      // The codec checks the payload's length against the announcement; a stream that was never
      // offered the codec failed at the announcement (and a handler left registered drops it).
      const { encoded } = entry.handler;
      const zstd = this.#zstd;
      if (encoded !== undefined && zstd !== null) this.#dispatch(entry, () => encoded(data, payload, zstd));
      return;
    }
    if (payload.byteLength !== data.payloadByteLength) {
      entry.handler.fail(
        new ProtocolError(
          "E_BAD_LENGTH",
          `Invalid payload: expected ${data.payloadByteLength} bytes, got ${payload.byteLength}`,
        ),
      );
      return;
    }
    this.#dispatch(entry, () => entry.handler.payload(data, payload));
  }

  /** A control message that did not decode: fail the stream it names, keep the connection. */
  #onBadMessage(data: Uint8Array, err: ProtocolError): void {
    // A DATA with bad fields still has its payload coming: skip that message to keep framing.
    if (hasDataType(data) && err.code !== "E_BAD_MAGIC" && err.code !== "E_BAD_VERSION") {
      this.#payloadFor = { type: "DATA", streamId: 0, payloadByteLength: 0, byteOffset: 0 };
    }
    const entry = this.#streams.get(peekStreamId(data));
    if (entry) entry.handler.fail(err);
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
    const entries = [...this.#streams];
    this.#streams.clear();
    for (const [streamId, { handler }] of entries) {
      handler.fail(
        error instanceof StreamError
          ? new StreamError(error.wireCode, error.message, streamId, { cause: error.cause })
          : error,
      );
    }
  }
}
