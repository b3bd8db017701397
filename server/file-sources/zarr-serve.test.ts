/**
 * zarrArray through a real ArrayServer and the reference client: a sharded v3 array over both
 * transports, a range across shard boundaries, a resume from the middle, and E_BUSY when its cache
 * does not fit in maxSourceBytes (given back when the stream ends).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchArray } from "../../client/index.ts";
import { ArrayServer, zarrArray } from "../index.ts";

const FIXTURES = fileURLToPath(new URL("./test-fixtures/zarr/", import.meta.url));
const manifest = JSON.parse(readFileSync(join(FIXTURES, "manifest.json"), "utf8")) as {
  arrays: { path: string; cHex?: string }[];
};
const bytesOf = (path: string) =>
  Uint8Array.from(manifest.arrays.find((a) => a.path === path)?.cHex?.match(/../g) ?? [], (h) =>
    Number.parseInt(h, 16),
  );

describe("zarrArray served", () => {
  let server: ArrayServer;

  beforeEach(async () => {
    server = new ArrayServer({ port: 0, maxSourceBytes: 4 * 1024 * 1024, log: () => {} });
    await server.listen();
    server.publish("sharded", zarrArray(join(FIXTURES, "v3-sharded-f4"), { cacheByteLength: 1024 }));
    server.publish("u64", zarrArray(join(FIXTURES, "v3-sharded-u8"), { cacheByteLength: 4096 }));
    server.publish("big-cache", zarrArray(join(FIXTURES, "v2-gzip-i4"), { cacheByteLength: 8 * 1024 * 1024 }));
  });

  afterEach(async () => {
    await server.close();
  });

  it.each(["ws", "http"] as const)(
    "streams a sharded array whole and a range across shards over %s",
    async (transport) => {
      const expected = bytesOf("v3-sharded-f4");
      const whole = await fetchArray<Float32Array>(server.url, "sharded", { transport });
      expect(whole.shape).toEqual([40, 30]);
      expect(Buffer.from(whole.array.buffer).equals(Buffer.from(expected))).toBe(true);
      // Rows 15..17 cross the first shard boundary (16 rows); elements 14*30+11 .. 17*30+13.
      const range = await fetchArray<Float32Array>(server.url, "sharded", { transport, range: [431, 523] });
      expect(Buffer.from(range.array.buffer).equals(Buffer.from(expected.subarray(431 * 4, 523 * 4)))).toBe(true);
      const u64 = await fetchArray<BigUint64Array>(server.url, "u64", { transport, range: [250, 780] });
      expect(Buffer.from(u64.array.buffer).equals(Buffer.from(bytesOf("v3-sharded-u8").subarray(2000, 6240)))).toBe(
        true,
      );
    },
  );

  it("resumes a Zarr stream from an odd byte in the middle", async () => {
    const expected = bytesOf("v3-sharded-f4");
    const first = await fetchArray(server.url, "sharded", { range: [0, 1] });
    const target = new Float32Array(1200);
    const held = 2001;
    new Uint8Array(target.buffer).set(expected.subarray(0, held));
    const result = await fetchArray<Float32Array>(server.url, "sharded", {
      into: target,
      resumeFrom: { array: target, receivedByteLength: held, generation: first.generation },
    });
    expect(Buffer.from(result.array.buffer).equals(Buffer.from(expected))).toBe(true);
  });

  it("refuses an array whose cache does not fit in maxSourceBytes with E_BUSY, and serves the rest", async () => {
    await expect(fetchArray(server.url, "big-cache", { transport: "http" })).rejects.toMatchObject({ code: "E_BUSY" });
    expect(server.stats().sourceByteLength).toBe(0);
    await fetchArray(server.url, "sharded");
    // Given back once the stream ended.
    expect(server.stats().sourceByteLength).toBe(0);
  });
});
