/**
 * The core of one subscription (docs/PROTOCOL.md §17), kept apart from the transport the way
 * receive-stream.ts is for downloads: the header and GROW checks, the resizable target (reserved
 * once, at the first GROW, up to what the subscription can ever hold or maxBytes, and grown in
 * place at each GROW, so nothing already received is copied again), the order of the bytes, the
 * running checksum, the onAppend calls (guarded: a throw fails the subscription with the
 * caller's own error), the optional idle timeout, the caller's signal, and END.
 */
import {
  type ArrayHeaderMessage,
  type Checksum,
  type ChecksumAlgorithm,
  createChecksum,
  DTYPE_BYTES_PER_ELEMENT,
  type EndMessage,
  type GrowMessage,
  type JsonObject,
  ProtocolError,
  StreamError,
  type TypedArray,
  type TypedArrayConstructor,
  typedArrayConstructor,
} from "../shared/index.ts";
import type { ArrayResult } from "./assembler.ts";
import { callUserCode } from "./guard.ts";
import { IdleTimer } from "./idle-timer.ts";
import { createResizableBuffer, type ResizableArrayBuffer } from "./resizable.ts";
import { streamFailure } from "./stream-failure.ts";

/** What onAppend gets each time the bytes the server announced have all arrived. */
export interface LiveUpdate<T extends TypedArray = TypedArray> {
  /**
   * Every element received so far, from the subscription's first element: a length-tracking
   * view of the resizable buffer, so it stays valid (and grows) as more arrives.
   */
  array: T;
  /** The elements new since the previous call: a view of the same memory. */
  appended: T;
  /** Elements received, and as of the previous call. */
  length: number;
  previousLength: number;
  /** The whole array's shape on the server, as of the last GROW. */
  arrayShape: number[];
  /** The flattened index of `array[0]`. */
  start: number;
  generation: number;
}

/** A validated subscription request. */
export interface SubscribeRequest {
  readonly name: string;
  readonly params: JsonObject | null;
  readonly range: { readonly elementStart: number; readonly elementEnd: number } | null;
  readonly chunkByteLength: number;
  readonly creditByteLength: number;
  readonly checksum: ChecksumAlgorithm;
  readonly maxBytes: number;
  readonly into: ResizableArrayBuffer | undefined;
  readonly onAppend: ((update: LiveUpdate) => void) | undefined;
  readonly idleTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/** One subscription: what the transport feeds (header, GROW, payloads, END) and its outcome. */
export class LiveReceiver {
  readonly request: SubscribeRequest;
  readonly promise: Promise<ArrayResult>;
  streamId = 1;
  #resolve!: (result: ArrayResult) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #release: ((failed: boolean) => void) | null = null;
  readonly #idle: IdleTimer;

  #header: ArrayHeaderMessage | null = null;
  /** Bytes of one row (growth comes in whole rows), and the whole array's byte length now. */
  #rowByteLength = 0;
  #totalByteLength = 0;
  #maxTotalByteLength = -1;
  /** Where the subscription ends at the latest (the RANGE end, or the capacity). */
  #endByteLimit = Number.POSITIVE_INFINITY;
  /** End of the range as announced so far, and the next byte expected. */
  #announcedEnd = 0;
  #nextByteOffset = 0;
  #buffer: ResizableArrayBuffer | null = null;
  #bytes: Uint8Array | null = null;
  #array: TypedArray | null = null;
  #checksum: Checksum | null = null;
  #reportedByteLength = 0;

  constructor(request: SubscribeRequest) {
    this.request = request;
    this.#idle = new IdleTimer(request.idleTimeoutMs, (quietMs) =>
      this.fail(
        new StreamError(
          "E_TIMEOUT",
          `Subscription idle: expected a byte within ${request.idleTimeoutMs} ms (idleTimeoutMs), got none for ${Math.round(quietMs)} ms`,
          this.streamId,
        ),
      ),
    );
    this.promise = new Promise<ArrayResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const { signal } = request;
    if (signal?.aborted) this.#end(true, signal.reason);
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** True once the subscription ended (END, an error, an abort). */
  get done(): boolean {
    return this.#settled;
  }

