/**
 * Published arrays by name. Each publish gets a new generation number, which a resuming client
 * must name, so a resume never mixes bytes of two different arrays. Names are only map keys: they
 * never reach the file system.
 */
import { type ChecksumAlgorithm, encodeName, type JsonObject } from "../shared/index.ts";
import { checksumInSlices } from "./checksum-slices.ts";
import { type ArraySource, checkResolved, type ResolvedArray } from "./sources.ts";

/** One published name. */
class Entry {
  readonly generation: number;
  readonly #source: ArraySource;
  /** Checksums per (array bytes, range), computed once and shared by every stream. */
  readonly #checksums = new WeakMap<ArrayBuffer | SharedArrayBuffer, Map<string, Promise<number>>>();

  constructor(generation: number, source: ArraySource) {
    this.generation = generation;
    this.#source = source;
  }

  resolve(params: JsonObject | null): Promise<ResolvedArray> {
    return Promise.resolve(this.#source.resolve(params));
  }

  /**
   * Checksum of bytes [start, end) of `bytes`. Whole-array checksums are cached per algorithm and
   * shared by every stream; ranges are computed for their stream alone, so a client asking for
   * ever new ranges cannot grow the cache.
   */
  checksumOf(algorithm: ChecksumAlgorithm, bytes: Uint8Array, start: number, end: number): Promise<number> {
    if (start !== 0 || end !== bytes.byteLength) return checksumInSlices(algorithm, bytes.subarray(start, end));
    let byRange = this.#checksums.get(bytes.buffer);
    if (!byRange) {
      byRange = new Map();
      this.#checksums.set(bytes.buffer, byRange);
    }
    const key = `${algorithm}:${bytes.byteOffset}:${start}:${end}`;
    let crc = byRange.get(key);
    if (!crc) {
      crc = checksumInSlices(algorithm, bytes.subarray(start, end));
      byRange.set(key, crc);
    }
    return crc;
  }
}

export class Registry {
  readonly #entries = new Map<string, Entry>();
  #generation = 0;

  /**
   * Publishes `source` under `name`, replacing what was there (which gets a new generation).
   * @throws {TypeError} for a name of 0 or over MAX_NAME_BYTES bytes, or a fixed array whose shape does not match.
   */
  publish(name: string, source: ArraySource | ResolvedArray): Entry {
    encodeName(name, (message) => new TypeError(message));
    let arraySource: ArraySource;
    if ("resolve" in source && typeof source.resolve === "function") {
      arraySource = source;
    } else {
      const fixed = source as ResolvedArray;
      checkResolved(fixed);
      arraySource = { resolve: () => fixed };
    }
    // Generations start at 1 and wrap within u32; 0 is never used so a zeroed field never matches.
    this.#generation = (this.#generation % 0xffffffff) + 1;
    const entry = new Entry(this.#generation, arraySource);
    this.#entries.set(name, entry);
    return entry;
  }

  /** Removes `name`; streams already running finish. Returns whether it was published. */
  unpublish(name: string): boolean {
    return this.#entries.delete(name);
  }

  get(name: string): Entry | undefined {
    return this.#entries.get(name);
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }
}
