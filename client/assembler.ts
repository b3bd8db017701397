/**
 * The receiving end of one stream: a preallocated (or caller-supplied) buffer and a running offset.
 * Each payload is copied in with one bulk Uint8Array.set, and the typed view is built once, over
 * the buffer, when the stream completes.
 */
import {
  type ArrayHeaderMessage,
  crc32c,
  type Dtype,
  type EndMessage,
  type JsonObject,
  ProtocolError,
  StreamError,
  type TypedArray,
  type TypedArrayConstructor,
  typedArrayConstructor,
} from "../shared/index.ts";

/** What a completed stream resolves with. */
export interface ArrayResult<T extends TypedArray = TypedArray> {
  /** The array: the caller's `into` (or a view of its first elements), or a new one. */
  array: T;
  dtype: Dtype;
  /** n-d shape; `[elementCount]` for an element range of the flattened array. */
  shape: number[];
  name: string;
  meta: JsonObject | null;
  /** Generation of the published array (what a resume must name). */
  generation: number;
}

export class Assembler {
  readonly header: ArrayHeaderMessage;
  #target: Uint8Array;
  #array: TypedArray;
  /** True when the assembler allocated the target, so a BYOB reader may fill it in place. */
  readonly ownsTarget: boolean;
  /** Next byte offset (in the array) expected; payloads must arrive in order without gaps. */
  #nextByteOffset: number;
  #crc: number | null;

  /**
   * @param into caller's array to write into (recv_into), or undefined to allocate from the header.
   * @throws {@link StreamError} `E_TARGET_MISMATCH` when `into` has another dtype or is too small.
   * @throws {@link ProtocolError} `E_UNSUPPORTED_DTYPE` when the runtime lacks the dtype's TypedArray.
   */
  constructor(header: ArrayHeaderMessage, into: TypedArray | undefined, heldByteLength = 0) {
    this.header = header;
    const ctor = typedArrayConstructor(header.dtype);
    const rangeByteLength = header.rangeByteEnd - header.rangeByteStart;
    this.ownsTarget = into === undefined;
    if (into) {
      if (into.constructor !== ctor) {
        throw new StreamError(
          "E_TARGET_MISMATCH",
          `Target dtype mismatch: expected ${ctor.name} for ${header.dtype}, got ${into.constructor.name}`,
          header.streamId,
        );
      }
      if (into.byteLength < rangeByteLength) {
        throw new StreamError(
          "E_TARGET_MISMATCH",
          `Target too small: expected at least ${rangeByteLength} bytes, got ${into.byteLength}`,
          header.streamId,
        );
      }
      this.#array =
        into.length * into.BYTES_PER_ELEMENT === rangeByteLength
          ? into
          : new ctor(into.buffer, into.byteOffset, rangeByteLength / ctor.BYTES_PER_ELEMENT);
    } else {
      this.#array = new ctor(rangeByteLength / ctor.BYTES_PER_ELEMENT);
    }
    this.#target = new Uint8Array(this.#array.buffer, this.#array.byteOffset, rangeByteLength);
    this.#nextByteOffset = header.firstByteOffset;
    const resumedByteLength = header.firstByteOffset - header.rangeByteStart;
    if (resumedByteLength !== heldByteLength) {
      throw new ProtocolError(
        "E_BAD_RANGE",
        `Invalid firstByteOffset: expected the stream to start after the ${heldByteLength} bytes held, got ${resumedByteLength}`,
      );
    }
    // A resumed stream's checksum covers the whole range: start from the bytes already held.
    this.#crc = header.checksumAlgorithm === "crc32c" ? crc32c(this.#target.subarray(0, resumedByteLength)) : null;
  }

  /** Bytes of the range held so far (including any resumed from an earlier stream). */
  get receivedByteLength(): number {
    return this.#nextByteOffset - this.header.rangeByteStart;
  }

  /** Byte length of the range. */
  get rangeByteLength(): number {
    return this.header.rangeByteEnd - this.header.rangeByteStart;
  }

