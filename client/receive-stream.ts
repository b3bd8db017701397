/**
 * The transport-agnostic core of one stream attempt. Both transports (connection.ts for
 * WebSocket, http.ts for HTTP) only move bytes: they hand the core the header, payloads or
 * filled windows, and the trailer; the core does the rest, once: the request fields (with a
 * resume's offset and generation), the header checks, the target buffer (allocated, the caller's
 * `into`, or the one an earlier attempt filled in part), the windows a reader fills and the
 * scratch buffer every BYOB read goes through (the target is never transferred: see
 * SCRATCH_BYTE_LENGTH), progress and every call into user code (guarded, client/guard.ts), the idle timeout, the
 * caller's AbortSignal, and the mapping of errors (and whether resume may retry them). A
 * transport learns that the stream ended through its release hook and {@link ReceiveStream.signal}.
 */
import {
  type ArrayHeaderMessage,
  type DataEncodedMessage,
  DTYPE_BYTES_PER_ELEMENT,
  decodeChunkInto,
  type EndMessage,
  ProtocolError,
  type RequestMessage,
  StreamError,
  type ZstdCodec,
} from "../shared/index.ts";
import { type ArrayResult, Assembler } from "./assembler.ts";
import { ChunkReporter } from "./chunks.ts";
import { GatewayStatusError } from "./gateway-status.ts";
import { callUserCode, quietly } from "./guard.ts";
import { checkHeader } from "./header-check.ts";
import { IdleTimer } from "./idle-timer.ts";
import type { StreamRequest } from "./options.ts";
import { ProgressReporter } from "./progress.ts";
import { streamFailure } from "./stream-failure.ts";

/** Codes after which a resumed request can succeed (and a proxy's 502/503/504 page, GatewayStatusError). */
const RETRYABLE: ReadonlySet<string> = new Set([
  "E_CONNECTION_CLOSED",
  "E_SHUTDOWN",
  "E_TIMEOUT",
  "E_INCOMPLETE",
  "E_BUSY",
]);

/**
 * Scratch buffer that every BYOB read fills; each read is then copied and hashed into the target
 * in cache-sized pieces (Assembler#write). Never the target itself: a BYOB read transfers the
 * buffer of its view, and V8 counts each transferred ArrayBuffer's whole backing store as new
 * external memory until a GC sweeps the old one. Reading a 400 MB target in place, Chromium ran
 * 175 mark-compact GCs ("GC in old space requested", ~3 ms each) per transfer; through this
 * scratch, none (--js-flags=--trace-gc). The bench's bare fetch + BYOB loops (Chromium, 400 MB,
 * server writes of 64 KiB, medians of 5 runs, min-max): 150 MB/s (63-232) reading into the
 * target, 266 MB/s (156-377) through a 1 MiB scratch; with an XXH32 of every piece, 214 (87-310)
 * and 231 (205-258).
 */
const SCRATCH_BYTE_LENGTH = 1024 * 1024;

/** The request as it goes on the wire (REQUEST message fields, or the HTTP query). */
export type RequestFields = Omit<RequestMessage, "type" | "streamId">;

/** One attempt of a fetch: what a transport feeds (see the module comment). */
export class ReceiveStream {
  /** The validated request. */
  readonly request: StreamRequest;
  /** Resolves with the array, or rejects with the mapped error, once. */
  readonly promise: Promise<ArrayResult>;
  /** Stream id on the wire, used in errors; the WebSocket transport sets it. */
  streamId = 1;

  #resolve!: (result: ArrayResult) => void;
  #reject!: (error: unknown) => void;
  readonly #controller = new AbortController();
  #settled = false;
  #failed = false;
  #retryable = false;
  #release: ((failed: boolean) => void) | null = null;
  #partialWindow: (() => Uint8Array | null) | null = null;

  // Carried over from attempt to attempt.
  #assembler: Assembler | null;
  readonly #progress: ProgressReporter;
  /** onChunk's position; set with the first header (null without onChunk). */
  #chunks: ChunkReporter | null;
  #scratch: Uint8Array | null;

  // This attempt.
  #headerSeen = false;
  /** True when the last window handed out was the scratch buffer. */
  #scratchOut = false;
  readonly #idle: IdleTimer;

