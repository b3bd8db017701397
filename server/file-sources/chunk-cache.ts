/**
 * Decoded chunks of a Zarr source, least recently used first out, bounded by bytes (the bound is
 * reserved against the server's maxSourceBytes when the source opens). Loads of one chunk by
 * several streams are shared, and at most `maxLoads` run at a time, so decoding memory is bounded
 * too: `maxLoads` x (encoded + decoded chunk) on top of the cache.
 */

export class ChunkCache<T extends { readonly byteLength: number }> {
  readonly #maxByteLength: number;
  readonly #maxLoads: number;
  readonly #entries = new Map<string, T>();
  readonly #loading = new Map<string, Promise<T>>();
  readonly #waiting: (() => void)[] = [];
  #byteLength = 0;
  #running = 0;

  constructor(maxByteLength: number, maxLoads: number) {
    this.#maxByteLength = maxByteLength;
    this.#maxLoads = maxLoads;
  }

  /** Bytes held. */
  get byteLength(): number {
    return this.#byteLength;
  }

  /** The chunk if cached (and marks it recently used), else undefined. */
  peek(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** The chunk, from the cache or loaded by `load` (one load per key at a time, `maxLoads` in all). */
  get(key: string, load: () => Promise<T>): T | Promise<T> {
    const cached = this.peek(key);
    if (cached !== undefined) return cached;
    let pending = this.#loading.get(key);
    if (pending === undefined) {
      pending = this.#load(key, load);
      this.#loading.set(key, pending);
    }
    return pending;
  }

  async #load(key: string, load: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#maxLoads) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      const value = await load();
      this.#insert(key, value);
      return value;
    } finally {
      this.#running--;
      this.#loading.delete(key);
      this.#waiting.shift()?.();
    }
  }

  #insert(key: string, value: T): void {
    this.#entries.set(key, value);
    this.#byteLength += value.byteLength;
    for (const [oldKey, old] of this.#entries) {
      if (this.#byteLength <= this.#maxByteLength || oldKey === key) break;
      this.#entries.delete(oldKey);
      this.#byteLength -= old.byteLength;
    }
  }

  /** Drops every chunk. */
  clear(): void {
    this.#entries.clear();
    this.#byteLength = 0;
  }
}
