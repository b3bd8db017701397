/**
 * ArrayClient: one WebSocket connection carrying any number of array streams. Works with the
 * browser's WebSocket and, in Node, with the `ws` package (loaded on demand).
 *
 * Every message is binary. A DATA message announces the payload message that follows it; the
 * payload is copied into the stream's buffer with one bulk set. Credit is granted back as the
 * client consumes payloads, so the page never buffers more than the window per stream.
 */
import {
  type ArrayHeaderMessage,
  assertLittleEndianHost,
  type ChecksumAlgorithm,
  type DataMessage,
  DEFAULT_MAX_CHUNK_BYTES,
  DEFAULT_MAX_CONTROL_BYTES,
  DEFAULT_MAX_TOTAL_BYTES,
  decodeMessage,
  encodeCancel,
  encodeCredit,
  encodeRequest,
  hasDataType,
  type JsonObject,
  type Message,
  ProtocolError,
  peekStreamId,
  StreamError,
  type TypedArray,
} from "../shared/index.ts";
import { type ArrayResult, Assembler } from "./assembler.ts";
import { type Progress, ProgressReporter } from "./progress.ts";
import { IS_NODE, openSocket, type SocketLike, type WebSocketConstructor } from "./socket.ts";
import { toStreamError } from "./wrap-error.ts";

const MiB = 1024 * 1024;

/** Subprotocol offered whenever the caller offers any (see ConnectOptions.protocols). */
export const SUBPROTOCOL = "arraywire";

/** Options of {@link ArrayClient.fetch} and {@link fetchArray}. */
export interface FetchOptions<T extends TypedArray = TypedArray> {
  /** Array to write into (recv_into). Must have the stream's dtype and room for the range. */
  into?: T;
  /** Called at most every `progressIntervalMs` and once at completion with the total. */
  onProgress?: (progress: Progress) => void;
  /** Minimum time between progress calls. Defaults to 50 ms. */
  progressIntervalMs?: number;
  /** Cancels the stream; the promise rejects with `signal.reason` (an AbortError by default). */
  signal?: AbortSignal;
  /** Most bytes this client agrees to allocate. Defaults to 2_147_483_648 (2 GiB). */
  maxBytes?: number;
  /** Source parameters sent to the server (for generated arrays such as `arange`). */
  params?: JsonObject;
  /** Element range [start, end) of the flattened array. Defaults to the whole array. */
  range?: [number, number];
  /** Chunk size to ask for. Defaults to 1 MiB in browsers and 4 MiB in Node. */
  chunkByteLength?: number;
  /** Credit window: most bytes in flight towards this client. 0 turns it off. Defaults to max(16 MiB, 2 x chunkByteLength). */
  creditByteLength?: number;
  /**
   * Verify a checksum of the range, sent in the END trailer: true (the default) asks for XXH32,
   * the fastest; "crc32c" for CRC-32C; false for none.
   */
  verify?: boolean | ChecksumAlgorithm;
  /**
   * Continues an earlier stream of the same request from the bytes it already holds (E_GONE when
   * the server's array changed since). fetchArray's `resume` option does this for you.
   */
  resumeFrom?: ResumePoint;
  /** @internal Receives the stream's assembler once its header arrived (used by fetchArray's resume). */
  onAssembler?: (assembler: Assembler) => void;
}

/**
 * Checks an ARRAY_HEADER against the request before anything is allocated: the size cap, the
 * name asked for, and that the checksum `verify` asked for is coming (a server that announces
 * none would otherwise turn verification off silently).
 * @throws {@link StreamError} E_TOO_LARGE or E_CHECKSUM; {@link ProtocolError} for another name.
 */
