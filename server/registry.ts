/**
 * Published sources by name. Each publish is an entry with its own id (which keeps identical
 * opens of two publishes apart) and the way its generation is found: a published typed array's
 * generation is known at publish (from its version) or once its bytes are hashed (in slices, after
 * publish() returned); an ArraySource's arrays name theirs when they open (SourceArray.version:
 * the file sources' is their file's identity), or take the entry's id, a per-process number
 * (server/generation.ts). Names are only map keys: they never reach the file system, except
 * through a mount (publishDirectory), whose resolver maps the rest of a name to a file under its
 * own root and nowhere else.
 */

import { GenerationCounter } from "./generation.ts";
import type { LiveArray } from "./live.ts";
import type { ArraySource } from "./sources.ts";

/** What kind of thing a name publishes (listed by discovery, docs/PROTOCOL.md §18). */
export type EntryKind = "array" | "source" | "live";

/** One published name. */
export interface Entry {
  /** Unique among this process's publishes; the generation of opened arrays that name no version. */
  readonly id: number;
  readonly source: ArraySource;
  /**
   * A published typed array's generation (settles once its content is hashed); null for an
   * ArraySource, whose opened arrays carry their own, and for a live array (its id: it grows).
   */
  readonly generation: Promise<number> | null;
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
  /** The entry id its names share (their files name their own generations by their versions). */
  readonly id: number;
  readonly resolver: NameResolver;
}

export class Registry {
  readonly #entries = new Map<string, Entry>();
  readonly #ids = new GenerationCounter();
  /** Longest prefix first, so that "data/raw/" wins over "data/". */
  #mounts: Mount[] = [];

  /**
   * Publishes `source` under `name` (checked by ArrayServer.publish), replacing what was there.
   * @param generation see {@link Entry.generation}.
   */
  publish(
    name: string,
    source: ArraySource,
    kind: EntryKind = "source",
    generation: Promise<number> | null = null,
    live: LiveArray | null = null,
  ): void {
    // Each acquirer awaits it; this keeps one nobody asked for yet from being unhandled.
    generation?.catch(() => {});
    this.#entries.set(name, { id: this.#ids.next(), source, generation, kind, live });
  }

  /** Publishes every name that starts with `prefix` (and is longer) through `resolver`, replacing a mount of that prefix. */
  mount(prefix: string, resolver: NameResolver): void {
    const mounts = this.#mounts.filter((m) => m.prefix !== prefix);
    mounts.push({ prefix, id: this.#ids.next(), resolver });
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
        return source === undefined
          ? undefined
          : { id: mount.id, source, generation: null, kind: "source", live: null };
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
