/**
 * Scratch buffers that sources fill (SourceArray.read), reused once the socket has written them.
 * A buffer goes back only after ws's send callback (or the HTTP write callback) fired, so a chunk
 * is never overwritten while it waits in the socket. What the pool keeps is bounded (at most
 * `maxFreeByteLength` bytes and MAX_FREE_BUFFERS buffers); what is out is bounded by the
 * transport's queue cap, since every chunk out is counted there.
 */

/** Most free buffers kept (small credit-sized ones could otherwise pile up). */
const MAX_FREE_BUFFERS = 16;
/** Bytes of slack per buffer, so a view can start at any offset modulo 8. */
const ALIGN_SLACK = 7;

export class ScratchPool {
  readonly #maxFreeByteLength: number;
  readonly #free: ArrayBuffer[] = [];
  #freeByteLength = 0;

  constructor(maxFreeByteLength: number) {
    this.#maxFreeByteLength = maxFreeByteLength;
  }

  /**
   * A view of exactly `byteLength` bytes whose byteOffset is congruent to `alignWith` modulo 8,
   * so that a source filling bytes from array offset `alignWith` can use typed views at element
   * boundaries.
   */
  take(byteLength: number, alignWith = 0): Uint8Array {
    const shift = alignWith % 8;
    const need = byteLength + shift;
    for (let i = this.#free.length - 1; i >= 0; i--) {
      const buffer = this.#free[i] as ArrayBuffer;
      if (buffer.byteLength >= need) {
        this.#free[i] = this.#free[this.#free.length - 1] as ArrayBuffer;
        this.#free.pop();
        this.#freeByteLength -= buffer.byteLength;
        return new Uint8Array(buffer, shift, byteLength);
      }
    }
    return new Uint8Array(new ArrayBuffer(byteLength + ALIGN_SLACK), shift, byteLength);
  }

  /** Gives a buffer from {@link take} back (once nothing reads it any more). */
  give(scratch: Uint8Array): void {
    const buffer = scratch.buffer as ArrayBuffer;
    if (this.#free.length >= MAX_FREE_BUFFERS || this.#freeByteLength + buffer.byteLength > this.#maxFreeByteLength) {
      return; // over the pool's bound: the garbage collector takes it
    }
    this.#free.push(buffer);
    this.#freeByteLength += buffer.byteLength;
  }

  /** Lets go of every buffer kept (an idle connection holds none). */
  clear(): void {
    this.#free.length = 0;
    this.#freeByteLength = 0;
  }

  /** Bytes kept for reuse. */
  get freeByteLength(): number {
    return this.#freeByteLength;
  }
}
