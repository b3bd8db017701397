/**
 * The datasets of issue 12's compression measurements, deterministic (seeded PRNG), as typed
 * arrays: noisy sensor, smooth, random walk (float32), integer-like, integer-smooth, quantised,
 * uniform random and random bits. Generators as in the research (research/datasets.ts on the
 * compress worktree), so the ratios compare.
 */
import type { TypedArray } from "../shared/index.ts";

/** mulberry32: small, fast, seeded uniform [0, 1). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal via Box-Muller over `uniform`. */
function gaussian(seed: number): () => number {
  const u = uniform(seed);
  let spare = Number.NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = Number.NaN;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const th = 2 * Math.PI * u();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}

/** A few slow sines: a sensor-like baseline around 20. */
function smooth(i: number): number {
  return 20 + 5 * Math.sin(i / 15_000) + 1.5 * Math.sin(i / 1_300 + 1) + 0.3 * Math.sin(i / 97 + 2);
}

const GENERATORS = {
  "noisy-sensor-f64": (n: number) => {
    const g = gaussian(1);
    return Float64Array.from({ length: n }, (_, i) => smooth(i) + 0.05 * g());
  },
  "smooth-f64": (n: number) => Float64Array.from({ length: n }, (_, i) => smooth(i)),
  "random-walk-f32": (n: number) => {
    const g = gaussian(2);
    let w = 0;
    return Float32Array.from({ length: n }, () => {
      w += g();
      return w;
    });
  },
  "integer-like-f64": (n: number) => {
    const g = gaussian(3);
    return Float64Array.from({ length: n }, (_, i) => Math.round(100 * smooth(i) + 20 * g()));
  },
  "integer-smooth-f64": (n: number) => Float64Array.from({ length: n }, (_, i) => Math.round(100 * smooth(i))),
  "quantised-f64": (n: number) => {
    const levels = [0.125, 1.7, 3.25, -2.5, 42.42, 7.0001];
    const u = uniform(4);
    return Float64Array.from({ length: n }, () => levels[Math.floor(u() * levels.length)] as number);
  },
  "uniform-random-f64": (n: number) => {
    // 53 random bits per value.
    const u = uniform(5);
    return Float64Array.from(
      { length: n },
      () => (Math.floor(u() * 2 ** 21) * 2 ** 32 + Math.floor(u() * 2 ** 32)) / 2 ** 53,
    );
  },
  "random-bits-f64": (n: number) => {
    // Every bit random (incompressible): the server must send it raw.
    const u = uniform(6);
    const words = Uint32Array.from({ length: n * 2 }, () => Math.floor(u() * 2 ** 32));
    return new Float64Array(words.buffer);
  },
} satisfies Record<string, (n: number) => TypedArray>;

export type LinkDatasetName = keyof typeof GENERATORS;
export const LINK_DATASETS = Object.keys(GENERATORS) as LinkDatasetName[];

/**
 * One dataset of `n` elements.
 * @throws {RangeError} for an unknown name.
 */
export function makeLinkDataset(name: string, n: number): TypedArray {
  const make = (GENERATORS as Record<string, (n: number) => TypedArray>)[name];
  if (!make) throw new RangeError(`makeLinkDataset: expected one of ${LINK_DATASETS.join(", ")}, got ${name}`);
  return make(n);
}
