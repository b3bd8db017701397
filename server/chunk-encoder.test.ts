/**
 * The server's per-chunk choice with the shipped codec: shuffled zstd for smooth floats, plain
 * zstd for quantised values, raw for random bits; each threshold on both sides; the sample taken
 * from the middle of the chunk; the raw-run skipping; the options' checks.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type DataEncodedMessage, decodeChunkInto, loadZstd, type ZstdCodec } from "../shared/index.ts";
import { ChunkChooser, ChunkEncoder, type CompressionSettings, resolveCompression } from "./chunk-encoder.ts";

/** Deterministic pseudo-random u32s (xorshift32). */
function* xorshift(seed: number): Generator<number> {
  let x = seed >>> 0 || 1;
  for (;;) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    yield x;
  }
}

function bytesOf(a: Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Smooth signal plus a little noise: shuffled zstd beats plain. */
function smooth(n: number): Uint8Array {
  const r = xorshift(1);
  return bytesOf(
    Float64Array.from({ length: n }, (_, i) => Math.sin(i / 300) * 50 + (r.next().value as number) / 2 ** 40),
  );
}

/** Six levels, i.i.d.: plain zstd wins (whole 8-byte values repeat). */
function quantised(n: number): Uint8Array {
  const levels = [0.1, 2.5, -3.75, 1e6, 42.42, -7e-3];
  const r = xorshift(2);
  return bytesOf(Float64Array.from({ length: n }, () => levels[(r.next().value as number) % 6] as number));
}

function randomBits(byteLength: number, seed = 3): Uint8Array {
  const r = xorshift(seed);
  return Uint8Array.from({ length: byteLength }, () => (r.next().value as number) & 0xff);
}

let zstd: ZstdCodec;
beforeAll(async () => {
  zstd = await loadZstd();
});

function encoder(options: Partial<CompressionSettings> = {}): ChunkEncoder {
  return new ChunkEncoder(zstd, { ...resolveCompression(true), ...options });
}

/** Decodes what the encoder produced, as a client would, and checks it against the raw chunk. */
function roundTrip(raw: Uint8Array, encoded: { bytes: Uint8Array; filter: "none" | "shuffle" }): void {
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
  decodeChunkInto(zstd, message, encoded.bytes, out, 8);
  expect(Buffer.from(out.buffer).equals(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength))).toBe(true);
}

