import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import xxhash from "xxhash-wasm";
import { Xxh32, xxh32 } from "./xxh32.ts";

/** XXH32 with seed 0 from the reference C implementation (xxhash-wasm compiles it to WebAssembly). */
let reference: (bytes: Uint8Array) => number;

beforeAll(async () => {
  const { h32Raw } = await xxhash();
  reference = (bytes) => h32Raw(bytes, 0) >>> 0;
});

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure is reproducible. */
function pseudoRandomBytes(byteLength: number, seed: number): Uint8Array {
  const out = new Uint8Array(byteLength);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < byteLength; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** `bytes` copied into a larger buffer at `byteOffset`, with 0xa5 around it, as a subarray. */
function placeAt(bytes: Uint8Array, byteOffset: number): Uint8Array {
  const host = new Uint8Array(byteOffset + bytes.byteLength + 11).fill(0xa5);
  host.set(bytes, byteOffset);
  return host.subarray(byteOffset, byteOffset + bytes.byteLength);
}

/** XXH32 of `bytes` fed to one Xxh32 in the pieces that `cuts` (sorted offsets) delimit. */
function inPieces(bytes: Uint8Array, cuts: readonly number[]): number {
  const hash = new Xxh32();
  const points = [0, ...cuts, bytes.byteLength];
  for (let i = 0; i + 1 < points.length; i++) hash.update(bytes.subarray(points[i], points[i + 1]));
  return hash.digest();
}

describe("xxh32", () => {
  it("gives the check values the spec and the docs state", () => {
    expect(xxh32(new Uint8Array(0))).toBe(0x02cc5d05);
    expect(xxh32(ascii("abc"))).toBe(0x32d153ff);
  });

  it("agrees with the reference on well-known strings", () => {
    for (const text of ["a", "123456789", "Nobody inspects the spammish repetition", "x".repeat(16)]) {
      expect(xxh32(ascii(text)), JSON.stringify(text)).toBe(reference(ascii(text)));
    }
    expect(xxh32(ascii("The quick brown fox jumps over the lazy dog"))).toBe(0xe85ea4de);
  });

  it("agrees with the reference on random data of every length from 0 to 300", () => {
    // Covers the short path (< 16 bytes), every stripe count up to 18 and every tail of 0..15
    // bytes (4-byte words, then single bytes).
    const data = pseudoRandomBytes(300, 1);
    for (let n = 0; n <= 300; n++) {
      const bytes = data.subarray(0, n);
      expect(xxh32(bytes), `length ${n}`).toBe(reference(bytes));
    }
  });

  it("agrees with the reference on bytes that set the sign bit of every lane", () => {
    // 0xff words make every multiply and rotate leave the int32 range: a check of the |0 / >>> 0 arithmetic.
    for (const n of [1, 3, 4, 15, 16, 17, 31, 32, 33, 64, 100]) {
      const bytes = new Uint8Array(n).fill(0xff);
      expect(xxh32(bytes), `length ${n}`).toBe(reference(bytes));
    }
  });

  it.each([
    ["64 KiB + 3", 64 * 1024 + 3],
    ["1 MiB", 1024 * 1024],
    ["4 MiB + 13", 4 * 1024 * 1024 + 13],
  ])("agrees with the reference on %s of random data", (_, byteLength) => {
    const data = pseudoRandomBytes(byteLength, byteLength);
    expect(xxh32(data)).toBe(reference(data));
  });

  it("agrees with the reference on random data at random byte offsets", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.integer({ min: 0, max: 15 }), (data, byteOffset) => {
        expect(xxh32(placeAt(data, byteOffset))).toBe(reference(data));
      }),
      { numRuns: 300 },
    );
  });

  it("gives the same result at every byteOffset from 0 to 8 (word and byte-by-byte reads)", () => {
    for (const byteLength of [0, 5, 16, 67, 1000]) {
      const data = pseudoRandomBytes(byteLength, 3);
      const expected = reference(data);
      for (let byteOffset = 0; byteOffset <= 8; byteOffset++) {
        const view = placeAt(data, byteOffset);
        expect(view.byteOffset).toBe(byteOffset);
        expect(xxh32(view), `length ${byteLength}, byteOffset ${byteOffset}`).toBe(expected);
      }
    }
  });

  it("reads only its own window of a shared buffer", () => {
    const host = new Uint8Array(64).fill(0xff);
    host.set(ascii("abc"), 5);
    expect(xxh32(host.subarray(5, 8))).toBe(0x32d153ff);
    // A window of whole stripes inside a larger buffer, at an aligned and an unaligned offset.
    const data = pseudoRandomBytes(48, 9);
    for (const at of [8, 9]) {
      const big = new Uint8Array(128).fill(0x5a);
      big.set(data, at);
      expect(xxh32(big.subarray(at, at + 48)), `at ${at}`).toBe(reference(data));
    }
  });

  it("does not modify its input", () => {
    const data = pseudoRandomBytes(70, 5);
    const copy = data.slice();
    xxh32(data.subarray(1));
    new Xxh32().update(data.subarray(3, 40)).update(data.subarray(40)).digest();
    expect(data).toEqual(copy);
  });

  it("always returns an unsigned 32-bit integer", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const value = xxh32(pseudoRandomBytes(seed, seed));
      expect(Number.isInteger(value)).toBe(true);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(0xffffffff);
    }
  });
});

