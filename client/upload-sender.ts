/**
 * One attempt of an upload (docs/PROTOCOL.md §16), on one stream of a connection: PUT, then on
 * ACCEPT the bytes from its firstByteOffset as DATA + payload pairs, never more than the credit
 * the server granted, each payload a view of the caller's array (or what their read() returned:
 * the WebSocket copies it, masking it in Node or into the socket in browsers, before the next one
 * is read), then END with the checksum of the whole array, and the server's END as the
 * acknowledgement. The checksum is computed as the bytes go; a resumed attempt first hashes the
 * bytes the server already holds again, in slices. Progress, the idle timeout and the caller's
 * signal live here too; the resume policy is client/upload.ts.
 */
import {
  type AcceptMessage,
  type ChecksumAlgorithm,
  createChecksum,
  type Dtype,
  type EndMessage,
  encodeData,
  encodeEnd,
  encodePut,
  type JsonObject,
  type Message,
  ProtocolError,
  StreamError,
} from "../shared/index.ts";
import type { StreamHandler, StreamPort } from "./connection.ts";
import { callUserCode } from "./guard.ts";
import { IdleTimer } from "./idle-timer.ts";
import { streamFailure } from "./stream-failure.ts";

/** Bytes hashed at a time when a resumed attempt hashes the bytes the server holds. */
const REHASH_SLICE_BYTE_LENGTH = 4 * 1024 * 1024;

/** Codes after which a new attempt can succeed (with the upload id, where there is one). */
const RETRYABLE: ReadonlySet<string> = new Set(["E_CONNECTION_CLOSED", "E_SHUTDOWN", "E_TIMEOUT", "E_BUSY"]);

/**
 * Where an upload's bytes come from when they are not one typed array in memory (a file, say):
 * `read` returns exactly the bytes [byteOffset, byteOffset + byteLength) of the flattened C-order
 * array, little-endian; it may reuse its buffer, since each result is sent (copied into the
 * socket) before the next read.
 */
export interface UploadSource {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  read(byteOffset: number, byteLength: number): Uint8Array | Promise<Uint8Array>;
}

/** Progress of an upload. */
export interface UploadProgress {
  /** Bytes handed to the connection so far (bytes the server held when resuming included). */
  sentByteLength: number;
  /** Bytes the server said it has written (its credit grants), in steps of about a quarter window. */
  acknowledgedByteLength: number;
  /** Bytes of the whole array. */
  totalByteLength: number;
  /** Mean rate of sentByteLength since the upload started, in bytes per second. */
  bytesPerSecond: number;
  elapsedMs: number;
}

/** What a completed upload resolves with. */
export interface UploadResult {
  name: string;
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  checksumAlgorithm: ChecksumAlgorithm;
  /** The checksum the server computed and acknowledged. */
  checksum: number;
  /** The id the server gave the upload. */
  uploadId: number;
}

/** A validated upload request. */
export interface UploadRequest {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly byteLength: number;
  readonly read: (byteOffset: number, byteLength: number) => Uint8Array | Promise<Uint8Array>;
  readonly meta: JsonObject | null;
  readonly params: JsonObject | null;
  readonly checksum: ChecksumAlgorithm;
  readonly chunkByteLength: number;
  readonly onProgress: ((progress: UploadProgress) => void) | undefined;
  readonly progressIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/** One attempt: a {@link StreamHandler} for the connection, and its outcome. */
export class UploadSender implements StreamHandler {
  readonly request: UploadRequest;
  readonly promise: Promise<UploadResult>;
  /** The upload id to resume, once an ACCEPT gave one (0 before). */
  uploadId: number;
  readonly #startedAt: number;
  #resolve!: (result: UploadResult) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #retryable = false;
  #port: StreamPort | null = null;
  readonly #idle: IdleTimer;
  #lastProgressAt = Number.NEGATIVE_INFINITY;

  #accepted = false;
  #firstByteOffset = 0;
  #nextByteOffset = 0;
  #acknowledged = 0;
  #credit = 0;
  #maxPayload = 0;
  #endSent = false;
  #pumping = false;
  readonly #hash;