  /**
   * Starts an attempt: the idle timer runs from here (connecting counts), and an aborted signal
   * fails it at once.
   * @param previous the failed attempt this one continues (resume): its target, progress and
   *   scratch buffer carry over.
   */
  constructor(request: StreamRequest, previous: ReceiveStream | null = null) {
    this.request = request;
    this.#assembler = previous === null ? null : previous.#assembler;
    this.#progress = previous === null ? new ProgressReporter(request.progressIntervalMs) : previous.#progress;
    this.#idle = new IdleTimer(request.idleTimeoutMs, this.#onIdle);
    this.#scratch = previous === null ? null : previous.#scratch;
    this.#chunks = previous === null ? null : previous.#chunks;
    this.promise = new Promise<ArrayResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const { signal } = request;
    if (signal?.aborted) {
      this.#end(true, signal.reason, false);
      return;
    }
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Aborted, with the stream's error as reason, once the stream has failed. Transports pass it to what they start. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True once the stream resolved or rejected: the transport stops. */
  get done(): boolean {
    return this.#settled;
  }

  /** True when the stream failed in a way a new attempt can fix (a lost connection, a timeout), not by the caller's code or signal. */
  get retryable(): boolean {
    return this.#retryable;
  }

  /** Bytes of the range still to come (after the header). */
  get remainingByteLength(): number {
    const a = this.#assembler;
    return a === null ? 0 : a.rangeByteLength - a.receivedByteLength;
  }

  /** The request for this attempt, continuing after the bytes held. */
  requestFields(): RequestFields {
    const r = this.request;
    const a = this.#assembler;
    return {
      name: r.name,
      params: r.params,
      range: r.range,
      chunkByteLength: r.chunkByteLength,
      creditByteLength: r.creditByteLength,
      checksum: r.checksum,
      resumeByteOffset: a ? a.receivedByteLength : (r.resumeFrom?.receivedByteLength ?? 0),
      expectedGeneration: a ? a.header.generation : (r.resumeFrom?.generation ?? null),
    };
  }

  /**
   * Registers how the transport stops its I/O: called once when the stream settles, with
   * `failed` true when it failed (send CANCEL, cancel the reader, close the socket). Called at
   * once when the stream has already settled. Its errors are dropped (the outcome is decided).
   */
  onRelease(release: (failed: boolean) => void): void {
    if (this.#settled) quietly(() => release(this.#failed));
    else this.#release = release;
  }

  /**
   * Registers where a reader that resolves only whole windows (Node's socket reader) holds bytes
   * it has not delivered yet: the start of the window being filled. When the stream fails on its
   * own timer (the idle timeout), those bytes are committed first, so that a resume continues
   * exactly after the last byte that arrived. (A lost connection needs none of this: the reader
   * then resolves the window short, with every byte that arrived.)
   */
  onPartialWindow(partial: () => Uint8Array | null): void {
    this.#partialWindow = partial;
  }

  /** Bytes arrived that carry no payload (a response head, an open): the stream is not idle. */
  touch(): void {
    this.#idle.touch();
  }

  /** The ARRAY_HEADER of this attempt. */
  header(header: ArrayHeaderMessage): void {
    if (this.#settled) return;
    try {
      if (this.#headerSeen)
        throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected second ARRAY_HEADER on a stream");
      this.#headerSeen = true;
      checkHeader(header, this.request);
      if (this.#assembler) this.#assembler.resume(header);
      else {
        const { resumeFrom, into, shared, onChunk } = this.request;
        const a = new Assembler(header, resumeFrom?.array ?? into, resumeFrom?.receivedByteLength, shared);
        this.#assembler = a;
        if (onChunk) this.#chunks = new ChunkReporter(Math.floor(a.receivedByteLength / a.array.BYTES_PER_ELEMENT));
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    this.#afterBytes(false);
  }

  /** A payload for `byteOffset`, copied into the target (WebSocket). */
  write(byteOffset: number, payload: Uint8Array): void {
    if (this.#settled) return;
    try {
      const a = this.#headerSeen ? this.#assembler : null;
      if (a === null) throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected DATA before ARRAY_HEADER");
      a.write(byteOffset, payload);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.#afterBytes(false);
  }

  /**
   * An encoded payload (WebSocket DATA_ENCODED): its frame is checked against the announcement,
   * then decoded and, when shuffled, unshuffled straight into the target at the chunk's offset.
   */
  writeEncoded(message: DataEncodedMessage, payload: Uint8Array, zstd: ZstdCodec): void {
    if (this.#settled) return;
    try {
      const a = this.#headerSeen ? this.#assembler : null;
      if (a === null) throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected DATA_ENCODED before ARRAY_HEADER");
      const itemByteLength = DTYPE_BYTES_PER_ELEMENT[a.header.dtype];
      a.writeWith(message.byteOffset, message.rawByteLength, (window) =>
        decodeChunkInto(zstd, message, payload, window, itemByteLength),
      );
    } catch (err) {
      this.fail(err);
      return;
    }
    this.#afterBytes(false);
  }

  /**
   * Where the next read goes (HTTP), at most `maxByteLength` bytes and never past the range: a
   * window of the target, or the scratch buffer when `transfers` (a BYOB read, which takes the
   * buffer of its view away). Call after the header, while {@link remainingByteLength} > 0; pass
   * what the read filled to {@link commit}.
   */
  window(maxByteLength: number, transfers: boolean): Uint8Array {
    const a = this.#assembler as Assembler;
    const n = Math.min(maxByteLength, a.rangeByteLength - a.receivedByteLength);
    if (!transfers) {
      this.#scratchOut = false;
      return a.window(n);
    }
    let scratch = this.#scratch;
    // byteLength 0: detached, lost with a read that failed.
    if (scratch === null || scratch.byteLength === 0) {
      scratch = this.#scratch = new Uint8Array(Math.min(SCRATCH_BYTE_LENGTH, a.rangeByteLength));
    }
    this.#scratchOut = true;
    return n >= scratch.byteLength ? scratch : scratch.subarray(0, n);
  }

  /** The view a read into the last {@link window} resolved with (on a new buffer after a BYOB read). */
  commit(filled: Uint8Array): void {
    if (this.#settled) return;
    const a = this.#assembler as Assembler;
    try {
      if (this.#scratchOut) {
        a.write(a.header.rangeByteStart + a.receivedByteLength, filled);
        // The read transferred the scratch buffer: keep the new one, whole (the old view is detached).
        this.#scratch = new Uint8Array(filled.buffer);
      } else {
        a.commit(filled);
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    this.#afterBytes(false);
  }

  /** The END trailer: resolves the stream when every byte arrived and the checksum matches. */
  end(end: EndMessage): void {
    if (this.#settled) return;
    let result: ArrayResult;
    try {
      const a = this.#headerSeen ? this.#assembler : null;
      if (a === null) throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected END before ARRAY_HEADER");
      result = a.finish(end);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.#afterBytes(true);
    if (!this.#settled) this.#end(false, result, false);
  }

  /**
   * Fails the stream. A ProtocolError (bad bytes from the server) becomes a StreamError E_PROTOCOL,
   * or E_TOO_LARGE for the size caps, with the ProtocolError as `cause`; anything else is
   * rejected as it is. Ignored once the stream has settled.
   */
  fail(err: unknown): void {
    if (this.#settled) return;
    const error = streamFailure(err, this.streamId);
    // A proxy's 502/503/504 page is E_HTTP_STATUS like any foreign response, but retryable.
    const retryable =
      error instanceof StreamError && (RETRYABLE.has(error.code) || error instanceof GatewayStatusError);
    this.#end(true, error, retryable);
  }

  /** The caller's own code threw: reject with its error, never retried. */
  readonly #failWithUserError = (error: unknown): void => {
    if (!this.#settled) this.#end(true, error, false);
  };

  readonly #onAbort = (): void => {
    if (!this.#settled) this.#end(true, this.request.signal?.reason, false);
  };

  readonly #onIdle = (quietMs: number): void => {
    const limit = this.request.idleTimeoutMs;
    const held = this.#partialWindow?.();
    if (held && held.byteLength > 0) this.commit(held);
    this.fail(
      new StreamError(
        "E_TIMEOUT",
        `Stream idle: expected a byte within ${limit} ms (idleTimeoutMs), got none for ${Math.round(quietMs)} ms`,
        this.streamId,
      ),
    );
  };

  /** Bytes arrived: the stream is not idle, and a chunk report and progress may be due. */
  #afterBytes(final: boolean): void {
    const now = performance.now();
    this.#idle.touch(now);
    const { onProgress, onChunk } = this.request;
    const a = this.#assembler;
    if (a === null) return;
    const chunk = onChunk && this.#chunks?.next(a.array, a.receivedByteLength);
    if (chunk) {
      callUserCode(onChunk, chunk, this.#failWithUserError);
      if (this.#settled) return; // it threw
    }
    if (onProgress === undefined) return;
    const progress = this.#progress.next(now, a.receivedByteLength, a.rangeByteLength, final);
    if (progress !== null) callUserCode(onProgress, progress, this.#failWithUserError);
  }

  #end(failed: boolean, value: unknown, retryable: boolean): void {
    this.#settled = true;
    this.#failed = failed;
    this.#retryable = retryable;
    this.#idle.stop();
    this.request.signal?.removeEventListener("abort", this.#onAbort);
    // Wakes whatever the transport still waits on (a fetch, a read, a handshake).
    if (failed) this.#controller.abort(value);
    const release = this.#release;
    this.#release = null;
    if (release) quietly(() => release(failed));
    if (failed) this.#reject(value);
    else this.#resolve(value as ArrayResult);
  }
}
