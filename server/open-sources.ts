/**
 * Arrays opened from sources, shared by concurrent identical requests (the same publish and name,
 * same params by a canonical key that tells -0 from 0 and ignores key order) and
 * refcounted: the array closes, its signal aborts and its reservation is released when the last
 * stream on it ends. A failed open is forgotten at once, so the next request tries again.
 */
import type { JsonObject, JsonValue } from "../shared/index.ts";
import type { Hooks } from "./hooks.ts";
import type { SourceBudget } from "./source-budget.ts";
import { type ArrayDescription, type ArraySource, describeSourceArray, type SourceArray } from "./sources.ts";

/** An opened array held for one stream; release it exactly once when the stream ends. */
export interface SourceLease {
  readonly array: SourceArray;
  readonly description: ArrayDescription;
  release(): void;
}

interface Shared {
  readonly key: string;
  refs: number;
  /** No stream wants it any more. */
  ended: boolean;
  /** open() has resolved or rejected. */
  settled: boolean;
  reservedByteLength: number;
  readonly controller: AbortController;
  array: SourceArray | null;
  ready: Promise<{ array: SourceArray; description: ArrayDescription }>;
}

/**
 * A key for `value` that is equal exactly when the values are: object keys sorted, -0 apart from
 * 0 (JSON.stringify writes both as 0).
 */
export function canonicalKey(value: JsonValue | null): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalKey).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalKey(value[k] as JsonValue)}`).join(",")}}`;
}

export class OpenSources {
  readonly #shared = new Map<string, Shared>();
  readonly #budget: SourceBudget;
  readonly #hooks: Hooks;

  constructor(budget: SourceBudget, hooks: Hooks) {
    this.#budget = budget;
    this.#hooks = hooks;
  }

  /** Arrays open or opening. */
  get count(): number {
    return this.#shared.size;
  }

  /** Bytes the open arrays reserved (SourceContext.reserve). */
  get reservedByteLength(): number {
    return this.#budget.usedByteLength;
  }

  /**
   * Opens `source` for `params` (or joins an identical open), for `name` of the publish `entryId`
   * (names under one publishDirectory share an entry id, so the name is part of the key).
   * Rejects with the source's error, or the signal's reason once `signal` aborts (which gives
   * this request's share back at once).
   */
  acquire(
    entryId: number,
    name: string,
    source: ArraySource,
    params: JsonObject | null,
    signal: AbortSignal,
  ): Promise<SourceLease> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const key = `${entryId}:${JSON.stringify(name)}:${canonicalKey(params)}`;
    const shared = this.#shared.get(key) ?? this.#open(key, source, params);
    shared.refs++;
    let released = false;
    return new Promise((resolve, reject) => {
      const release = () => {
        if (released) return;
        released = true;
        signal.removeEventListener("abort", onAbort);
        shared.refs--;
        if (shared.refs === 0) this.#end(shared);
      };
      const onAbort = () => {
        release();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      shared.ready.then(
        ({ array, description }) => {
          if (released) return;
          signal.removeEventListener("abort", onAbort);
          resolve({ array, description, release });
        },
        (err: unknown) => {
          if (released) return;
          release();
          reject(err);
        },
      );
    });
  }

  #open(key: string, source: ArraySource, params: JsonObject | null): Shared {
    const shared: Shared = {
      key,
      refs: 0,
      ended: false,
      settled: false,
      reservedByteLength: 0,
      controller: new AbortController(),
      array: null,
      ready: Promise.resolve() as never,
    };
    const context = {
      reserve: (byteLength: number) => {
        if (shared.ended && shared.settled) throw new TypeError("reserve() called after the array closed");
        this.#budget.reserve(byteLength); // E_BUSY before the source allocates
        shared.reservedByteLength += byteLength;
      },
      signal: shared.controller.signal,
      // Later requests open afresh; the streams on this array keep their lease.
      invalidate: () => this.#forget(shared),
    };
    this.#shared.set(key, shared);
    shared.ready = this.#hooks.openSource(source, params, context).then(
      (array) => {
        shared.settled = true;
        let description: ArrayDescription;
        try {
          description = describeSourceArray(array);
        } catch (err) {
          this.#hooks.closeSource(array);
          this.#forget(shared);
          this.#releaseBytes(shared);
          throw err;
        }
        if (shared.ended) {
          this.#hooks.closeSource(array);
          this.#releaseBytes(shared);
        } else {
          shared.array = array;
        }
        return { array, description };
      },
      (err: unknown) => {
        shared.settled = true;
        this.#forget(shared);
        this.#releaseBytes(shared);
        throw err;
      },
    );
    // Each acquirer handles the rejection; this keeps one nobody waits for any more from being unhandled.
    shared.ready.catch(() => {});
    return shared;
  }

  #end(shared: Shared): void {
    shared.ended = true;
    this.#forget(shared);
    shared.controller.abort();
    if (shared.array !== null) {
      this.#hooks.closeSource(shared.array);
      shared.array = null;
      this.#releaseBytes(shared);
    }
    // Still opening: closed and released when open() settles.
  }

  #forget(shared: Shared): void {
    if (this.#shared.get(shared.key) === shared) this.#shared.delete(shared.key);
  }

  #releaseBytes(shared: Shared): void {
    this.#budget.release(shared.reservedByteLength);
    shared.reservedByteLength = 0;
  }
}
