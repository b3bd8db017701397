import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32c } from "./crc32c.ts";

/**
 * Slow reference: one bit at a time, reflected polynomial 0x82F63B78 (RFC 3720 appendix B.4),
 * written independently of crc32c.ts (no tables, no word reads).
 */
function crc32cBitwise(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

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

describe("crc32c", () => {
  it('returns the standard check value 0xE3069283 for "123456789"', () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
  });

  it("returns 0 for empty input", () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it("returns the running crc unchanged for empty input", () => {
    expect(crc32c(new Uint8Array(0), 0xe3069283)).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0), 0xffffffff)).toBe(0xffffffff);
  });

  // RFC 3720 (iSCSI) appendix B.4 test vectors.
  it("matches the RFC 3720 vector for 32 zero bytes", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });

  it("matches the RFC 3720 vector for 32 bytes of 0xFF", () => {
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });

  it("matches the RFC 3720 vector for 32 incrementing bytes", () => {
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
  });

  it("matches the RFC 3720 vector for 32 decrementing bytes", () => {
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("matches the well-known value for the quick brown fox", () => {
    expect(crc32c(ascii("The quick brown fox jumps over the lazy dog"))).toBe(0x22620404);
  });

  it("always returns an unsigned 32-bit integer", () => {
    const value = crc32c(new Uint8Array(32).fill(0xff));
    expect(Number.isInteger(value)).toBe(true);
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThanOrEqual(0xffffffff);
  });

  it("agrees with the bitwise reference for every length from 0 to 80", () => {
    // Covers every remainder of the 4-byte alignment loop and the 8-byte bulk loop.
    const data = pseudoRandomBytes(80, 1);
    for (let n = 0; n <= 80; n++) {
      expect(crc32c(data.subarray(0, n)), `length ${n}`).toBe(crc32cBitwise(data.subarray(0, n)));
    }
  });

  it("agrees with the bitwise reference on random data at random byte offsets", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.integer({ min: 0, max: 15 }), (data, byteOffset) => {
        expect(crc32c(placeAt(data, byteOffset))).toBe(crc32cBitwise(data));
      }),
      { numRuns: 300 },
    );
  });

  it("agrees with the bitwise reference on a 1 MiB buffer", () => {
    const data = pseudoRandomBytes(1024 * 1024 + 5, 7);
    expect(crc32c(data)).toBe(crc32cBitwise(data));
  });

  it("gives the same result at every byteOffset from 0 to 8", () => {
    const data = pseudoRandomBytes(67, 3);
    const expected = crc32cBitwise(data);
    for (let byteOffset = 0; byteOffset <= 8; byteOffset++) {
      expect(crc32c(placeAt(data, byteOffset)), `byteOffset ${byteOffset}`).toBe(expected);
    }
  });

  it("reads only its own window of a shared buffer", () => {
    const host = new Uint8Array(64).fill(0xff);
    host.set(ascii("123456789"), 5);
    expect(crc32c(host.subarray(5, 14))).toBe(0xe3069283);
  });

  it("continues over every split point to the one-shot result", () => {
    const data = pseudoRandomBytes(100, 11);
    const oneShot = crc32c(data);
    expect(oneShot).toBe(crc32cBitwise(data));
    for (let split = 0; split <= data.length; split++) {
      const first = crc32c(data.subarray(0, split));
      expect(crc32c(data.subarray(split), first), `split at ${split}`).toBe(oneShot);
    }
  });

  it("continues over arbitrary multi-way splits to the one-shot result", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 600 }),
        fc.array(fc.nat({ max: 600 }), { maxLength: 8 }),
        (data, cuts) => {
          const points = [0, ...cuts.map((c) => Math.min(c, data.length)).sort((a, b) => a - b), data.length];
          let crc = 0;
          for (let i = 0; i + 1 < points.length; i++) {
            crc = crc32c(data.subarray(points[i], points[i + 1]), crc);
          }
          expect(crc).toBe(crc32cBitwise(data));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("continues the same way as the reference from an arbitrary starting crc", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat({ max: 0xffffffff }), (data, start) => {
        expect(crc32c(data, start)).toBe(crc32cBitwise(data, start));
      }),
    );
  });

  it("does not modify its input", () => {
    const data = pseudoRandomBytes(40, 5);
    const copy = data.slice();
    crc32c(data.subarray(1));
    expect(data).toEqual(copy);
  });
});
