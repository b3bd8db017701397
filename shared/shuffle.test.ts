import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_SHUFFLE_ITEM_BYTES, shuffleBytes, unshuffleBytes } from "./shuffle.ts";

/** Slow reference, written from the definition: byte b of element i goes to b * n + i; the tail stays last. */
function shuffleReference(source: Uint8Array, itemByteLength: number): Uint8Array {
  const n = Math.floor(source.byteLength / itemByteLength);
  const out = new Uint8Array(source.byteLength);
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < itemByteLength; b++) out[b * n + i] = source[i * itemByteLength + b] as number;
  }
  for (let t = n * itemByteLength; t < source.byteLength; t++) out[t] = source[t] as number;
  return out;
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

const FILL = 0xa5;

/** A `byteLength` window at `byteOffset` inside a larger buffer filled with FILL on both sides. */
function windowAt(byteLength: number, byteOffset: number): { host: Uint8Array; view: Uint8Array } {
  const host = new Uint8Array(byteOffset + byteLength + 13).fill(FILL);
  return { host, view: host.subarray(byteOffset, byteOffset + byteLength) };
}

function expectUntouchedOutside(host: Uint8Array, view: Uint8Array): void {
  const before = host.subarray(0, view.byteOffset);
  const after = host.subarray(view.byteOffset + view.byteLength);
  expect(before.every((v) => v === FILL)).toBe(true);
  expect(after.every((v) => v === FILL)).toBe(true);
}

