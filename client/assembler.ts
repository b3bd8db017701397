/**
 * The target buffer of one stream: a buffer of exactly the range's byte length (allocated here,
 * or the caller's `into`, or the array an earlier attempt filled in part) and the offset of the
 * next byte expected. Bytes come in two ways: {@link Assembler.write} copies a payload in with one
 * bulk Uint8Array.set per 256 KiB piece (hashing each piece while it is in cache), and
 * {@link Assembler.window} / {@link Assembler.commit} let a reader fill the target in place. The
 * typed array over the target is built once, when the target is set up (and again only after a
 * BYOB read transferred its buffer).
 */
import {
  type ArrayHeaderMessage,
  type Checksum,
  createChecksum,
  DTYPE_BYTES_PER_ELEMENT,
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
  /** Shape of what was received: the array's n-d shape when it came whole, `[n]` for a range of n elements. */
  shape: number[];
  /** Shape of the whole array on the server (equal to `shape` when the whole array was fetched). */
  arrayShape: number[];
  /** Element range [start, end) of the flattened array that `array` holds. */
  range: [number, number];
  name: string;
  meta: JsonObject | null;
  /** Generation of the published array (what a resume must name). */
  generation: number;
}

/** Bytes copied, then hashed, at a time: small enough to stay in cache between the two. */
const HASH_PIECE_BYTE_LENGTH = 256 * 1024;

/** The target buffer of one stream (see the module comment); one per fetch, carried across resumed attempts. */
export class Assembler {
  #header: ArrayHeaderMessage;
  #target: Uint8Array;
  #array: TypedArray;
  /** True when the assembler allocated the target over an ArrayBuffer (so a BYOB reader may transfer it). */
  readonly ownsTarget: boolean;
  /** Next byte offset (in the array) expected; payloads must arrive in order without gaps. */
  #nextByteOffset: number;
  readonly #checksum: Checksum | null;