export function checkHeader(header: ArrayHeaderMessage, name: string, options: FetchOptions): void {
  const { streamId } = header;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_TOTAL_BYTES;
  const byteLength = header.rangeByteEnd - header.rangeByteStart;
  if (byteLength > maxBytes) {
    throw new StreamError(
      "E_TOO_LARGE",
      `Array too large: expected at most ${maxBytes} bytes (maxBytes), got ${byteLength}`,
      streamId,
    );
  }
  if (header.name !== name) {
    // Reported as E_PROTOCOL, with this as its cause.
    throw new ProtocolError(
      "E_UNEXPECTED_MESSAGE",
      `Invalid ARRAY_HEADER: expected name ${JSON.stringify(name)}, got ${JSON.stringify(header.name)}`,
    );
  }
  const wanted = checksumAlgorithmOf(options.verify);
  if (wanted !== "none" && header.checksumAlgorithm === "none") {
    throw new StreamError(
      "E_CHECKSUM",
      `The server announced no checksum, though verify asked for ${wanted}; pass verify: false to accept unverified data`,
      streamId,
    );
  }
}

/** The checksum algorithm a `verify` option asks for. */
export function checksumAlgorithmOf(verify: boolean | ChecksumAlgorithm | undefined): ChecksumAlgorithm {
  return verify === undefined || verify === true ? "xxh32" : verify === false ? "none" : verify;
}

/** Where an interrupted stream stands. */
export interface ResumePoint {
  /** The array holding the first `receivedByteLength` bytes of the range. */
  array: TypedArray;
  receivedByteLength: number;
  /** Generation of the published array the bytes came from. */
  generation: number;
}

/** Options of {@link ArrayClient.connect}. */
export interface ConnectOptions {
  /** WebSocket implementation. Defaults to the global one in browsers and `ws` in Node. */
  WebSocket?: WebSocketConstructor;
  /**
   * WebSocket subprotocols, e.g. `["arraywire.token." + token]` to authenticate from a browser
   * (which cannot set headers); "arraywire" is added so that the server can answer with it.
   */
  protocols?: string | string[];
  /** Extra HTTP headers for the upgrade request (Node `ws` only; browsers cannot set them). */
  headers?: Record<string, string>;
  /** Longest control message accepted from the server. Defaults to 65_536 bytes. */
  maxControlByteLength?: number;
  /** Largest payload message accepted. Defaults to 67_108_864 bytes (64 MiB). */
  maxChunkByteLength?: number;
  /**
   * Told about messages that fail no stream of this client (a connection-level ERROR, a bad
   * message for a stream it does not know). At most 10 calls per connection, so a flood of bad
   * messages cannot flood the console. Defaults to console.warn.
   */
  onWarning?: (message: string) => void;
  /** Aborts the connection attempt (a stalled handshake too); rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Most warnings one connection reports. */
const MAX_WARNINGS = 10;

interface Pending {
  streamId: number;
  name: string;
  options: FetchOptions;
  resolve: (result: ArrayResult) => void;
  reject: (err: unknown) => void;
  assembler: Assembler | null;
  window: number;
  consumedSinceGrant: number;
  progress: ProgressReporter;
  cleanup: () => void;
}

export class ArrayClient {
  readonly #socket: SocketLike;
  readonly #limits: { maxControlByteLength: number; maxChunkByteLength: number };
  readonly #streams = new Map<number, Pending>();
  /** Set by a DATA message: the next message is its payload. */
  #payloadFor: DataMessage | null = null;
  #nextStreamId = 1;
  #closed: StreamError | null = null;
  readonly #onWarning: (message: string) => void;
  #warningCount = 0;

  private constructor(socket: SocketLike, options: ConnectOptions) {
    this.#socket = socket;
    this.#limits = {
      maxControlByteLength: options.maxControlByteLength ?? DEFAULT_MAX_CONTROL_BYTES,
      maxChunkByteLength: options.maxChunkByteLength ?? DEFAULT_MAX_CHUNK_BYTES,
    };
    this.#onWarning = options.onWarning ?? ((m) => console.warn(`[arraywire] ${m}`));
    socket.onmessage = (data) => this.#onMessage(data);
    socket.onclose = (code, reason) => this.#onClose(code, reason);
  }

