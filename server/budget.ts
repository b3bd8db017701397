/**
 * A byte budget shared by every connection of a server: the bytes handed to sockets and not yet
 * written. Past it, connections stop pumping until some bytes drain, so many slow clients cannot
 * make the server queue without bound.
 */
export class InFlightBudget {
  readonly #maxByteLength: number;
  readonly #waiting = new Set<() => void>();
  #usedByteLength = 0;

  constructor(maxByteLength: number) {
    this.#maxByteLength = maxByteLength;
  }

  /** True while there is room for more bytes. */
  get available(): boolean {
    return this.#usedByteLength < this.#maxByteLength;
  }

  acquire(byteLength: number): void {
    this.#usedByteLength += byteLength;
  }

  /** Gives bytes back and wakes the connections that waited for room. */
  release(byteLength: number): void {
    this.#usedByteLength -= byteLength;
    if (this.available && this.#waiting.size > 0) {
      const waiting = [...this.#waiting];
      this.#waiting.clear();
      for (const wake of waiting) wake();
    }
  }

  /** Calls `wake` once, the next time bytes are released while there is room. */
  wait(wake: () => void): void {
    this.#waiting.add(wake);
  }

  forget(wake: () => void): void {
    this.#waiting.delete(wake);
  }
}