  /**
   * @param into caller's array to write into (recv_into), or undefined to allocate from the header.
   * @param heldByteLength bytes of the range `into` already holds (a resume), hashed again here.
   * @param shared allocate the target over a SharedArrayBuffer (without `into`): never transferred.
   * @throws {@link StreamError} `E_TARGET_MISMATCH` when `into` has another dtype or is too small.
   * @throws {@link ProtocolError} `E_UNSUPPORTED_DTYPE` when the runtime lacks the dtype's TypedArray;
   *   `E_BAD_RANGE` when the header's firstByteOffset is not where the held bytes end.
   */
  constructor(header: ArrayHeaderMessage, into: TypedArray | undefined, heldByteLength = 0, shared = false) {
    this.#header = header;
    const ctor = typedArrayConstructor(header.dtype);
    const rangeByteLength = header.rangeByteEnd - header.rangeByteStart;
    this.ownsTarget = into === undefined && !shared;
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
        into.byteLength === rangeByteLength
          ? into
          : new ctor(into.buffer, into.byteOffset, rangeByteLength / ctor.BYTES_PER_ELEMENT);
    } else if (shared) {
      this.#array = new ctor(new SharedArrayBuffer(rangeByteLength), 0, rangeByteLength / ctor.BYTES_PER_ELEMENT);
    } else {
      this.#array = new ctor(rangeByteLength / ctor.BYTES_PER_ELEMENT);
    }
    this.#target = new Uint8Array(this.#array.buffer, this.#array.byteOffset, rangeByteLength);
    this.#nextByteOffset = header.rangeByteStart + heldByteLength;
    this.#expectFirstByte(header);
    // A resumed stream's checksum covers the whole range: start from the bytes already held.
    this.#checksum = createChecksum(header.checksumAlgorithm);
    this.#checksum?.update(this.#target.subarray(0, heldByteLength));
  }

  /**
   * Continues this target with the header of a later attempt (a resume): the same array, range
   * and checksum, starting where the held bytes end. The checksum state carries over.
   * @throws {@link ProtocolError} `E_UNEXPECTED_MESSAGE` for another array, `E_BAD_RANGE` for
   *   another start.
   */
  resume(header: ArrayHeaderMessage): void {
    const held = this.#header;
    const same =
      header.dtype === held.dtype &&
      header.totalByteLength === held.totalByteLength &&
      header.rangeByteStart === held.rangeByteStart &&
      header.rangeByteEnd === held.rangeByteEnd &&
      header.generation === held.generation &&
      header.checksumAlgorithm === held.checksumAlgorithm &&
      header.shape.length === held.shape.length &&
      header.shape.every((d, i) => d === held.shape[i]);
    if (!same) {
      throw new ProtocolError(
        "E_UNEXPECTED_MESSAGE",
        `Invalid ARRAY_HEADER on resume: expected the array held (generation ${held.generation}, ${held.dtype} [${held.shape}]), got generation ${header.generation}, ${header.dtype} [${header.shape}]`,
      );
    }
    this.#expectFirstByte(header);
    this.#header = header;
  }

  #expectFirstByte(header: ArrayHeaderMessage): void {
    if (header.firstByteOffset !== this.#nextByteOffset) {
      const held = this.#nextByteOffset - header.rangeByteStart;
      throw new ProtocolError(
        "E_BAD_RANGE",
        `Invalid firstByteOffset: expected the stream to start after the ${held} bytes held, got ${header.firstByteOffset - header.rangeByteStart}`,
      );
    }
  }

  /** The header of the current attempt. */
  get header(): ArrayHeaderMessage {
    return this.#header;
  }

  /** Bytes of the range held so far (including any resumed from an earlier stream). */
  get receivedByteLength(): number {
    return this.#nextByteOffset - this.#header.rangeByteStart;
  }

  /** Byte length of the range. */
  get rangeByteLength(): number {
    return this.#header.rangeByteEnd - this.#header.rangeByteStart;
  }

  /**
   * Copies one payload to its place.
   * @throws {@link ProtocolError} `E_BAD_RANGE` for a gap, overlap, or a chunk past the range end.
   */
  write(byteOffset: number, payload: Uint8Array): void {
    const end = byteOffset + payload.byteLength;
    if (byteOffset !== this.#nextByteOffset || end > this.#header.rangeByteEnd) {
      throw new ProtocolError(
        "E_BAD_RANGE",
        `Invalid chunk: expected bytes from ${this.#nextByteOffset} up to ${this.#header.rangeByteEnd}, got [${byteOffset}, ${end})`,
      );
    }
    const start = byteOffset - this.#header.rangeByteStart;
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
   * Lets `fill` write one chunk of `byteLength` bytes in place (a decoder), then hashes it.
   * @throws {@link ProtocolError} `E_BAD_RANGE` as {@link write}, before `fill` runs; what `fill`
   *   throws (nothing is counted then).
   */
  writeWith(byteOffset: number, byteLength: number, fill: (window: Uint8Array) => void): void {
    const end = byteOffset + byteLength;
    if (byteOffset !== this.#nextByteOffset || end > this.#header.rangeByteEnd) {
      throw new ProtocolError(
        "E_BAD_RANGE",
        `Invalid chunk: expected bytes from ${this.#nextByteOffset} up to ${this.#header.rangeByteEnd}, got [${byteOffset}, ${end})`,
      );
    }
    const start = byteOffset - this.#header.rangeByteStart;
    const window = this.#target.subarray(start, start + byteLength);
    fill(window);
    this.#checksum?.update(window);
    this.#nextByteOffset = end;
  }

  /**
   * The target's free space from the next expected byte, at most `maxByteLength` long, for a
   * reader that fills memory in place. A BYOB read transfers (detaches) the buffer of the view it
   * fills: only a target this assembler owns ({@link ownsTarget}) may be handed to one, and only
   * when losing it with a failed read is acceptable (no resume).
   */
  window(maxByteLength: number): Uint8Array {
    const start = this.#nextByteOffset - this.#header.rangeByteStart;
    return this.#target.subarray(start, Math.min(this.#target.byteLength, start + maxByteLength));
  }

  /**
   * Accounts for bytes a read put at the start of the window {@link window} returned. `filled` is
   * the view the read resolved with. After a BYOB read it lives on a new ArrayBuffer (the old one
   * was transferred), and the views over the target are derived again from it.
   * @throws {RangeError} when `filled` is not at the start of the window (a reader bug).
   */
  commit(filled: Uint8Array): void {
    const start = this.#nextByteOffset - this.#header.rangeByteStart;
    if (filled.buffer !== this.#target.buffer) {
      // Transferred: the old views are detached (byteLength 0), so measure against the header.
      const byteLength = this.rangeByteLength;
      if (!this.ownsTarget || filled.byteOffset !== start || filled.buffer.byteLength !== byteLength) {
        throw new RangeError(
          `commit: expected a view at ${start} of the ${byteLength}-byte target, got one at ${filled.byteOffset} of ${filled.buffer.byteLength}`,
        );
      }
      const ctor = this.#array.constructor as TypedArrayConstructor;
      this.#target = new Uint8Array(filled.buffer, 0, byteLength);
      this.#array = new ctor(filled.buffer, 0, byteLength / ctor.BYTES_PER_ELEMENT);
    } else if (
      filled.byteOffset !== this.#target.byteOffset + start ||
      start + filled.byteLength > this.#target.byteLength
    ) {
      throw new RangeError(`commit: expected a view at ${start} of the target, got another window`);
    }
    this.#nextByteOffset += filled.byteLength;
    this.#checksum?.update(filled);
  }

  /**
   * Checks the trailer and returns the finished array.
   * @throws {@link StreamError} `E_INCOMPLETE` or `E_CHECKSUM`.
   */
  finish(end: EndMessage): ArrayResult {
    const h = this.#header;
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
    const itemsize = DTYPE_BYTES_PER_ELEMENT[h.dtype];
    const whole = h.rangeByteStart === 0 && h.rangeByteEnd === h.totalByteLength;
    return {
      array: this.#array,
      dtype: h.dtype,
      shape: whole ? [...h.shape] : [this.#array.length],
      arrayShape: [...h.shape],
      range: [h.rangeByteStart / itemsize, h.rangeByteEnd / itemsize],
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