  /**
   * Opens a connection to an arraywire server (`ws://host:port/arraywire`).
   * @throws {@link StreamError} `E_CONNECTION_CLOSED` when the connection cannot be opened.
   */
  static async connect(url: string | URL, options: ConnectOptions = {}): Promise<ArrayClient> {
    assertLittleEndianHost();
    const maxPayload =
      Math.max(options.maxChunkByteLength ?? DEFAULT_MAX_CHUNK_BYTES, options.maxControlByteLength ?? 0) + 1024;
    // A browser fails the handshake when it offers subprotocols and the server picks none: offer
    // "arraywire" too, which servers choose over token-carrying protocols.
    const protocols =
      options.protocols === undefined
        ? undefined
        : [SUBPROTOCOL, ...[options.protocols].flat().filter((p) => p !== SUBPROTOCOL)];
    const socket = await openSocket(String(url), { ...options, protocols, maxPayload });
    return new ArrayClient(socket, options);
  }

  /** False once the connection closed (by either side); fetch() then rejects with E_CONNECTION_CLOSED. */
  get connected(): boolean {
    return this.#closed === null;
  }

  /** Streams in flight. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Requests `name` and resolves with the array once every byte arrived (and the checksum matched).
   * @throws {@link StreamError} with the server's code (E_UNKNOWN_NAME, E_BAD_REQUEST...), or
   *   E_TOO_LARGE, E_TARGET_MISMATCH, E_CHECKSUM, E_INCOMPLETE, E_PROTOCOL, E_CONNECTION_CLOSED.
   * @throws the signal's reason when aborted.
   */
  fetch<T extends TypedArray = TypedArray>(name: string, options: FetchOptions<T> = {}): Promise<ArrayResult<T>> {
    if (this.#closed) return Promise.reject(this.#closed);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const chunkByteLength = options.chunkByteLength ?? (IS_NODE ? 4 * MiB : MiB);
    const window = options.creditByteLength ?? Math.max(16 * MiB, 2 * chunkByteLength);
    if (window !== 0 && window < chunkByteLength) {
      throw new RangeError(
        `Invalid creditByteLength: expected 0 or >= chunkByteLength (${chunkByteLength}), got ${window}`,
      );
    }
    const streamId = this.#allocateStreamId();
    // Encoded first: a caller's bad name or range throws here (RangeError), before anything is registered.
    const request = encodeRequest({
      streamId,
      name,
      params: options.params ?? null,
      chunkByteLength,
      range: options.range ? { elementStart: options.range[0], elementEnd: options.range[1] } : null,
      resumeByteOffset: options.resumeFrom?.receivedByteLength ?? 0,
      creditByteLength: window,
      expectedGeneration: options.resumeFrom?.generation ?? null,
      checksum: checksumAlgorithmOf(options.verify),
    });
    return new Promise<ArrayResult<T>>((resolve, reject) => {
      const onAbort = () => {
        this.#fail(streamId, signal?.reason);
        this.#sendQuietly(encodeCancel(streamId));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#streams.set(streamId, {
        streamId,
        name,
        options: options as FetchOptions,
        resolve: resolve as (r: ArrayResult) => void,
        reject,
        assembler: null,
        window,
        consumedSinceGrant: 0,
        progress: new ProgressReporter(options.onProgress, options.progressIntervalMs),
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      });
      this.#sendQuietly(request);
    });
  }

