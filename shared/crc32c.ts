/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the END trailer.
 * Slicing-by-8 tables: eight table lookups per 8 input bytes. Incremental: pass the previous
 * result as `crc` to continue over the next chunk; `crc32c(new Uint8Array(0))` is 0 and
 * `crc32c(new TextEncoder().encode("123456789"))` is 0xE3069283 (the standard check value).
 */

const POLY = 0x82f63b78;
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let s = 1; s < 8; s++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[s * 256 + n] = c >>> 0;
    }
  }
  return t;
}

/** CRC-32C of `bytes`, continuing from `crc` (the result over the preceding bytes; 0 to start). */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  // Align to 4 so the bulk loop can read u32 words through an aligned Uint32Array view.
  while (i < n && ((bytes.byteOffset + i) & 3) !== 0) {
    c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  // Not `>>> 3`: that wraps lengths of 2^32 and more (a 4 GiB view would fall through to the
  // byte-at-a-time loop below, 8x slower).
  const words = Math.floor((n - i) / 8);
  if (words > 0) {
    const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words * 2);
    for (let w = 0; w < u32.length; w += 2) {
      const a = (u32[w] as number) ^ c;
      const b = u32[w + 1] as number;
      c =
        (t[1792 + (a & 0xff)] as number) ^
        (t[1536 + ((a >>> 8) & 0xff)] as number) ^
        (t[1280 + ((a >>> 16) & 0xff)] as number) ^
        (t[1024 + (a >>> 24)] as number) ^
        (t[768 + (b & 0xff)] as number) ^
        (t[512 + ((b >>> 8) & 0xff)] as number) ^
        (t[256 + ((b >>> 16) & 0xff)] as number) ^
        (t[b >>> 24] as number);
    }
    i += words * 8;
  }
  while (i < n) {
    c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}