describe("shuffleBytes / unshuffleBytes", () => {
  it("regroups 2-byte elements by byte significance (literal fixture)", () => {
    const source = Uint8Array.of(0x11, 0x12, 0x21, 0x22, 0x31, 0x32, 0x41, 0x42);
    const target = new Uint8Array(8);
    shuffleBytes(source, target, 2);
    expect([...target]).toEqual([0x11, 0x21, 0x31, 0x41, 0x12, 0x22, 0x32, 0x42]);
  });

  it("puts the low byte of each float64 first and keeps a partial element's bytes last", () => {
    // 4 float64 (word kernel) + 3 trailing bytes that make no element.
    const values = Float64Array.of(1, 2, 3, 4);
    const source = new Uint8Array(35);
    source.set(new Uint8Array(values.buffer));
    source.set([7, 8, 9], 32);
    const target = new Uint8Array(35);
    shuffleBytes(source, target, 8);
    // Lane 7 (the sign/exponent byte) of 1, 2, 3, 4 is 0x3f, 0x40, 0x40, 0x40.
    expect([...target.subarray(28, 32)]).toEqual([0x3f, 0x40, 0x40, 0x40]);
    expect([...target.subarray(32)]).toEqual([7, 8, 9]);
    expect(target).toEqual(shuffleReference(source, 8));
  });

  for (const itemByteLength of [1, 2, 3, 4, 8, 16]) {
    for (const elementCount of [0, 1, 3, 4, 5, 8, 64, 1027, 4096]) {
      for (const tail of [0, 1]) {
        it(`matches the reference and round-trips: item ${itemByteLength} B, ${elementCount} elements, tail ${tail}`, () => {
          const byteLength = elementCount * itemByteLength + (itemByteLength > 1 ? tail : 0);
          const source = pseudoRandomBytes(byteLength, 1 + itemByteLength * 7919 + elementCount);
          const shuffled = new Uint8Array(byteLength);
          shuffleBytes(source, shuffled, itemByteLength);
          expect(shuffled).toEqual(shuffleReference(source, itemByteLength));
          const restored = new Uint8Array(byteLength);
          unshuffleBytes(shuffled, restored, itemByteLength);
          expect(restored).toEqual(source);
        });
      }
    }
  }

  for (const itemByteLength of [2, 4, 8]) {
    for (const [sourceOffset, targetOffset] of [
      [4, 8],
      [8, 4],
      [1, 8],
      [8, 3],
      [5, 7],
    ] as const) {
      it(`writes exactly the target window from subarrays at offsets ${sourceOffset} / ${targetOffset}, item ${itemByteLength} B`, () => {
        const byteLength = 4096 * itemByteLength;
        const data = pseudoRandomBytes(byteLength, itemByteLength * 31 + sourceOffset);
        const src = windowAt(byteLength, sourceOffset);
        src.view.set(data);
        const mid = windowAt(byteLength, targetOffset);
        shuffleBytes(src.view, mid.view, itemByteLength);
        expect(mid.view).toEqual(shuffleReference(data, itemByteLength));
        expectUntouchedOutside(mid.host, mid.view);

        const out = windowAt(byteLength, sourceOffset + 4);
        unshuffleBytes(mid.view, out.view, itemByteLength);
        expect(out.view).toEqual(data);
        expectUntouchedOutside(out.host, out.view);
      });
    }
  }

  it("unshuffles into the middle of a preallocated Float64Array (a chunk at a running offset)", () => {
    const total = new Float64Array(10_000);
    const chunk = Float64Array.from({ length: 2_000 }, (_, i) => Math.sin(i / 50) * 1e3 + i);
    const shuffled = new Uint8Array(chunk.byteLength);
    shuffleBytes(new Uint8Array(chunk.buffer), shuffled, 8);
    const at = 3_000;
    unshuffleBytes(shuffled, new Uint8Array(total.buffer, at * 8, chunk.byteLength), 8);
    expect(total.subarray(at, at + chunk.length)).toEqual(chunk);
    expect(total[at - 1]).toBe(0);
    expect(total[at + chunk.length]).toBe(0);
    expect(total.subarray(0, at).every((v) => v === 0)).toBe(true);
    expect(total.subarray(at + chunk.length).every((v) => v === 0)).toBe(true);
  });

  it("round-trips any bytes for any item size and alignment (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 7 }),
        (data, itemByteLength, sourceOffset, targetOffset) => {
          const src = windowAt(data.byteLength, sourceOffset);
          src.view.set(data);
          const mid = windowAt(data.byteLength, targetOffset);
          shuffleBytes(src.view, mid.view, itemByteLength);
          expect(mid.view).toEqual(shuffleReference(data, itemByteLength));
          const out = windowAt(data.byteLength, sourceOffset);
          unshuffleBytes(mid.view, out.view, itemByteLength);
          expect(out.view).toEqual(data);
          expectUntouchedOutside(out.host, out.view);
        },
      ),
      { numRuns: 300, seed: 12 },
    );
  });

  it("accepts item sizes 1 and 255, the two ends of the range", () => {
    const source = pseudoRandomBytes(255 * 3 + 2, 5);
    for (const itemByteLength of [1, MAX_SHUFFLE_ITEM_BYTES]) {
      const target = new Uint8Array(source.byteLength);
      shuffleBytes(source, target, itemByteLength);
      expect(target).toEqual(shuffleReference(source, itemByteLength));
    }
  });

  for (const bad of [0, 256, 1.5, Number.NaN, -8]) {
    it(`rejects itemByteLength ${bad} with a RangeError naming the range`, () => {
      const a = new Uint8Array(16);
      const b = new Uint8Array(16);
      expect(() => shuffleBytes(a, b, bad)).toThrow(RangeError);
      expect(() => unshuffleBytes(a, b, bad)).toThrow(
        `unshuffleBytes: expected itemByteLength an integer in 1..255, got ${bad}`,
      );
    });
  }

  for (const targetByteLength of [15, 17]) {
    it(`rejects a target of ${targetByteLength} bytes for a 16-byte source and writes nothing`, () => {
      const source = pseudoRandomBytes(16, 9);
      const target = new Uint8Array(targetByteLength).fill(FILL);
      expect(() => shuffleBytes(source, target, 8)).toThrow(
        `shuffleBytes: expected target.byteLength 16 (the source's), got ${targetByteLength}`,
      );
      expect(target.every((v) => v === FILL)).toBe(true);
    });
  }

  it("rejects views that overlap in one buffer, and accepts ones that only touch", () => {
    const host = pseudoRandomBytes(96, 3);
    expect(() => shuffleBytes(host.subarray(0, 64), host.subarray(32, 96), 8)).toThrow(
      "shuffleBytes: expected source and target not to overlap, got [0, 64) and [32, 96) in one buffer",
    );
    expect(() => unshuffleBytes(host.subarray(8, 40), host.subarray(0, 32), 8)).toThrow(RangeError);
    const expected = shuffleReference(host.subarray(0, 48), 8);
    shuffleBytes(host.subarray(0, 48), host.subarray(48, 96), 8);
    expect(host.subarray(48, 96)).toEqual(expected);
  });
});
