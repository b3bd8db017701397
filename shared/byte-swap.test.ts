import { Buffer } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { swapBytesInPlace } from "./byte-swap.ts";

/** Node's native swap16/32/64 as an independent oracle (not isomorphic, fine in a test). */
function swappedByNode(bytes: Uint8Array, bytesPerElement: number): Uint8Array {
  const copy = Buffer.from(bytes);
  if (bytesPerElement === 2) copy.swap16();
  else if (bytesPerElement === 4) copy.swap32();
  else if (bytesPerElement === 8) copy.swap64();
  return new Uint8Array(copy);
}

/** `length` bytes 1, 2, 3, ... inside a larger buffer at `byteOffset`, 0xee guard bytes around. */
function windowAt(byteOffset: number, length: number): { backing: Uint8Array; window: Uint8Array } {
  const backing = new Uint8Array(byteOffset + length + 16).fill(0xee);
  const window = backing.subarray(byteOffset, byteOffset + length);
  for (let i = 0; i < length; i++) window[i] = i + 1;
  return { backing, window };
}

describe("swapBytesInPlace", () => {
  it("reverses each 2-, 4- and 8-byte item", () => {
    const cases: [number, number[]][] = [
      [2, [2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]],
      [4, [4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13]],
      [8, [8, 7, 6, 5, 4, 3, 2, 1, 16, 15, 14, 13, 12, 11, 10, 9]],
    ];
    for (const [bytesPerElement, expected] of cases) {
      const { window } = windowAt(0, 16);
      swapBytesInPlace(window, bytesPerElement);
      expect(Array.from(window), `${bytesPerElement}`).toEqual(expected);
    }
  });

  it("takes every path (32-bit words, 16-bit lanes, bytes) at every alignment, touching only its window", () => {
    for (const bytesPerElement of [2, 4, 8]) {
      for (let byteOffset = 0; byteOffset < 8; byteOffset++) {
        // Lengths with and without a 2-byte tail after the last whole word.
        for (const itemCount of [1, 2, 3, 5, 6, 33]) {
          const { backing, window } = windowAt(byteOffset, itemCount * bytesPerElement);
          const expected = swappedByNode(window, bytesPerElement);
          swapBytesInPlace(window, bytesPerElement);
          const where = `${bytesPerElement}-byte items x${itemCount} at offset ${byteOffset}`;
          expect(Array.from(window), where).toEqual(Array.from(expected));
          expect(
            backing.subarray(0, byteOffset).every((b) => b === 0xee),
            where,
          ).toBe(true);
          expect(
            backing.subarray(byteOffset + window.byteLength).every((b) => b === 0xee),
            where,
          ).toBe(true);
        }
      }
    }
  });

  it("turns big-endian numbers into the host's (little-endian) numbers", () => {
    const source = [1.5, -2.25e300, Number.MIN_VALUE, Number.NaN];
    const bytes = new Uint8Array(8 * source.length + 4).subarray(4); // 4-aligned, not 8-aligned
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const [i, v] of source.entries()) view.setFloat64(8 * i, v, false);
    swapBytesInPlace(bytes, 8);
    expect(source.map((_, i) => view.getFloat64(8 * i, true))).toEqual(source);

    const ints = new Uint8Array(6);
    new DataView(ints.buffer).setInt16(0, -2, false);
    new DataView(ints.buffer).setUint32(2, 0x01020304, false);
    swapBytesInPlace(ints.subarray(0, 2), 2);
    swapBytesInPlace(ints.subarray(2), 4); // offset 2: the byte loop
    expect(new DataView(ints.buffer).getInt16(0, true)).toBe(-2);
    expect(new DataView(ints.buffer).getUint32(2, true)).toBe(0x01020304);
  });

  it("leaves 1-byte items and empty input alone", () => {
    const { window } = windowAt(3, 7);
    swapBytesInPlace(window, 1);
    expect(Array.from(window)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(() => swapBytesInPlace(new Uint8Array(0), 8)).not.toThrow();
  });

  it("throws RangeError for an item size or byte length it cannot swap", () => {
    for (const size of [0, 3, 16, 2.5, Number.NaN]) {
      expect(() => swapBytesInPlace(new Uint8Array(48), size)).toThrow(
        new RangeError(`bytesPerElement: expected 1, 2, 4 or 8, got ${size}`),
      );
    }
    expect(() => swapBytesInPlace(new Uint8Array(12), 8)).toThrow(
      new RangeError("Byte swap: expected a byte length that is a multiple of 8, got 12"),
    );
    expect(() => swapBytesInPlace(new Uint8Array(3), 2)).toThrow("multiple of 2, got 3");
    const untouched = Uint8Array.of(1, 2, 3);
    expect(() => swapBytesInPlace(untouched, 2)).toThrow(RangeError);
    expect(Array.from(untouched)).toEqual([1, 2, 3]);
  });

  it("matches Node's swap16/32/64 and undoes itself, for any bytes at any offset", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2, 4, 8),
        fc.nat({ max: 7 }),
        fc.uint8Array({ maxLength: 400 }),
        (bytesPerElement, byteOffset, random) => {
          const length = random.byteLength - (random.byteLength % bytesPerElement);
          const backing = new Uint8Array(byteOffset + length);
          backing.set(random.subarray(0, length), byteOffset);
          const window = backing.subarray(byteOffset);
          const original = Array.from(window);
          swapBytesInPlace(window, bytesPerElement);
          expect(Array.from(window)).toEqual(Array.from(swappedByNode(Uint8Array.from(original), bytesPerElement)));
          swapBytesInPlace(window, bytesPerElement);
          expect(Array.from(window)).toEqual(original);
        },
      ),
      { seed: Number(process.env.PROPERTY_SEED ?? 0x5a5a), numRuns: 500 },
    );
  });
});
