/**
 * The asynchronous choice (native codec): the same forms as the synchronous one, decoding back
 * to the raw bytes; a sample on the first chunk, then every RESAMPLE_EVERY-th and after a raw
 * one; the shuffle buffer from the pool given back, also when the codec fails; encodePlainAsync's
 * threshold on both sides.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type DataEncodedMessage, decodeChunkInto, loadZstd, type ZstdCodec } from "../shared/index.ts";
import { ChunkChooser, ChunkEncoder, type EncodedChunk, RESAMPLE_EVERY, resolveCompression } from "./chunk-encoder.ts";
import { type AsyncZstd, loadNativeZstd } from "./native-zstd.ts";
import { ScratchPool } from "./scratch-pool.ts";

let wasm: ZstdCodec;
let native: AsyncZstd;
beforeAll(async () => {
  wasm = await loadZstd();
  const loaded = await loadNativeZstd(() => {});
  // Where the native codec does not install, the WebAssembly one behind a promise stands in.
  native = loaded ?? { compress: async (source, level) => wasm.compress(source, level) };
});

/** The native codec, counting calls and the bytes each call compressed; fails while `fail`. */
function counting(): AsyncZstd & { sizes: number[]; fail: boolean } {
  const codec = {
    sizes: [] as number[],
    fail: false,
    async compress(source: Uint8Array, level: number): Promise<Uint8Array> {
      codec.sizes.push(source.byteLength);
      if (codec.fail) throw new Error("broken on purpose");
      return native.compress(source, level);
    },
  };
  return codec;
}

const CHUNK = 512 * 1024;
const SAMPLE = 128 * 1024;

function smooth(n: number, offset = 0): Uint8Array {
  const a = Float64Array.from(
    { length: n / 8 },
    (_, i) => Math.sin((i + offset) / 300) * 50 + ((i * 2654435761) % 997) * 1e-9,
  );
  return new Uint8Array(a.buffer);
}

function quantised(n: number): Uint8Array {
  const a = Float64Array.from(
    { length: n / 8 },
    (_, i) => [0.1, 2.5, -3.75, 1e6, 42.42, -7e-3][(i * 2654435761) % 6] as number,
  );
  return new Uint8Array(a.buffer);
}

