/**
 * Published sources by name. Each publish gets a new generation number, which a resuming client
 * must name, so a resume never mixes bytes of two different arrays. Names are only map keys: they
 * never reach the file system.
 */
import type { LiveArray } from "./live.ts";
import type { ArraySource } from "./sources.ts";

/** What kind of thing a name publishes (listed by discovery, docs/PROTOCOL.md §18). */
export type EntryKind = "array" | "source" | "live";

/** One published name. */
export interface Entry {
  readonly generation: number;
  readonly source: ArraySource;
  readonly kind: EntryKind;
  /** The live array, for kind "live". */
  readonly live: LiveArray | null;
}

export class Registry {
  readonly #entries = new Map<string, Entry>();
  #generation = 0;

  /**
   * Publishes `source` under `name` (checked by ArrayServer.publish), replacing what was there
   * (which gets a new generation).
   */
  publish(name: string, source: ArraySource, kind: EntryKind = "source", live: LiveArray | null = null): void {
    // Generations start at 1 and wrap within u32; 0 is never used so a zeroed field never matches.
    this.#generation = (this.#generation % 0xffffffff) + 1;
    this.#entries.set(name, { generation: this.#generation, source, kind, live });
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

  /** Every entry, by name, in publish order. */
  entries(): [string, Entry][] {
    return [...this.#entries];
  }
}
