/**
 * The idle timeout of one stream attempt: fires when no byte arrived for `limitMs`. A byte costs
 * one performance.now() (touch), not a timer reset: the one timer, when it fires early because
 * bytes came since, re-arms for the time left.
 */
export class IdleTimer {
  readonly #limitMs: number;
  readonly #onIdle: (quietMs: number) => void;
  #lastByteAt = performance.now();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Starts the timer; `limitMs` 0 never fires. `onIdle` gets how long the stream was quiet. */
  constructor(limitMs: number, onIdle: (quietMs: number) => void) {
    this.#limitMs = limitMs;
    this.#onIdle = onIdle;
    if (limitMs > 0) this.#timer = setTimeout(this.#check, limitMs);
  }

  /** Bytes arrived at `now` (a performance.now() reading). */
  touch(now = performance.now()): void {
    this.#lastByteAt = now;
  }

  /** Stops the timer for good. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    const quiet = performance.now() - this.#lastByteAt;
    if (quiet < this.#limitMs) {
      this.#timer = setTimeout(this.#check, Math.ceil(this.#limitMs - quiet));
      return;
    }
    this.#onIdle(quiet);
  };
}
