/**
 * Generations that name an array's content, not the order of publishes, so that every server
 * process publishing the same array under the same name gives it the same generation, and a
 * resume moved to any of them is valid (docs/DEPLOY.md §1, docs/PROTOCOL.md §10.2):
 *
 *   generation = nz(XXH32(utf8("arraywire.v1\0" + dtype + "\0" + shape.join(",") + "\0" + metaJson
 *                               + "\0" + identity)))
 *
 * where `identity` is `"version\0" + version` for a publisher's own version string (a release
 * tag, a file's hash, an object store's ETag), or `"xxh32\0" + 8 lower-case hex digits` of the
 * XXH32 of the array's bytes; `metaJson` is the header's meta as sent (JSON.stringify, "" for
 * none), so that equal generations mean equal header bytes too; and nz(h) = h || 1 (generation 0
 * never matches). A 32-bit collision between two contents of one name (2^-32 per republish) would
 * let a resume splice bytes of both; END's checksum, which covers the whole range including the
 * bytes held from before, then fails with E_CHECKSUM.
 */
import { type Dtype, type JsonObject, xxh32 } from "../shared/index.ts";

/** What a generation covers besides the identity: what the ARRAY_HEADER says about the array. */
export interface GenerationSubject {
  dtype: Dtype;
  shape: readonly number[];
  meta: JsonObject | null;
}

const encoder = new TextEncoder();

function generationOf(subject: GenerationSubject, identity: string): number {
  const meta = subject.meta === null ? "" : JSON.stringify(subject.meta);
  const text = `arraywire.v1\0${subject.dtype}\0${subject.shape.join(",")}\0${meta}\0${identity}`;
  return xxh32(encoder.encode(text)) || 1;
}

/** The generation of an array whose publisher (or source) names its content with `version`. */
export function versionGeneration(subject: GenerationSubject, version: string): number {
  return generationOf(subject, `version\0${version}`);
}

/** The generation of an array whose bytes have the XXH32 `contentXxh32`. */
export function contentGeneration(subject: GenerationSubject, contentXxh32: number): number {
  return generationOf(subject, `xxh32\0${(contentXxh32 >>> 0).toString(16).padStart(8, "0")}`);
}

/**
 * Generations for sources that name no version: a per-process counter (what every generation was
 * before they derived from content). It starts at a random point, so that two processes do not
 * hand out the same numbers for arrays that may differ: a resume of such an array moved to
 * another process gets E_GONE (and starts over) instead of splicing two arrays. Never 0.
 */
export class GenerationCounter {
  #next: number;

  /** @param start the first number (defaults to a random one); 0 counts as 1. */
  constructor(start = Math.floor(Math.random() * 0xffffffff)) {
    this.#next = start >>> 0 || 1;
  }

  /** The next generation: never 0, wrapping within u32. */
  next(): number {
    const generation = this.#next;
    this.#next = (this.#next % 0xffffffff) + 1;
    return generation;
  }
}