  /** Registers how the transport stops (called once, at once if already settled). */
  onRelease(release: (failed: boolean) => void): void {
    if (this.#settled) release(true);
    else this.#release = release;
  }

  /** The ARRAY_HEADER: checked against the request; nothing is allocated before the first GROW. */
  header(header: ArrayHeaderMessage): void {
    this.#step(() => {
      if (this.#header !== null) throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected second ARRAY_HEADER");
      const { request } = this;
      if (header.name !== request.name) {
        throw new ProtocolError(
          "E_UNEXPECTED_MESSAGE",
          `Invalid ARRAY_HEADER: expected name ${JSON.stringify(request.name)}, got ${JSON.stringify(header.name)}`,
        );
      }
      if (request.checksum !== "none" && header.checksumAlgorithm === "none") {
        throw new StreamError(
          "E_CHECKSUM",
          `The server announced no checksum, though verify asked for ${request.checksum}; pass verify: false to accept unverified data`,
          this.streamId,
        );
      }
      const itemsize = DTYPE_BYTES_PER_ELEMENT[header.dtype];
      typedArrayConstructor(header.dtype); // E_UNSUPPORTED_DTYPE before anything else
      const start = (request.range?.elementStart ?? 0) * itemsize;
      if (header.rangeByteStart !== start || header.firstByteOffset !== start) {
        throw new ProtocolError(
          "E_BAD_RANGE",
          `Invalid ARRAY_HEADER: expected the range to start at byte ${start}, got [${header.rangeByteStart}, ...) from ${header.firstByteOffset}`,
        );
      }
      const trailing = header.shape.slice(1).reduce((a, b) => a * b, 1);
      this.#rowByteLength = header.shape.length === 0 ? 0 : trailing * itemsize;
      this.#endByteLimit = request.range ? request.range.elementEnd * itemsize : Number.POSITIVE_INFINITY;
      this.#header = header;
      this.#totalByteLength = header.totalByteLength;
      this.#announcedEnd = header.rangeByteEnd;
      this.#nextByteOffset = header.firstByteOffset;
      this.#checksum = createChecksum(header.checksumAlgorithm);
    });
  }

  /** A GROW: the first one sizes the target; each later one extends the range (whole rows). */
  grow(grow: GrowMessage): void {
    this.#step(() => {
      const header = this.#header;
      if (header === null) throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected GROW before ARRAY_HEADER");
      const first = this.#maxTotalByteLength < 0;
      const previous = this.#totalByteLength;
      const grown = grow.totalByteLength - previous;
      const wholeRows = this.#rowByteLength === 0 ? grown === 0 : grown % this.#rowByteLength === 0;
      if (grown < 0 || !wholeRows || (!first && grow.maxTotalByteLength !== this.#maxTotalByteLength)) {
        throw new ProtocolError(
          "E_BAD_RANGE",
          `Invalid GROW: expected whole rows of ${this.#rowByteLength} bytes past ${previous} (maximum ${this.#maxTotalByteLength}), got ${grow.totalByteLength} (maximum ${grow.maxTotalByteLength})`,
        );
      }
      if (first) this.#reserve(header, grow.maxTotalByteLength);
      this.#totalByteLength = grow.totalByteLength;
      const end = Math.min(this.#endByteLimit, grow.totalByteLength);
      if (end < this.#announcedEnd) throw new ProtocolError("E_BAD_RANGE", "Invalid GROW: the range shrank");
      this.#announcedEnd = end;
      this.#resizeTo(end - header.rangeByteStart);
    });
    this.#afterBytes();
  }

  /** A payload for `byteOffset`: copied into the target at its place (one set). */
  write(byteOffset: number, payload: Uint8Array): void {
    this.#step(() => {
      const bytes = this.#bytes;
      const header = this.#header;
      if (bytes === null || header === null) {
        throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected DATA before the subscription's first GROW");
      }
      const end = byteOffset + payload.byteLength;
      if (byteOffset !== this.#nextByteOffset || end > this.#announcedEnd) {
        throw new ProtocolError(
          "E_BAD_RANGE",
          `Invalid chunk: expected bytes from ${this.#nextByteOffset} up to ${this.#announcedEnd}, got [${byteOffset}, ${end})`,
        );
      }
      const at = byteOffset - header.rangeByteStart;
      bytes.set(payload, at);
      this.#checksum?.update(bytes.subarray(at, at + payload.byteLength));
      this.#nextByteOffset = end;
    });
    this.#afterBytes();
  }