describe("Xxh32 (incremental)", () => {
  it("gives the one-shot result for every two-piece split of a short input", () => {
    const data = pseudoRandomBytes(100, 11);
    const oneShot = reference(data);
    for (let split = 0; split <= data.byteLength; split++) {
      expect(inPieces(data, [split]), `split at ${split}`).toBe(oneShot);
    }
  });

  it("gives the one-shot result for every three-piece split of a 40-byte input", () => {
    // Pieces that fill the 16-byte carry partly, exactly, or overflow it into whole stripes.
    const data = pseudoRandomBytes(40, 12);
    const oneShot = reference(data);
    for (let a = 0; a <= data.byteLength; a++) {
      for (let b = a; b <= data.byteLength; b++) {
        expect(inPieces(data, [a, b]), `splits at ${a} and ${b}`).toBe(oneShot);
      }
    }
  });

  it("gives the one-shot result one byte at a time", () => {
    const data = pseudoRandomBytes(77, 13);
    const hash = new Xxh32();
    for (let i = 0; i < data.byteLength; i++) hash.update(data.subarray(i, i + 1));
    expect(hash.digest()).toBe(reference(data));
  });

  it("gives the one-shot result for random splits of a long input", () => {
    const data = pseudoRandomBytes(256 * 1024 + 7, 14);
    const oneShot = reference(data);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: data.byteLength }), { maxLength: 40 }), (cuts) => {
        expect(
          inPieces(
            data,
            [...cuts].sort((a, b) => a - b),
          ),
        ).toBe(oneShot);
      }),
      { numRuns: 200 },
    );
  });

  it("gives the one-shot result for random data, random splits and random byte offsets", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.nat({ max: 600 }), { maxLength: 8 }),
        fc.integer({ min: 0, max: 7 }),
        (data, cuts, byteOffset) => {
          const view = placeAt(data, byteOffset);
          const points = cuts.map((c) => Math.min(c, data.byteLength)).sort((a, b) => a - b);
          expect(inPieces(view, points)).toBe(reference(data));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("hashes pieces that start at unaligned byteOffsets after a partial stripe", () => {
    // 5 + 35 + 60 bytes: the second and third pieces start at odd offsets of the host buffer and
    // hold whole stripes, so they go through the byte-by-byte lane reads.
    const data = pseudoRandomBytes(100, 15);
    const view = placeAt(data, 1);
    expect(inPieces(view, [5, 40])).toBe(reference(data));
    expect(view.subarray(5).byteOffset % 4).not.toBe(0);
  });

  it("treats an empty update as no input", () => {
    const data = pseudoRandomBytes(33, 16);
    const hash = new Xxh32().update(new Uint8Array(0)).update(data.subarray(0, 20));
    hash.update(new Uint8Array(0)).update(data.subarray(20)).update(new Uint8Array(0));
    expect(hash.digest()).toBe(reference(data));
    expect(new Xxh32().update(new Uint8Array(0)).digest()).toBe(0x02cc5d05);
  });

  it("digests the empty input as 0x02CC5D05 before any update", () => {
    expect(new Xxh32().digest()).toBe(0x02cc5d05);
  });

  it("does not change its state when digest is called", () => {
    const data = pseudoRandomBytes(90, 17);
    const hash = new Xxh32();
    for (const [start, end] of [
      [0, 3],
      [3, 16],
      [16, 50],
      [50, 51],
      [51, 90],
    ] as const) {
      hash.update(data.subarray(start, end));
      const prefix = data.subarray(0, end);
      expect(hash.digest(), `after ${end} bytes`).toBe(reference(prefix));
      expect(hash.digest(), `again after ${end} bytes`).toBe(reference(prefix));
    }
  });

  it("returns itself from update, so calls chain", () => {
    const hash = new Xxh32();
    expect(hash.update(ascii("a"))).toBe(hash);
    expect(hash.update(ascii("bc")).digest()).toBe(0x32d153ff);
  });

  it("keeps separate instances independent", () => {
    const a = new Xxh32().update(ascii("ab"));
    const b = new Xxh32().update(ascii("xyz"));
    a.update(ascii("c"));
    expect(a.digest()).toBe(0x32d153ff);
    expect(b.digest()).toBe(reference(ascii("xyz")));
  });
});