describe("ChunkEncoder", () => {
  it("sends smooth float64 shuffled, smaller than raw, and it decodes back", () => {
    const raw = smooth(128 * 1024);
    const encoded = encoder().encode(raw, 8);
    expect(encoded?.filter).toBe("shuffle");
    expect(encoded?.bytes.byteLength).toBeLessThan(raw.byteLength / 1.1);
    if (encoded) roundTrip(raw, encoded);
  });

  it("sends quantised values plain (unshuffled) zstd, and they decode back", () => {
    const raw = quantised(128 * 1024);
    const encoded = encoder().encode(raw, 8);
    expect(encoded?.filter).toBe("none");
    if (encoded) roundTrip(raw, encoded);
  });

  it("sends random bits raw (null)", () => {
    expect(encoder().encode(randomBits(1024 * 1024), 8)).toBeNull();
  });

  it("keeps a chunk encoded just under minRatio's threshold and sends it raw just over", () => {
    const raw = smooth(16 * 1024);
    // The sample is the whole chunk: the sample's ratio is the chunk's.
    const sampleByteLength = raw.byteLength;
    const ratio = raw.byteLength / (encoder({ sampleByteLength }).encode(raw, 8)?.bytes.byteLength ?? raw.byteLength);
    expect(ratio).toBeGreaterThan(1.2);
    expect(encoder({ sampleByteLength, minRatio: ratio * 0.999 }).encode(raw, 8)).not.toBeNull();
    expect(encoder({ sampleByteLength, minRatio: ratio * 1.001 }).encode(raw, 8)).toBeNull();
  });

  it("sends a chunk raw below minChunkByteLength and encodes one of exactly that length", () => {
    const raw = smooth(1024);
    expect(encoder({ minChunkByteLength: raw.byteLength + 1 }).encode(raw, 8)).toBeNull();
    expect(encoder({ minChunkByteLength: raw.byteLength }).encode(raw, 8)).not.toBeNull();
  });

  it("decides from a sample in the middle of the chunk, not from its ends", () => {
    const n = 1024 * 1024;
    const sampleByteLength = 64 * 1024;
    // Compressible ends, random middle: the sample says raw. And the other way round.
    const randomMiddle = smooth(n / 8);
    randomMiddle.set(randomBits(2 * sampleByteLength), n / 2 - sampleByteLength);
    expect(encoder({ sampleByteLength }).encode(randomMiddle, 8)).toBeNull();
    const smoothMiddle = randomBits(n, 9);
    smoothMiddle.set(smooth((2 * sampleByteLength) / 8), n / 2 - sampleByteLength);
    // The sample passes, then the whole chunk (mostly random) fails minRatio: raw as well, but
    // only after a full compress; a sample from an end would have stopped earlier. Both raw:
    expect(encoder({ sampleByteLength }).encode(smoothMiddle, 8)).toBeNull();
    // With minRatio 1 the whole chunk is kept whatever its ratio: the sample alone decided.
    expect(encoder({ sampleByteLength, minRatio: 1 }).encode(smoothMiddle, 8)).not.toBeNull();
    expect(encoder({ sampleByteLength, minRatio: 1.01 }).encode(randomMiddle, 8)).toBeNull();
  });

  it("uses no shuffle for 1-byte items", () => {
    const raw = new Uint8Array(64 * 1024).map((_, i) => (i >> 6) & 0xff);
    expect(encoder().encode(raw, 1)?.filter).toBe("none");
  });
});

describe("ChunkChooser", () => {
  it("after skipAfterRawChunks raw chunks samples only every n-th chunk, and encodes again once one pays", () => {
    const e = encoder({ skipAfterRawChunks: 3 });
    let calls = 0;
    const counting = {
      settings: e.settings,
      encode: (payload: Uint8Array, item: number) => {
        calls++;
        return e.encode(payload, item);
      },
    } as unknown as ChunkEncoder;
    const chooser = new ChunkChooser(counting, 8);
    const random = randomBits(64 * 1024);
    for (let i = 0; i < 3; i++) expect(chooser.encode(random)).toBeNull();
    expect(calls).toBe(3);
    for (let i = 0; i < 2; i++) expect(chooser.encode(random)).toBeNull();
    expect(calls).toBe(3); // two skipped without sampling
    expect(chooser.encode(smooth(8192))).not.toBeNull(); // the third is sampled, and pays
    expect(calls).toBe(4);
    expect(chooser.encode(smooth(8192))).not.toBeNull();
    expect(calls).toBe(5); // back to every chunk
  });
});

describe("resolveCompression", () => {
  it("defaults to on, level 1, minRatio 1.1, 128 KiB samples; false turns it off", () => {
    expect(resolveCompression(undefined)).toEqual({
      enabled: true,
      level: 1,
      minRatio: 1.1,
      sampleByteLength: 128 * 1024,
      minChunkByteLength: 4096,
      skipAfterRawChunks: 8,
    });
    expect(resolveCompression(false).enabled).toBe(false);
  });

  it("accepts levels 1 and 19 and refuses 0 and 20 (an 8 MiB window at most)", () => {
    expect(resolveCompression({ level: 19 }).level).toBe(19);
    expect(resolveCompression({ level: 1 }).level).toBe(1);
    expect(() => resolveCompression({ level: 20 })).toThrow(
      "Invalid compression.level: expected an integer in 1..19, got 20",
    );
    expect(() => resolveCompression({ level: 0 })).toThrow(RangeError);
    expect(() => resolveCompression({ minRatio: 0.99 })).toThrow(RangeError);
    expect(() => resolveCompression("yes" as unknown as boolean)).toThrow(TypeError);
  });
});
