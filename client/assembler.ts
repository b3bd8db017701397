/**
 * The target buffer of one stream: a buffer of exactly the range's byte length (allocated here,
 * or the caller's `into`, or the array an earlier attempt filled in part) and the offset of the
 * next byte expected. Bytes come in two ways: {@link Assembler.write} copies a payload in with one
 * bulk Uint8Array.set per 256 KiB piece (hashing each piece while it is in cache), and
 * {@link Assembler.window} / {@link Assembler.commit} let a reader that never transfers its views
 * (Node's socket reader) fill the target in place. The typed array over the target is built once,
 * when the target is set up: the target's buffer is never transferred.
 */
import {
  type ArrayHeaderMessage,
  byteWindow,
  type Checksum,
  createChecksum,
  DTYPE_BYTES_PER_ELEMENT,
  type Dtype,
  dtypeOf,
  type EndMessage,
  forEachByteWindow,
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
  /** The target, exactly the range long. Its bytes are viewed window by window (shared/byte-windows.ts: no Uint8Array spans an array past 4 GiB on Node 20). */
  readonly #array: TypedArray;
  /** Next byte offset (in the array) expected; payloads must arrive in order without gaps. */
  #nextByteOffset: number;
  readonly #checksum: Checksum | null;

  /**
   * @param into caller's array to write into (recv_into), or undefined to allocate from the header.
   * @param heldByteLength bytes of the range `into` already holds (a resume), hashed again here.
   * @param shared allocate the target over a SharedArrayBuffer (without `into`): never transferred.
   * @throws {@link StreamError} `E_TARGET_MISMATCH` when `into` has another dtype or is too small;
   *   `E_ALLOCATION_FAILED` when the runtime cannot allocate a target of the range's size.
   * @throws {@link ProtocolError} `E_UNSUPPORTED_DTYPE` when the runtime lacks the dtype's TypedArray;
   *   `E_BAD_RANGE` when the header's firstByteOffset is not where the held bytes end.
   */
  constructor(header: ArrayHeaderMessage, into: TypedArray | undefined, heldByteLength = 0, shared = false) {
    this.#header = header;
    const ctor = typedArrayConstructor(header.dtype);
    const rangeByteLength = header.rangeByteEnd - header.rangeByteStart;
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
    } else {
      this.#array = allocateTarget(header, ctor, rangeByteLength, shared);
    }
    this.#nextByteOffset = header.rangeByteStart + heldByteLength;
    this.#expectFirstByte(header);
    // A resumed stream's checksum covers the whole range: start from the bytes already held
    // (window by window: past 4 GiB no single view holds them).
    const checksum = createChecksum(header.checksumAlgorithm);
    this.#checksum = checksum;
    if (checksum) forEachByteWindow(this.#array, 0, heldByteLength, (w) => checksum.update(w));
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
    const target = byteWindow(this.#array, start, payload.byteLength);
    const checksum = this.#checksum;
    if (checksum === null) {
      target.set(payload);
    } else {
      // Copy and hash in cache-sized pieces, so the bytes are still in cache when hashed. Hashed
      // from the target, whose alignment follows the stream position (fast word reads).
      for (let p = 0; p < payload.byteLength; p += HASH_PIECE_BYTE_LENGTH) {
        const piece = payload.subarray(p, p + HASH_PIECE_BYTE_LENGTH);
        target.set(piece, p);
        checksum.update(target.subarray(p, p + piece.byteLength));
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
    const window = byteWindow(this.#array, start, byteLength);
    fill(window);
    this.#checksum?.update(window);
    this.#nextByteOffset = end;
  }

  /**
   * The target's free space from the next expected byte, at most `maxByteLength` long, for a
   * reader that fills memory in place and never transfers it (never a BYOB read: see
   * SCRATCH_BYTE_LENGTH in receive-stream.ts).
   */
  window(maxByteLength: number): Uint8Array {
    const start = this.#nextByteOffset - this.#header.rangeByteStart;
    return byteWindow(this.#array, start, Math.min(this.#array.byteLength - start, maxByteLength));
  }

  /**
   * Accounts for bytes a reader put at the start of the window {@link window} returned (or of
   * the rest of it, window by window, in order), and hashes them while they are in cache.
   * @throws {RangeError} when `filled` is not the target's memory at the next expected byte, or
   *   runs past the range (a reader bug).
   */
  commit(filled: Uint8Array): void {
    const start = this.#nextByteOffset - this.#header.rangeByteStart;
    if (
      filled.buffer !== this.#array.buffer ||
      filled.byteOffset !== this.#array.byteOffset + start ||
      start + filled.byteLength > this.#array.byteLength
    ) {
      throw new RangeError(
        `commit: expected a view at byte ${start} of the ${this.#array.byteLength}-byte target, got ${filled.byteLength} bytes at another place`,
      );
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

/**
 * A new target of `byteLength` bytes. The runtime refuses lengths past its typed array cap (Node
 * 20: 2^32 elements) or memory it cannot get with a RangeError, thrown before anything is
 * held; that becomes a StreamError E_ALLOCATION_FAILED naming the size, so the stream fails at
 * its header with nothing allocated, instead of with a bare RangeError.
 * @throws {@link StreamError} E_ALLOCATION_FAILED.
 */
function allocateTarget(
  header: ArrayHeaderMessage,
  ctor: TypedArrayConstructor,
  byteLength: number,
  shared: boolean,
): TypedArray {
  const length = byteLength / ctor.BYTES_PER_ELEMENT;
  try {
    return shared ? new ctor(new SharedArrayBuffer(byteLength), 0, length) : new ctor(length);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new StreamError(
      "E_ALLOCATION_FAILED",
      `Cannot allocate the target: expected room for ${byteLength} bytes (${length} ${header.dtype} elements${shared ? ", shared" : ""}), but this runtime refused (${err.message}). Its limit is the largest typed array it makes (Node 20: 2^32 elements, buffer.constants.MAX_LENGTH) or the memory it can get; fetch a range of the array instead`,
      header.streamId,
      { cause: err },
    );
  }
}
