/**
 * Published sources by name. Each publish is an entry with its own id (which keeps identical
 * opens of two publishes apart) and the way its generation is found: a published typed array's
 * generation is known at publish (from its version) or once its bytes are hashed (in slices, after
 * publish() returned); an ArraySource's arrays name theirs when they open (SourceArray.version),
 * or take the entry's id, a per-process number (server/generation.ts). Names are only map keys:
 * they never reach the file system.
 */
import { GenerationCounter } from "./generation.ts";
import type { ArraySource } from "./sources.ts";

/** One published name. */
export interface Entry {
  /** Unique among this process's publishes; the generation of opened arrays that name no version. */
  readonly id: number;
  readonly source: ArraySource;
  /**
   * A published typed array's generation (settles once its content is hashed); null for an
   * ArraySource, whose opened arrays carry their own.
   */
  readonly generation: Promise<number> | null;
}

export class Registry {
  readonly #entries = new Map<string, Entry>();
  readonly #ids = new GenerationCounter();

  /**
   * Publishes `source` under `name` (checked by ArrayServer.publish), replacing what was there.
   * @param generation see {@link Entry.generation}.
   */
  publish(name: string, source: ArraySource, generation: Promise<number> | null = null): void {
    // Each acquirer awaits it; this keeps one nobody asked for yet from being unhandled.
    generation?.catch(() => {});
    this.#entries.set(name, { id: this.#ids.next(), source, generation });
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