  /** Closes the connection; streams in flight reject with E_CONNECTION_CLOSED. */
  close(): void {
    this.#socket.close(1000, "client closed");
    this.#onClose(1000, "client closed");
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
      this.#failAll(new StreamError("E_PROTOCOL", cause.message, 0, { cause }));
      this.#socket.close(1003, "text frame");
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
        maxControlByteLength: this.#limits.maxControlByteLength,
        maxChunkByteLength: this.#limits.maxChunkByteLength,
        maxTotalByteLength: Number.MAX_SAFE_INTEGER, // per-stream maxBytes is checked below
      });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.#onBadMessage(data, err);
      return;
    }
    const pending = this.#streams.get(message.streamId);
    switch (message.type) {
      case "ARRAY_HEADER": {
        if (!pending) return; // a stream this client cancelled
        try {
          if (pending.assembler)
            throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected second ARRAY_HEADER on a stream");
          checkHeader(message, pending.name, pending.options);
          const { resumeFrom, into, onAssembler } = pending.options;
          pending.assembler = new Assembler(message, resumeFrom?.array ?? into, resumeFrom?.receivedByteLength);
          onAssembler?.(pending.assembler);
        } catch (err) {
          this.#cancelWith(message.streamId, err);
          return;
        }
        this.#progress(pending, false);
        return;
      }
      case "DATA":
        this.#payloadFor = message;
        return;
      case "END": {
        if (!pending) return;
        try {
          if (!pending.assembler) throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected END before ARRAY_HEADER");
          const result = pending.assembler.finish(message);
          this.#progress(pending, true);
          this.#streams.delete(message.streamId);
          pending.cleanup();
          pending.resolve(result);
        } catch (err) {
          this.#cancelWith(message.streamId, err);
        }
        return;
      }
      case "ERROR":
        if (message.streamId === 0) {
          // A connection-level complaint about something this client sent: nothing to fail.
          this.#warn(`server: ${message.code}: ${message.message}`);
          return;
        }
        this.#fail(message.streamId, new StreamError(message.code, message.message, message.streamId));
        return;
      default:
        this.#cancelWith(
          message.streamId,
          new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${message.type} from a server`),
        );
    }
  }

  #onPayload(data: DataMessage, payload: Uint8Array): void {
    const pending = this.#streams.get(data.streamId);
    if (!pending) return; // cancelled or failed: drop the payload, keep the framing
    try {
      if (!pending.assembler) throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected DATA before ARRAY_HEADER");
      if (payload.byteLength !== data.payloadByteLength) {
        throw new ProtocolError(
          "E_BAD_LENGTH",
          `Invalid payload: expected ${data.payloadByteLength} bytes, got ${payload.byteLength}`,
        );
      }
      pending.assembler.write(data.byteOffset, payload);
    } catch (err) {
      this.#cancelWith(data.streamId, err);
      return;
    }
    pending.consumedSinceGrant += payload.byteLength;
    if (pending.window > 0 && pending.consumedSinceGrant >= pending.window / 4) {
      this.#sendQuietly(encodeCredit(data.streamId, pending.consumedSinceGrant));
      pending.consumedSinceGrant = 0;
    }
    this.#progress(pending, false);
  }

  /** A control message that did not decode: fail the stream it names, keep the connection. */
  #onBadMessage(data: Uint8Array, err: ProtocolError): void {
    // A DATA with bad fields still has its payload coming: skip that message to keep framing.
    if (hasDataType(data) && err.code !== "E_BAD_MAGIC" && err.code !== "E_BAD_VERSION") {
      this.#payloadFor = { type: "DATA", streamId: 0, payloadByteLength: 0, byteOffset: 0 };
    }
    const streamId = peekStreamId(data);
    if (this.#streams.has(streamId)) this.#cancelWith(streamId, err);
    else this.#warn(`dropped a bad message: ${err.code}: ${err.message}`);
  }

  #warn(message: string): void {
    if (this.#warningCount++ < MAX_WARNINGS) this.#onWarning(message);
  }

  #progress(pending: Pending, final: boolean): void {
    const { assembler } = pending;
    if (assembler) pending.progress.report(assembler.receivedByteLength, assembler.rangeByteLength, final);
  }

  /** Fails a stream with `err` (wrapped as a StreamError when it is a ProtocolError) and cancels it. */
  #cancelWith(streamId: number, err: unknown): void {
    if (this.#fail(streamId, toStreamError(err, streamId))) this.#sendQuietly(encodeCancel(streamId));
  }

  #fail(streamId: number, err: unknown): boolean {
    const pending = this.#streams.get(streamId);
    if (!pending) return false;
    this.#streams.delete(streamId);
    pending.cleanup();
    pending.reject(err);
    return true;
  }

  #failAll(err: StreamError): void {
    for (const id of [...this.#streams.keys()]) {
      this.#fail(id, new StreamError(err.code, err.message, id, { cause: err.cause }));
    }
  }

  #sendQuietly(bytes: Uint8Array): void {
    // After a close the socket drops sends; #onClose has already failed every stream.
    if (!this.#closed) this.#socket.send(bytes);
  }

  #onClose(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = new StreamError(
      "E_CONNECTION_CLOSED",
      `Connection closed (${code}${reason ? ` ${reason}` : ""}) before the stream ended`,
    );
    this.#failAll(this.#closed);
  }
}
