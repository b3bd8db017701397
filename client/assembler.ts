/**
 * The receiving end of one stream: a preallocated (or caller-supplied) buffer and a running offset.
 * Each payload is copied in with one bulk Uint8Array.set, and the typed view is built once, over
 * the buffer, when the stream completes.
 */
import {
  type ArrayHeaderMessage,
  type Checksum,
  createChecksum,
  type Dtype,
  dtypeOf,
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

/** Bytes copied, then hashed, at a time: small enough to stay in cache between the two. */
const HASH_PIECE_BYTE_LENGTH = 256 * 1024;

export class Assembler {
  readonly header: ArrayHeaderMessage;
  #target: Uint8Array;
  #array: TypedArray;
  /** True when the assembler allocated the target, so a BYOB reader may fill it in place. */
  readonly ownsTarget: boolean;
  /** Next byte offset (in the array) expected; payloads must arrive in order without gaps. */
  #nextByteOffset: number;
  readonly #checksum: Checksum | null;

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
      // By the built-in type, so subclasses (a Node Buffer for uint8) are accepted.
      if (dtypeOf(into) !== header.dtype) {
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
    this.#checksum = createChecksum(header.checksumAlgorithm);
    this.#checksum?.update(this.#target.subarray(0, resumedByteLength));
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
    const start = byteOffset - this.header.rangeByteStart;
    const checksum = this.#checksum;
    if (checksum === null) {
      this.#target.set(payload, start);
    } else {
      // Copy and hash in cache-sized pieces, so the bytes are still in cache when hashed. Hashed
      // from the target, whose alignment follows the stream position (fast word reads).
      for (let p = 0; p < payload.byteLength; p += HASH_PIECE_BYTE_LENGTH) {
        const piece = payload.subarray(p, p + HASH_PIECE_BYTE_LENGTH);
        this.#target.set(piece, start + p);
        checksum.update(this.#target.subarray(start + p, start + p + piece.byteLength));
      }
    }
    this.#nextByteOffset = end;
  }

  /**
   * The target's free space from the next expected byte, at most `maxByteLength` long, for a
   * reader that fills memory in place. A BYOB reader transfers (detaches) the buffer it fills,
   * which a caller's `into` must never suffer: give BYOB windows only when {@link ownsTarget}.
   */
  nextWindow(maxByteLength: number): Uint8Array {
    const start = this.#nextByteOffset - this.header.rangeByteStart;
    return this.#target.subarray(start, Math.min(this.#target.byteLength, start + maxByteLength));
  }

  /**
   * Accounts for bytes a read put at the start of the window {@link nextWindow} returned.
   * `filled` is the view the read resolved with. After a BYOB read it lives on a new ArrayBuffer
   * (the old one was transferred), and every view over the target is derived again from it.
   */
  commitWindow(filled: Uint8Array): void {
    const start = this.#nextByteOffset - this.header.rangeByteStart;
    if (filled.buffer !== this.#target.buffer) {
      // Transferred: the old views are detached (byteLength 0), so measure against the header.
      const byteLength = this.rangeByteLength;
      if (!this.ownsTarget || filled.byteOffset !== start || filled.buffer.byteLength !== byteLength) {
        throw new RangeError(
          `commitWindow: expected a view at ${start} of the ${byteLength}-byte target, got one at ${filled.byteOffset} of ${filled.buffer.byteLength}`,
        );
      }
      const ctor = this.#array.constructor as TypedArrayConstructor;
      this.#target = new Uint8Array(filled.buffer, 0, byteLength);
      this.#array = new ctor(filled.buffer, 0, byteLength / ctor.BYTES_PER_ELEMENT);
    } else if (filled.byteOffset !== this.#target.byteOffset + start) {
      throw new RangeError(`commitWindow: expected a view at ${start} of the target, got another window`);
    }
    this.#nextByteOffset += filled.byteLength;
    this.#checksum?.update(filled);
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
    const computed = this.#checksum?.digest() ?? null;
    if (computed !== null && (end.checksumAlgorithm !== h.checksumAlgorithm || end.checksum !== computed)) {
      throw new StreamError(
        "E_CHECKSUM",
        `Checksum mismatch: computed ${h.checksumAlgorithm} 0x${computed.toString(16)}, trailer says ${end.checksumAlgorithm} 0x${end.checksum.toString(16)}`,
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
