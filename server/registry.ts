/**
 * Published sources by name. Each publish gets a new generation number, which a resuming client
 * must name, so a resume never mixes bytes of two different arrays. Names are only map keys: they
 * never reach the file system, except through a mount (publishDirectory), whose resolver maps the
 * rest of a name to a file under its own root and nowhere else.
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

/** Names under a prefix, resolved when they are requested (server/file-sources/directory.ts). */
export interface NameResolver {
  /** The source for `rest` (the name after the prefix), or undefined when it cannot name one. */
  resolve(rest: string): ArraySource | undefined;
}

/** A published prefix and what resolves the names under it. */
export interface Mount {
  readonly prefix: string;
  readonly generation: number;
  readonly resolver: NameResolver;
}

export class Registry {
  readonly #entries = new Map<string, Entry>();
  /** Longest prefix first, so that "data/raw/" wins over "data/". */
  #mounts: Mount[] = [];
  #generation = 0;

  #nextGeneration(): number {
    // Generations start at 1 and wrap within u32; 0 is never used so a zeroed field never matches.
    this.#generation = (this.#generation % 0xffffffff) + 1;
    return this.#generation;
  }

  /**
   * Publishes `source` under `name` (checked by ArrayServer.publish), replacing what was there
   * (which gets a new generation).
   */
  publish(name: string, source: ArraySource, kind: EntryKind = "source", live: LiveArray | null = null): void {
    this.#entries.set(name, { generation: this.#nextGeneration(), source, kind, live });
  }

  /** Publishes every name that starts with `prefix` (and is longer) through `resolver`, replacing a mount of that prefix. */
  mount(prefix: string, resolver: NameResolver): void {
    const mounts = this.#mounts.filter((m) => m.prefix !== prefix);
    mounts.push({ prefix, generation: this.#nextGeneration(), resolver });
    this.#mounts = mounts.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** Removes the name `name`, else the mount of prefix `name`; streams already running finish. Returns whether either was published. */
  unpublish(name: string): boolean {
    if (this.#entries.delete(name)) return true;
    const before = this.#mounts.length;
    this.#mounts = this.#mounts.filter((m) => m.prefix !== name);
    return this.#mounts.length < before;
  }

  /** The entry of `name`: a name published by itself first, else the longest mount prefix that resolves it. */
  get(name: string): Entry | undefined {
    const entry = this.#entries.get(name);
    if (entry) return entry;
    for (const mount of this.#mounts) {
      if (name.length > mount.prefix.length && name.startsWith(mount.prefix)) {
        const source = mount.resolver.resolve(name.slice(mount.prefix.length));
        return source === undefined ? undefined : { generation: mount.generation, source, kind: "source", live: null };
      }
    }
    return undefined;
  }

  /** Names published by themselves (not the names under mounts: see {@link mounts}). */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** Every entry published by itself, by name, in publish order (not the names under mounts). */
  entries(): [string, Entry][] {
    return [...this.#entries];
  }

  /** The mounts, longest prefix first. */
  mounts(): readonly Mount[] {
    return this.#mounts;
  }
}
