/**
 * The server-wide budget of bytes that open array sources hold (SourceContext.reserve): checked
 * before a source allocates, given back when the last stream on the array ends. Sources that
 * hold nothing (published arrays, generators) reserve nothing.
 */
import { StreamError } from "../shared/index.ts";

export class SourceBudget {
  readonly #maxByteLength: number;
  #usedByteLength = 0;

  constructor(maxByteLength: number) {
    this.#maxByteLength = maxByteLength;
  }

  /** Bytes reserved now. */
  get usedByteLength(): number {
    return this.#usedByteLength;
  }

  /**
   * Reserves `byteLength` bytes.
   * @throws {@link StreamError} E_BUSY when they do not fit (nothing is reserved then).
   * @throws {TypeError} for a byteLength that is not a non-negative safe integer.
   */
  reserve(byteLength: number): void {
    if (!Number.isSafeInteger(byteLength) || byteLength < 0) {
      throw new TypeError(`Invalid reserve(): expected a non-negative byte length, got ${byteLength}`);
    }
    if (this.#usedByteLength + byteLength > this.#maxByteLength) {
      throw new StreamError(
        "E_BUSY",
        `Server busy: array sources hold ${this.#usedByteLength} of ${this.#maxByteLength} bytes (maxSourceBytes) and ${byteLength} more do not fit; retry later`,
      );
    }
    this.#usedByteLength += byteLength;
  }

  release(byteLength: number): void {
    this.#usedByteLength -= byteLength;
  }
}
