import { describe, expect, it } from "vitest";
import { createChecksum } from "./checksum.ts";
import { crc32c } from "./crc32c.ts";
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from "./protocol.ts";
import { Xxh32, xxh32 } from "./xxh32.ts";

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

/** The one-shot function each algorithm that has a checksum must agree with. */
const ONE_SHOT: Record<Exclude<ChecksumAlgorithm, "none">, (bytes: Uint8Array) => number> = {
  crc32c: (bytes) => crc32c(bytes),
  xxh32,
};

describe("createChecksum", () => {
  it("covers every algorithm of CHECKSUM_ALGORITHMS", () => {
    expect(Object.keys(CHECKSUM_ALGORITHMS).sort()).toEqual(["none", ...Object.keys(ONE_SHOT)].sort());
  });

  it('gives null for "none"', () => {
    expect(createChecksum("none")).toBeNull();
  });

  it.each(Object.entries(ONE_SHOT))(
    "%s: equals the one-shot function for every split of the input",
    (name, oneShot) => {
      const data = pseudoRandomBytes(70, 1);
      const expected = oneShot(data);
      for (let split = 0; split <= data.byteLength; split++) {
        const checksum = createChecksum(name as ChecksumAlgorithm);
        if (!checksum) throw new Error(`no checksum for ${name}`);
        checksum.update(data.subarray(0, split));
        checksum.update(data.subarray(split));
        expect(checksum.digest(), `split at ${split}`).toBe(expected);
      }
    },
  );

  it.each(Object.entries(ONE_SHOT))("%s: equals the one-shot function over 1 MiB in 64 KiB slices", (name, oneShot) => {
    // How the server computes it (checksumInSlices) and the client (one update per payload).
    const data = pseudoRandomBytes(1024 * 1024 + 3, 2);
    const checksum = createChecksum(name as ChecksumAlgorithm);
    if (!checksum) throw new Error(`no checksum for ${name}`);
    for (let offset = 0; offset < data.byteLength; offset += 64 * 1024) {
      checksum.update(data.subarray(offset, offset + 64 * 1024));
    }
    expect(checksum.digest()).toBe(oneShot(data));
  });

  it.each(Object.entries(ONE_SHOT))("%s: digests no input as the one-shot value of no bytes", (name, oneShot) => {
    expect(createChecksum(name as ChecksumAlgorithm)?.digest()).toBe(oneShot(new Uint8Array(0)));
  });

  it.each(Object.entries(ONE_SHOT))("%s: does not change its state when digest is called", (name, oneShot) => {
    const data = pseudoRandomBytes(50, 3);
    const checksum = createChecksum(name as ChecksumAlgorithm);
    if (!checksum) throw new Error(`no checksum for ${name}`);
    checksum.update(data.subarray(0, 21));
    expect(checksum.digest()).toBe(oneShot(data.subarray(0, 21)));
    expect(checksum.digest()).toBe(oneShot(data.subarray(0, 21)));
    checksum.update(data.subarray(21));
    expect(checksum.digest()).toBe(oneShot(data));
  });

  it("gives the documented check values", () => {
    const digest = (algorithm: ChecksumAlgorithm, text: string) => {
      const checksum = createChecksum(algorithm);
      checksum?.update(new TextEncoder().encode(text));
      return checksum?.digest();
    };
    expect(digest("crc32c", "123456789")).toBe(0xe3069283);
    expect(digest("xxh32", "")).toBe(0x02cc5d05);
    expect(digest("xxh32", "abc")).toBe(0x32d153ff);
  });

  it("gives an Xxh32 for xxh32 and a fresh object on every call", () => {
    expect(createChecksum("xxh32")).toBeInstanceOf(Xxh32);
    const a = createChecksum("crc32c");
    const b = createChecksum("crc32c");
    expect(a).not.toBe(b);
    a?.update(new Uint8Array([1, 2, 3]));
    expect(b?.digest()).toBe(0);
  });
});
