/**
 * An incremental decoder of HTTP/1.1 chunked transfer-coding (RFC 9112 section 7.1):
 * `chunk-size [ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF`. Framing bytes are parsed one at a
 * time; chunk data is handed on in bulk, as subarrays of the input (no copy), and while the decoder
 * sits inside a chunk's data, {@link ChunkedDecoder.dataByteLength} says how many of the next bytes
 * on the wire are data, so the socket reader can read them straight into the caller's target.
 */
import { MAX_HEAD_BYTE_LENGTH } from "./http1-head.ts";
import { NodeSocketError } from "./node-socket-error.ts";

/** Longest chunk-size line (size and extensions) accepted: 4 KiB. */
export const MAX_CHUNK_LINE_BYTE_LENGTH = 4096;
/** Most hex digits in a chunk size: 13 keeps it below 2^52, a safe integer. */
const MAX_SIZE_DIGITS = 13;

const SIZE = 0;
const EXT = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER_START = 6;
const TRAILER = 7;
const TRAILER_LF = 8;
const END_LF = 9;
const DONE = 10;

const CR = 13;
const LF = 10;

function badChunk(what: string): NodeSocketError {
  return new NodeSocketError("EBADCHUNK", `Invalid chunked body: ${what}`);
}

/** Value of a hex digit byte, or -1. */
function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** True for a control byte other than HTAB (CR and LF included). */
function isControl(byte: number): boolean {
  return (byte < 0x20 && byte !== 9) || byte === 0x7f;
}

/** Decodes one chunked body. After an error the decoder is dead: decode throws again. */
export class ChunkedDecoder {
  #state = SIZE;
  #size = 0;
  #digits = 0;
  #lineByteLength = 0;
  #dataLeft = 0;
  #trailerByteLength = 0;
  #failure: NodeSocketError | null = null;

  /** True once the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** How many of the next bytes on the wire are chunk data: 0 while framing comes next. */
  get dataByteLength(): number {
    return this.#state === DATA ? this.#dataLeft : 0;
  }

  /**
   * Accounts for `byteLength` data bytes read straight into the target (past the decoder).
   * @throws {RangeError} when that is more than {@link dataByteLength}.
   */
  skipData(byteLength: number): void {
    if (byteLength > this.dataByteLength) {
      throw new RangeError(`skipData: expected at most ${this.dataByteLength} bytes, got ${byteLength}`);
    }
    this.#dataLeft -= byteLength;
    if (this.#state === DATA && this.#dataLeft === 0) this.#state = DATA_CR;
  }

  /**
   * Decodes the next bytes, calling `onData` with each run of chunk data (a subarray of `bytes`).
   * Returns how many bytes belong to the body: all of them, unless the body ended inside `bytes`.
   * @throws {@link NodeSocketError} EBADCHUNK for malformed framing, a size over 2^52, a size line
   *   over 4 KiB, or trailers over 64 KiB.
   */
  decode(bytes: Uint8Array, onData: (data: Uint8Array) => void): number {
    if (this.#failure) throw this.#failure;
    try {
      return this.#decode(bytes, onData);
    } catch (err) {
      if (err instanceof NodeSocketError) this.#failure = err;
      throw err;
    }
  }

  #decode(bytes: Uint8Array, onData: (data: Uint8Array) => void): number {
    let i = 0;
    const n = bytes.byteLength;
    while (i < n && this.#state !== DONE) {
      if (this.#state === DATA) {
        const take = Math.min(this.#dataLeft, n - i);
        onData(bytes.subarray(i, i + take));
        i += take;
        this.#dataLeft -= take;
        if (this.#dataLeft === 0) this.#state = DATA_CR;
        continue;
      }
      this.#step(bytes[i] as number);
      i++;
    }
    return i;
  }

  #step(byte: number): void {
    switch (this.#state) {
      case SIZE: {
        if (byte !== CR) this.#countLineByte();
        const digit = hexValue(byte);
        if (digit >= 0) {
          if (++this.#digits > MAX_SIZE_DIGITS) throw badChunk(`a chunk size of at most ${MAX_SIZE_DIGITS} hex digits`);
          this.#size = this.#size * 16 + digit;
          return;
        }
        if (this.#digits === 0) throw badChunk(`expected a hex chunk size, got byte ${byte}`);
        if (byte === CR) this.#state = SIZE_LF;
        else if (byte === 0x3b || byte === 0x20 || byte === 9)
          this.#state = EXT; // ";", or BWS before it
        else throw badChunk(`expected a hex digit, ";" or CRLF after the chunk size, got byte ${byte}`);
        return;
      }
      case EXT:
        if (byte === CR) {
          this.#state = SIZE_LF;
          return;
        }
        this.#countLineByte();
        if (isControl(byte)) throw badChunk(`expected chunk extensions without control bytes, got byte ${byte}`);
        return;
      case SIZE_LF:
        if (byte !== LF) throw badChunk(`expected LF after CR in a chunk-size line, got byte ${byte}`);
        this.#lineByteLength = 0;
        this.#digits = 0;
        if (this.#size === 0) {
          this.#state = TRAILER_START;
        } else {
          this.#dataLeft = this.#size;
          this.#size = 0;
          this.#state = DATA;
        }
        return;
      case DATA_CR:
        if (byte !== CR) throw badChunk(`expected CRLF after chunk data, got byte ${byte}`);
        this.#state = DATA_LF;
        return;
      case DATA_LF:
        if (byte !== LF) throw badChunk(`expected CRLF after chunk data, got byte ${byte}`);
        this.#state = SIZE;
        return;
      default:
        this.#stepTrailer(byte);
    }
  }

  /** Counts one byte of a chunk-size line (CRLF not included). */
  #countLineByte(): void {
    if (++this.#lineByteLength > MAX_CHUNK_LINE_BYTE_LENGTH) {
      throw badChunk(`a chunk-size line over ${MAX_CHUNK_LINE_BYTE_LENGTH} bytes`);
    }
  }

  /** The trailer section after the last chunk: field lines, then an empty line. Contents are ignored. */
  #stepTrailer(byte: number): void {
    if (++this.#trailerByteLength > MAX_HEAD_BYTE_LENGTH) throw badChunk(`trailers over ${MAX_HEAD_BYTE_LENGTH} bytes`);
    switch (this.#state) {
      case TRAILER_START:
        if (byte === CR) this.#state = END_LF;
        else if (isControl(byte)) throw badChunk(`expected a trailer field or CRLF, got byte ${byte}`);
        else this.#state = TRAILER;
        return;
      case TRAILER:
        if (byte === CR) this.#state = TRAILER_LF;
        else if (isControl(byte)) throw badChunk(`expected a trailer field without control bytes, got byte ${byte}`);
        return;
      case TRAILER_LF:
      case END_LF:
        if (byte !== LF) throw badChunk(`expected LF after CR in the trailer section, got byte ${byte}`);
        this.#state = this.#state === END_LF ? DONE : TRAILER_START;
        return;
    }
  }
}
