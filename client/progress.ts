/**
 * Progress reporting shared by both transports: throttled to one call per interval (default
 * 50 ms) so a 400 MB stream costs a few dozen callbacks, plus a final call at the total.
 */

/** Progress of one stream. */
export interface Progress {
  /** Bytes of the range held so far. */
  receivedByteLength: number;
  /** Byte length of the range (the whole array unless a range was asked for). */
  totalByteLength: number;
  /** Mean rate since the request, in bytes per second. */
  bytesPerSecond: number;
  /** Milliseconds since the request. */
  elapsedMs: number;
}

export class ProgressReporter {
  readonly #onProgress: ((progress: Progress) => void) | undefined;
  readonly #intervalMs: number;
  readonly #startedAt = performance.now();
  #lastAt = Number.NEGATIVE_INFINITY;

  constructor(onProgress: ((progress: Progress) => void) | undefined, intervalMs = 50) {
    this.#onProgress = onProgress;
    this.#intervalMs = intervalMs;
  }

  /** Reports, unless the last report was less than the interval ago (`final` always reports). */
  report(receivedByteLength: number, totalByteLength: number, final = false): void {
    if (!this.#onProgress) return;
    const now = performance.now();
    if (!final && now - this.#lastAt < this.#intervalMs) return;
    this.#lastAt = now;
    const elapsedMs = now - this.#startedAt;
    this.#onProgress({
      receivedByteLength,
      totalByteLength,
      bytesPerSecond: elapsedMs > 0 ? (receivedByteLength * 1000) / elapsedMs : 0,
      elapsedMs,
    });
  }
}