  /** END: every announced byte arrived and the checksum matches: the subscription resolves. */
  end(end: EndMessage): void {
    let result: ArrayResult | null = null;
    this.#step(() => {
      const header = this.#header;
      if (header === null || this.#array === null) {
        throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected END before the subscription's first GROW");
      }
      const sent = this.#announcedEnd - header.firstByteOffset;
      if (this.#nextByteOffset !== this.#announcedEnd || end.byteLength !== sent) {
        throw new StreamError(
          "E_INCOMPLETE",
          `Subscription ended early: expected ${sent} bytes, received ${this.#nextByteOffset - header.firstByteOffset} (trailer says ${end.byteLength})`,
          this.streamId,
        );
      }
      const computed = this.#checksum?.digest() ?? null;
      if (computed !== null && (end.checksumAlgorithm !== header.checksumAlgorithm || end.checksum !== computed)) {
        throw new StreamError(
          "E_CHECKSUM",
          `Checksum mismatch: computed ${header.checksumAlgorithm} 0x${computed.toString(16)}, trailer says ${end.checksumAlgorithm} 0x${end.checksum.toString(16)}`,
          this.streamId,
        );
      }
      result = this.#result(header);
    });
    if (result !== null && !this.#settled) this.#end(false, result);
  }

  /**
   * Fails the subscription; a ProtocolError becomes StreamError E_PROTOCOL (E_TOO_LARGE for the
   * size codes) with it as cause. Ignored once settled.
   */
  fail(err: unknown): void {
    if (this.#settled) return;
    const error = streamFailure(err, this.streamId);
    this.#end(true, error);
  }

  #step(fn: () => void): void {
    if (this.#settled) return;
    try {
      fn();
    } catch (err) {
      this.fail(err);
    }
  }

  /** The target, once: the caller's resizable buffer, or one reserved up to what can arrive. */
  #reserve(header: ArrayHeaderMessage, maxTotalByteLength: number): void {
    this.#maxTotalByteLength = maxTotalByteLength;
    const most = Math.min(this.#endByteLimit, maxTotalByteLength) - header.rangeByteStart;
    const { into, maxBytes } = this.request;
    const Ctor = typedArrayConstructor(header.dtype) as TypedArrayConstructor;
    let buffer: ResizableArrayBuffer;
    if (into !== undefined) {
      buffer = into;
    } else {
      // Reserve what the subscription can ever hold, up to maxBytes (E_TOO_LARGE if it gets there).
      buffer = createResizableBuffer(0, Math.max(0, Math.min(most, maxBytes)));
    }
    this.#buffer = buffer;
    this.#bytes = new Uint8Array(buffer); // length-tracking: follows every resize
    this.#array = new Ctor(buffer); // length-tracking too
  }

  #resizeTo(byteLength: number): void {
    const buffer = this.#buffer as ResizableArrayBuffer;
    if (byteLength <= buffer.byteLength) return;
    const cap = Math.min(buffer.maxByteLength, this.request.maxBytes);
    if (byteLength > cap) {
      throw new StreamError(
        this.request.into !== undefined && byteLength <= this.request.maxBytes ? "E_TARGET_MISMATCH" : "E_TOO_LARGE",
        `Subscription too large: expected at most ${cap} bytes (${this.request.into ? "the into buffer's maxByteLength" : "maxBytes"}), the range grew to ${byteLength}`,
        this.streamId,
      );
    }
    buffer.resize(byteLength);
  }

  /** Bytes (or a GROW) arrived: not idle; onAppend when every announced byte is in. */
  #afterBytes(): void {
    this.#idle.touch();
    const header = this.#header;
    const array = this.#array;
    if (this.#settled || header === null || array === null || this.#nextByteOffset !== this.#announcedEnd) return;
    const received = this.#nextByteOffset - header.rangeByteStart;
    if (received <= this.#reportedByteLength) return;
    const itemsize = DTYPE_BYTES_PER_ELEMENT[header.dtype];
    const previousLength = this.#reportedByteLength / itemsize;
    const length = received / itemsize;
    this.#reportedByteLength = received;
    const { onAppend } = this.request;
    if (onAppend === undefined) return;
    const update: LiveUpdate = {
      array,
      appended: array.subarray(previousLength, length) as TypedArray,
      length,
      previousLength,
      arrayShape: this.#shape(header),
      start: header.rangeByteStart / itemsize,
      generation: header.generation,
    };
    callUserCode(onAppend, update, (error) => {
      if (!this.#settled) this.#end(true, error);
    });
  }

  #shape(header: ArrayHeaderMessage): number[] {
    if (header.shape.length === 0) return [];
    return [this.#rowByteLength === 0 ? 0 : this.#totalByteLength / this.#rowByteLength, ...header.shape.slice(1)];
  }

  #result(header: ArrayHeaderMessage): ArrayResult {
    const itemsize = DTYPE_BYTES_PER_ELEMENT[header.dtype];
    const arrayShape = this.#shape(header);
    const start = header.rangeByteStart / itemsize;
    const end = this.#announcedEnd / itemsize;
    const whole = header.rangeByteStart === 0 && this.#announcedEnd === this.#totalByteLength;
    return {
      array: this.#array as TypedArray,
      dtype: header.dtype,
      shape: whole ? arrayShape : [end - start],
      arrayShape,
      range: [start, end],
      name: header.name,
      meta: header.meta,
      generation: header.generation,
    };
  }

  readonly #onAbort = (): void => {
    if (!this.#settled) this.#end(true, this.request.signal?.reason);
  };

  #end(failed: boolean, value: unknown): void {
    this.#settled = true;
    this.#idle.stop();
    this.request.signal?.removeEventListener("abort", this.#onAbort);
    const release = this.#release;
    this.#release = null;
    if (release) {
      try {
        release(failed);
      } catch {
        // The outcome is decided; a failing release (a closed socket) has nowhere to go.
      }
    }
    if (failed) this.#reject(value);
    else this.#resolve(value as ArrayResult);
  }
}