  /**
   * @param uploadId 0 for a new upload; the id of an earlier attempt's ACCEPT to resume it.
   * @param startedAt when the upload (its first attempt) started, for progress rates.
   */
  constructor(request: UploadRequest, uploadId: number, startedAt: number) {
    this.request = request;
    this.uploadId = uploadId;
    this.#startedAt = startedAt;
    this.#hash = createChecksum(request.checksum);
    this.#idle = new IdleTimer(request.idleTimeoutMs, (quietMs) =>
      this.fail(
        new StreamError(
          "E_TIMEOUT",
          `Upload idle: expected an answer within ${request.idleTimeoutMs} ms (idleTimeoutMs), got none for ${Math.round(quietMs)} ms`,
          this.#port?.streamId ?? 0,
        ),
      ),
    );
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const { signal } = request;
    if (signal?.aborted) this.#end(true, signal.reason, false);
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  get done(): boolean {
    return this.#settled;
  }

  /** True when the attempt failed in a way a new one can fix. */
  get retryable(): boolean {
    return this.#retryable;
  }

  /** Binds the attempt to its stream; returns the PUT to send. */
  bind(port: StreamPort): Uint8Array {
    this.#port = port;
    const r = this.request;
    return encodePut({
      streamId: port.streamId,
      name: r.name,
      dtype: r.dtype,
      shape: r.shape,
      checksumAlgorithm: r.checksum,
      uploadId: this.uploadId,
      meta: r.meta,
      params: r.params,
    });
  }