function random(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function decodes(raw: Uint8Array, encoded: EncodedChunk): boolean {
  const message: DataEncodedMessage = {
    type: "DATA_ENCODED",
    streamId: 1,
    payloadByteLength: encoded.bytes.byteLength,
    byteOffset: 0,
    rawByteLength: raw.byteLength,
    codec: "zstd",
    filter: encoded.filter,
  };
  const out = new Uint8Array(raw.byteLength);
  decodeChunkInto(wasm, message, encoded.bytes, out, 8);
  return Buffer.from(out).equals(Buffer.from(raw));
}

describe("ChunkChooser.encodeAsync", () => {
  it("chooses shuffle for smooth floats and none for quantised ones, and both decode back", async () => {
    const encoder = new ChunkEncoder(wasm, resolveCompression(true), native);
    expect(encoder.async).toBe(true);
    const pool = new ScratchPool(4 * CHUNK);
    const s = smooth(CHUNK);
    const a = await new ChunkChooser(encoder, 8).encodeAsync(s, pool);
    expect(a?.filter).toBe("shuffle");
    expect(decodes(s, a as EncodedChunk)).toBe(true);
    const q = quantised(CHUNK);
    const b = await new ChunkChooser(encoder, 8).encodeAsync(q, pool);
    expect(b?.filter).toBe("none");
    expect(decodes(q, b as EncodedChunk)).toBe(true);
    expect(await new ChunkChooser(encoder, 8).encodeAsync(random(CHUNK, 5), pool)).toBeNull();
    expect(new ChunkEncoder(wasm, resolveCompression(true)).async).toBe(false);
  });

  it("samples the first chunk, reuses the filter for RESAMPLE_EVERY chunks, then samples again", async () => {
    const codec = counting();
    const chooser = new ChunkChooser(new ChunkEncoder(wasm, resolveCompression(true), codec), 8);
    const pool = new ScratchPool(4 * CHUNK);
    const samplesAt: number[] = [];
    for (let i = 0; i < 2 * RESAMPLE_EVERY + 1; i++) {
      const before = codec.sizes.length;
      const chunk = smooth(CHUNK, i * 1000);
      const encoded = await chooser.encodeAsync(chunk, pool);
      expect(encoded?.filter).toBe("shuffle");
      expect(decodes(chunk, encoded as EncodedChunk)).toBe(true);
      const sizes = codec.sizes.slice(before);
      if (sizes.length === 3) samplesAt.push(i);
      expect(sizes.filter((n) => n === CHUNK)).toHaveLength(1); // one whole-chunk compress each
      expect(sizes.filter((n) => n === SAMPLE).length === 0 || sizes.length === 3).toBe(true);
    }
    expect(samplesAt).toEqual([0, RESAMPLE_EVERY, 2 * RESAMPLE_EVERY]);
  });

  it("samples again right after a raw chunk, and follows the data to the other filter", async () => {
    const codec = counting();
    const chooser = new ChunkChooser(new ChunkEncoder(wasm, resolveCompression(true), codec), 8);
    const pool = new ScratchPool(4 * CHUNK);
    expect((await chooser.encodeAsync(smooth(CHUNK), pool))?.filter).toBe("shuffle");
    // Random bytes with the cached filter: no sample, the whole chunk does not pay and goes raw;
    // the next chunk is sampled.
    expect(await chooser.encodeAsync(random(CHUNK, 9), pool)).toBeNull();
    const before = codec.sizes.length;
    const q = quantised(CHUNK);
    const encoded = await chooser.encodeAsync(q, pool);
    expect(codec.sizes.length - before).toBe(3); // sampled (two) and encoded
    expect(encoded?.filter).toBe("none");
    expect(decodes(q, encoded as EncodedChunk)).toBe(true);
  });

  it("gives the shuffle buffers back to the pool, also when the codec fails", async () => {
    const codec = counting();
    const encoder = new ChunkEncoder(wasm, resolveCompression(true), codec);
    const pool = new ScratchPool(4 * CHUNK);
    await new ChunkChooser(encoder, 8).encodeAsync(smooth(CHUNK), pool);
    const kept = pool.freeByteLength;
    expect(kept).toBeGreaterThanOrEqual(CHUNK); // the chunk's shuffle buffer came back
    codec.fail = true;
    await expect(new ChunkChooser(encoder, 8).encodeAsync(smooth(CHUNK), pool)).rejects.toThrow("broken on purpose");
    await expect(encoder.encodeWithAsync(smooth(CHUNK), 8, "shuffle", pool)).rejects.toThrow("broken on purpose");
    expect(pool.freeByteLength).toBe(kept);
  });
});

describe("ChunkEncoder.encodePlainAsync", () => {
  it("encodes a chunk of exactly minChunkByteLength and leaves one byte less raw", async () => {
    const encoder = new ChunkEncoder(wasm, { ...resolveCompression(true), minChunkByteLength: 8192 }, native);
    const q = quantised(8192 * 2);
    const encoded = (await encoder.encodePlainAsync(q.subarray(4096, 4096 + 8192))) as Uint8Array;
    expect(wasm.decompress(encoded, 8192)).toEqual(q.subarray(4096, 4096 + 8192));
    expect(await encoder.encodePlainAsync(q.subarray(4096, 4096 + 8191))).toBeNull();
  });

  it("leaves random bytes raw (under minRatio) and encodes zeros to under 1%", async () => {
    const r = random(CHUNK, 3);
    const strict = new ChunkEncoder(wasm, resolveCompression(true), native);
    expect(await strict.encodePlainAsync(r)).toBeNull();
    const zeros = new Uint8Array(CHUNK);
    expect(((await strict.encodePlainAsync(zeros)) as Uint8Array).byteLength).toBeLessThan(CHUNK / 100);
  });
});
