/**
 * Progress of one fetch, over all its attempts: throttled to one report per interval (default
 * 50 ms) so a 400 MB stream costs a few dozen callbacks, plus a final report at the total. The
 * reporter only decides when to report and what; the stream calls the caller's onProgress
 * through its guard (client/guard.ts).
 */

/** Progress of one stream. */
export interface Progress {
  /** Bytes of the range held so far (bytes kept from an interrupted attempt included). */
  receivedByteLength: number;
  /** Byte length of the range (the whole array unless a range was asked for). */
  totalByteLength: number;
  /** Mean rate since the request, in bytes per second. */
  bytesPerSecond: number;
  /** Milliseconds since the request. */
  elapsedMs: number;
}

/** Decides when a progress report is due and builds it (elapsed time and rate since the first attempt). */
export class ProgressReporter {
  readonly #intervalMs: number;
  readonly #startedAt: number;
  #lastAt = Number.NEGATIVE_INFINITY;

  constructor(intervalMs: number, now = performance.now()) {
    this.#intervalMs = intervalMs;
    this.#startedAt = now;
  }

  /** The report to make at `now`, or null when the last one was less than the interval ago (`final` always reports). */
  next(now: number, receivedByteLength: number, totalByteLength: number, final: boolean): Progress | null {
    if (!final && now - this.#lastAt < this.#intervalMs) return null;
    this.#lastAt = now;
    const elapsedMs = now - this.#startedAt;
    return {
      receivedByteLength,
      totalByteLength,
      bytesPerSecond: elapsedMs > 0 ? (receivedByteLength * 1000) / elapsedMs : 0,
      elapsedMs,
    };
  }
}
