import { describe, expect, it } from "vitest";
import { createChecksum } from "./checksum.ts";
import type { ChecksumAlgorithm } from "./protocol.ts";

/**
 * XXH32 folds the input length in mod 2^32 and both checksums run past 4 GiB here: their digests
 * at lengths on both sides of 2^31 and 2^32 must equal independent implementations' (computed by
 * shared/test-fixtures/checksum-4gib.c with libxxhash, the reference XXH32, and the SSE4.2 crc32
 * instruction), not merely agree between server and client, which share this code. No 4 GiB
 * buffer: the pattern b[i] = (i * 31 + 7) & 0xff repeats every 256 bytes, so one 16 MiB buffer is
 * fed again and again (CPU only, about 1 s for XXH32 and 5 s for CRC-32C).
 */
const GOLDEN: readonly [byteLength: number, xxh32: number, crc32c: number][] = [
  [2 ** 31 - 1, 0xe6765622, 0x8f1d5ef3],
  [2 ** 31, 0x4b6ad09e, 0xdb25225b],
  [2 ** 32 - 1, 0x523be115, 0x54387ca8],
  [2 ** 32, 0xed5c3c74, 0x13527691],
  [2 ** 32 + 8, 0xefabe955, 0xc5f64694],
];

const PATTERN_BYTES = 16 * 1024 * 1024;
const pattern = Uint8Array.from({ length: PATTERN_BYTES }, (_, i) => (i * 31 + 7) & 0xff);

describe.each([
  ["xxh32", 1],
  ["crc32c", 2],
] as const)("%s over lengths past 2^31 and 2^32 bytes", (algorithm: ChecksumAlgorithm, column) => {
  it("matches the reference implementation at 2^31 - 1, 2^31, 2^32 - 1, 2^32 and 2^32 + 8 bytes", () => {
    const checksum = createChecksum(algorithm);
    if (!checksum) throw new Error(`no checksum for ${algorithm}`);
    let fed = 0;
    const digests: string[] = [];
    for (const row of GOLDEN) {
      // Pieces end at the marks (odd lengths included), so the carry across updates is exercised.
      while (fed < row[0]) {
        const start = fed % PATTERN_BYTES;
        const n = Math.min(PATTERN_BYTES - start, row[0] - fed);
        checksum.update(pattern.subarray(start, start + n));
        fed += n;
      }
      digests.push(`${row[0]}: 0x${checksum.digest().toString(16).padStart(8, "0")}`);
    }
    expect(digests).toEqual(GOLDEN.map((row) => `${row[0]}: 0x${row[column].toString(16).padStart(8, "0")}`));
  });
});