  /**
   * Copies one payload to its place.
   * @throws {@link ProtocolError} `E_BAD_RANGE` for a gap, overlap, or a chunk past the range end.
   */
  write(byteOffset: number, payload: Uint8Array): void {
    const end = byteOffset + payload.byteLength;
    if (byteOffset !== this.#nextByteOffset || end > this.header.rangeByteEnd) {
      throw new ProtocolError(
        "E_BAD_RANGE",
        `Invalid chunk: expected bytes from ${this.#nextByteOffset} up to ${this.header.rangeByteEnd}, got [${byteOffset}, ${end})`,
      );
    }
    this.#target.set(payload, byteOffset - this.header.rangeByteStart);
    this.#nextByteOffset = end;
    if (this.#crc !== null) this.#crc = crc32c(payload, this.#crc);
  }

  /**
   * The target's free space from the next expected byte, at most `maxByteLength` long, for a
   * reader that fills memory in place (a BYOB reader). Only when {@link ownsTarget}: such a
   * read transfers (detaches) the buffer, which a caller's `into` must never suffer.
   */
  nextWindow(maxByteLength: number): Uint8Array {
    if (!this.ownsTarget) throw new TypeError("nextWindow() needs a target the assembler allocated");
    const start = this.#nextByteOffset - this.header.rangeByteStart;
    return this.#target.subarray(start, Math.min(this.#target.byteLength, start + maxByteLength));
  }

  /**
   * Accounts for bytes a BYOB read put at the window {@link nextWindow} returned. `filled` is
   * the view the read resolved with: it lives on a new ArrayBuffer (the old one was transferred),
   * so every view over the target is derived again from it.
   */
  commitWindow(filled: Uint8Array): void {
    const start = this.#nextByteOffset - this.header.rangeByteStart;
    // The old views are detached now (byteLength 0): measure against the header, not them.
    const byteLength = this.rangeByteLength;
    if (filled.byteOffset !== start || filled.buffer.byteLength !== byteLength) {
      throw new RangeError(
        `commitWindow: expected a view at ${start} of the ${byteLength}-byte target, got one at ${filled.byteOffset} of ${filled.buffer.byteLength}`,
      );
    }
    const ctor = this.#array.constructor as TypedArrayConstructor;
    this.#target = new Uint8Array(filled.buffer, 0, byteLength);
    this.#array = new ctor(filled.buffer, 0, byteLength / ctor.BYTES_PER_ELEMENT);
    this.#nextByteOffset += filled.byteLength;
    if (this.#crc !== null) this.#crc = crc32c(filled, this.#crc);
  }

  /**
   * Checks the trailer and returns the finished array.
   * @throws {@link StreamError} `E_INCOMPLETE` or `E_CHECKSUM`.
   */
  finish(end: EndMessage): ArrayResult {
    const h = this.header;
    if (this.#nextByteOffset !== h.rangeByteEnd || end.byteLength !== h.rangeByteEnd - h.firstByteOffset) {
      throw new StreamError(
        "E_INCOMPLETE",
        `Stream ended early: expected ${h.rangeByteEnd - h.firstByteOffset} bytes, received ${this.#nextByteOffset - h.firstByteOffset} (trailer says ${end.byteLength})`,
        h.streamId,
      );
    }
    if (this.#crc !== null && (end.checksumAlgorithm !== "crc32c" || end.checksum !== this.#crc)) {
      throw new StreamError(
        "E_CHECKSUM",
        `Checksum mismatch: expected CRC-32C 0x${this.#crc.toString(16)} (computed), trailer says ${end.checksumAlgorithm} 0x${end.checksum.toString(16)}`,
        h.streamId,
      );
    }
    const whole = h.rangeByteStart === 0 && h.rangeByteEnd === h.totalByteLength;
    return {
      array: this.#array,
      dtype: h.dtype,
      shape: whole ? h.shape : [this.#array.length],
      name: h.name,
      meta: h.meta,
      generation: h.generation,
    };
  }

  /** The target array, for a caller that resumes into it. */
  get array(): TypedArray {
    return this.#array;
  }
}