  message(message: Message): void {
    if (this.#settled) return;
    this.#idle.touch();
    switch (message.type) {
      case "ACCEPT":
        this.#accept(message);
        return;
      case "CREDIT":
        if (!this.#accepted) throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected CREDIT before ACCEPT");
        this.#credit += message.grantByteLength;
        this.#acknowledged = Math.min(this.#acknowledged + message.grantByteLength, this.request.byteLength);
        this.#report(false);
        void this.#pump();
        return;
      case "END":
        this.#acknowledge(message);
        return;
      default:
        throw new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${message.type} on an upload`);
    }
  }

  payload(): void {
    throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected DATA from the server on an upload");
  }

  /** Fails the attempt; a ProtocolError becomes E_PROTOCOL (E_TOO_LARGE for the size codes). */
  fail(err: unknown): void {
    if (this.#settled) return;
    const error = streamFailure(err, 0);
    this.#end(true, error, error instanceof StreamError && RETRYABLE.has(error.code));
  }

  #accept(accept: AcceptMessage): void {
    if (this.#accepted) throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected second ACCEPT");
    if (accept.firstByteOffset > this.request.byteLength) {
      throw new ProtocolError(
        "E_BAD_RANGE",
        `Invalid ACCEPT: firstByteOffset ${accept.firstByteOffset} is past the array's ${this.request.byteLength} bytes`,
      );
    }
    this.#accepted = true;
    this.uploadId = accept.uploadId;
    this.#firstByteOffset = accept.firstByteOffset;
    this.#nextByteOffset = accept.firstByteOffset;
    this.#acknowledged = accept.firstByteOffset;
    this.#credit = accept.creditByteLength;
    this.#maxPayload = accept.maxPayloadByteLength;
    void this.#start();
  }

  async #start(): Promise<void> {
    try {
      // The END checksum covers the whole array: hash what the server holds first.
      for (let at = 0; at < this.#firstByteOffset && !this.#settled; ) {
        const n = Math.min(REHASH_SLICE_BYTE_LENGTH, this.#firstByteOffset - at);
        this.#hash?.update(await this.#read(at, n));
        at += n;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } catch (err) {
      this.#failWithUserError(err);
      return;
    }
    await this.#pump();
  }

  /** Sends chunks while there is credit, then END once every byte went. One loop at a time. */
  async #pump(): Promise<void> {
    if (this.#pumping || !this.#accepted || this.#endSent) return;
    this.#pumping = true;
    const port = this.#port as StreamPort;
    const total = this.request.byteLength;
    try {
      while (!this.#settled && this.#nextByteOffset < total && this.#credit > 0) {
        const at = this.#nextByteOffset;
        const n = Math.min(this.request.chunkByteLength, this.#maxPayload, this.#credit, total - at);
        const bytes = await this.#read(at, n);
        if (this.#settled) return;
        this.#hash?.update(bytes);
        port.send(encodeData(port.streamId, at, n));
        port.send(bytes);
        this.#nextByteOffset = at + n;
        this.#credit -= n;
        this.#report(false);
      }
      if (!this.#settled && this.#nextByteOffset === total) {
        this.#endSent = true;
        port.send(
          encodeEnd({
            streamId: port.streamId,
            byteLength: total - this.#firstByteOffset,
            checksumAlgorithm: this.request.checksum,
            checksum: this.#hash?.digest() ?? 0,
          }),
        );
      }
    } catch (err) {
      this.#failWithUserError(err);
    } finally {
      this.#pumping = false;
    }
  }

  /** The caller's read(), checked. @throws what it throws, or a TypeError for a wrong result. */
  async #read(byteOffset: number, byteLength: number): Promise<Uint8Array> {
    const bytes = await this.request.read(byteOffset, byteLength);
    if (!(bytes instanceof Uint8Array) || bytes.byteLength !== byteLength) {
      const got = bytes instanceof Uint8Array ? `${bytes.byteLength} bytes` : typeof bytes;
      throw new TypeError(`UploadSource.read returned ${got}: expected a Uint8Array of ${byteLength} bytes`);
    }
    return bytes;
  }

  #acknowledge(end: EndMessage): void {
    const total = this.request.byteLength;
    const checksum = this.#hash?.digest() ?? 0;
    if (!this.#endSent) throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected END before the upload's END");
    if (end.byteLength !== total - this.#firstByteOffset || end.checksumAlgorithm !== this.request.checksum) {
      throw new ProtocolError(
        "E_BAD_RANGE",
        `Invalid END: expected ${total - this.#firstByteOffset} bytes of ${this.request.checksum}, got ${end.byteLength} of ${end.checksumAlgorithm}`,
      );
    }
    if (end.checksum !== checksum) {
      throw new StreamError(
        "E_CHECKSUM",
        `The server acknowledged checksum 0x${end.checksum.toString(16)}, the client sent 0x${checksum.toString(16)}`,
        end.streamId,
      );
    }
    this.#acknowledged = total;
    this.#report(true);
    if (this.#settled) return;
    const r = this.request;
    this.#end(
      false,
      {
        name: r.name,
        dtype: r.dtype,
        shape: [...r.shape],
        byteLength: total,
        checksumAlgorithm: r.checksum,
        checksum,
        uploadId: this.uploadId,
      } satisfies UploadResult,
      false,
    );
  }

  #report(final: boolean): void {
    const { onProgress, progressIntervalMs } = this.request;
    if (onProgress === undefined) return;
    const now = performance.now();
    if (!final && now - this.#lastProgressAt < progressIntervalMs) return;
    this.#lastProgressAt = now;
    const elapsedMs = now - this.#startedAt;
    const progress: UploadProgress = {
      sentByteLength: this.#nextByteOffset,
      acknowledgedByteLength: this.#acknowledged,
      totalByteLength: this.request.byteLength,
      bytesPerSecond: elapsedMs > 0 ? (this.#nextByteOffset * 1000) / elapsedMs : 0,
      elapsedMs,
    };
    callUserCode(onProgress, progress, this.#failWithUserError);
  }

  /** The caller's own code (read, onProgress) threw: fail with its error, never retried. */
  readonly #failWithUserError = (error: unknown): void => {
    if (!this.#settled) this.#end(true, error, false);
  };

  readonly #onAbort = (): void => {
    if (!this.#settled) this.#end(true, this.request.signal?.reason, false);
  };

  #end(failed: boolean, value: unknown, retryable: boolean): void {
    this.#settled = true;
    this.#retryable = retryable;
    this.#idle.stop();
    this.request.signal?.removeEventListener("abort", this.#onAbort);
    try {
      // A failure this side caused (abort, a bad answer, the caller's error) is told with CANCEL.
      this.#port?.release(failed);
    } catch {
      // The outcome is decided; a closing socket has nowhere to report to.
    }
    if (failed) this.#reject(value);
    else this.#resolve(value as UploadResult);
  }
}
