/**
 * zarrArray against fixtures written by zarr-python (v2) and by hand from the v3 specs
 * (test-fixtures/zarr/make-fixtures.py; manifest.json has each array in little-endian C order):
 * every codec, byte order, Fortran-order chunks, missing chunks, partial edge chunks, shards with
 * empty inner chunks and a missing shard, ranges that start and end inside chunks and cross shard
 * boundaries, at any byte; then the errors, the budget and change detection.
 */
import { cpSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StreamError } from "../../shared/index.ts";
import { FileSourceError } from "./file-errors.ts";
import { makeTempDir, openWith, readRange, recordingContext, sleep } from "./test-helpers.ts";
import { zarrArray } from "./zarr-source.ts";

const FIXTURES = fileURLToPath(new URL("./test-fixtures/zarr/", import.meta.url));
interface Entry {
  path: string;
  dtype?: string;
  shape?: number[];
  cHex?: string;
  code?: string;
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, "manifest.json"), "utf8")) as { arrays: Entry[] };
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
const ITEMSIZE: Record<string, number> = {
  float64: 8,
  float32: 4,
  int32: 4,
  int16: 2,
  uint16: 2,
  uint8: 1,
  bigint64: 8,
  biguint64: 8,
};

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("zarrArray serves Zarr v2 and v3 arrays", () => {
  const served = manifest.arrays.filter((a) => a.cHex !== undefined);

  it.each(served.map((a) => [a.path, a] as const))("%s: dtype, shape and ranges at any byte", async (_, entry) => {
    const array = await openWith(zarrArray(join(FIXTURES, entry.path)));
    const expected = fromHex(entry.cHex as string);
    const k = ITEMSIZE[entry.dtype as string] as number;
    expect(array.dtype).toBe(entry.dtype);
    expect(array.shape).toEqual(entry.shape);
    const n = expected.byteLength;
    const ranges: [number, number][] = [
      [0, n],
      [k, n - 2 * k], // starts and ends one element in
      [Math.floor(n / 3) + 1, Math.floor(n / 3)], // starts and ends mid-element, mid-array
      [n - k - 1, k], // across the last element boundary
      [3, 1],
      [n - 1, 1],
    ];
    // Every element of the first chunk's row and then some, one element (or one byte) at a time.
    for (let offset = 0; offset < Math.min(n, 40 * k); offset += k) ranges.push([offset, k]);
    for (let offset = 0; offset < Math.min(n, 3 * k + 1); offset++) ranges.push([offset, 1]);
    for (const [offset, length] of ranges) {
      if (length <= 0 || offset + length > n) continue;
      const got = await readRange(array, offset, length);
      expect(
        Buffer.from(got).equals(Buffer.from(expected.subarray(offset, offset + length))),
        `${offset}+${length}`,
      ).toBe(true);
    }
    array.close?.();
  });

  it("reads every window of a sharded array, across inner chunk and shard boundaries", async () => {
    const entry = served.find((a) => a.path === "v3-sharded-f4") as Entry;
    const expected = fromHex(entry.cHex as string);
    const array = await openWith(zarrArray(join(FIXTURES, entry.path)));
    // Rows are 30 floats (120 bytes); shards are 16 x 12, inner chunks 4 x 6.
    for (let offset = 0; offset < expected.byteLength; offset += 97) {
      const length = Math.min(1000, expected.byteLength - offset);
      const got = await readRange(array, offset, length);
      expect(Buffer.from(got).equals(Buffer.from(expected.subarray(offset, offset + length))), `${offset}`).toBe(true);
    }
    const values = new Float32Array(expected.buffer);
    expect(values[1 * 4 * 30 + 6 * 1 + 2]).toBe(7); // an empty inner chunk reads as the fill value
    expect(values[16 * 30 + 24 + 1]).toBe(7); // the missing shard (1, 2)
    array.close?.();
  });

  it("says where the array comes from in meta", async () => {
    const array = await openWith(zarrArray(join(FIXTURES, "v3-sharded-f4")));
    expect(array.meta).toEqual({ source: "zarr", zarrFormat: 3, dataType: "float32", chunks: [4, 6] });
    expect(array.version).toMatch(/^zarr:\d+:\d+:\d+:\d+:\d+$/);
    array.close?.();
  });

  it("refuses a string array with E_UNSUPPORTED", async () => {
    const err = await rejection(openWith(zarrArray(join(FIXTURES, "v2-str-U4"))));
    expect(err).toBeInstanceOf(StreamError);
    expect(err).toMatchObject({ code: "E_UNSUPPORTED" });
    expect(err.message).toMatch(/^Cannot serve "v2-str-U4": /);
  });

  it("refuses a directory without an array with E_UNKNOWN_NAME, params with E_BAD_REQUEST", async () => {
    const err = await rejection(openWith(zarrArray(FIXTURES)));
    expect(err).toMatchObject({ name: "StreamError", code: "E_UNKNOWN_NAME" });
    expect(err.message).toBe('Unknown array: "zarr" is not a Zarr array (no zarr.json or .zarray)');
    const missing = await rejection(openWith(zarrArray(join(FIXTURES, "nope"))));
    expect(missing).toMatchObject({ code: "E_UNKNOWN_NAME" });
    const params = await rejection(openWith(zarrArray(join(FIXTURES, "v2-gzip-i4")), { a: 1 }));
    expect(params).toMatchObject({ code: "E_BAD_REQUEST" });
  });

  it("checks its options", () => {
    expect(() => zarrArray("")).toThrow(TypeError);
    expect(() => zarrArray("x", { cacheByteLength: 0 })).toThrow(
      new RangeError("Invalid cacheByteLength: expected a positive safe integer, got 0"),
    );
    expect(() => zarrArray("x", { chunk: 1 } as never)).toThrow(/Invalid zarrArray option "chunk"/);
  });

  it("refuses chunks over maxChunkByteLength with E_UNSUPPORTED", async () => {
    const err = await rejection(openWith(zarrArray(join(FIXTURES, "v3-gzip-f8"), { maxChunkByteLength: 400 })));
    expect(err).toMatchObject({ code: "E_UNSUPPORTED" });
    expect(err.message).toBe('Cannot serve "v3-gzip-f8": a chunk of [8,7] is 448 bytes, over maxChunkByteLength 400');
  });

  it("reserves its cache and decoding memory before it reads, and fails when the budget says so", async () => {
    const context = recordingContext();
    const array = await openWith(zarrArray(join(FIXTURES, "v3-gzip-f8"), { cacheByteLength: 4096 }), null, context);
    // 4096 of cache + 2 loads x (448 decoded + 2 x 448 + 64 KiB encoded cap).
    expect(context.reserved).toBe(4096 + 2 * (448 + 896 + 65_536));
    array.close?.();
    const sharded = recordingContext();
    (await openWith(zarrArray(join(FIXTURES, "v3-sharded-f4"), { cacheByteLength: 1000 }), null, sharded)).close?.();
    // 9 shards x ((16/4) x (12/6) inner chunks x 16 bytes + a 4-byte CRC): the indexes zarrita keeps.
    expect(sharded.reserved).toBe(1000 + 2 * (96 + 192 + 65_536) + 9 * (4 * 2 * 16 + 4));
    const err = await rejection(openWith(zarrArray(join(FIXTURES, "v3-gzip-f8")), null, recordingContext(1000)));
    expect(err.message).toMatch(/over the test budget/);
  });

  it("keeps at most cacheByteLength of decoded chunks and still serves every byte", async () => {
    const entry = served.find((a) => a.path === "v2-gzip-i4") as Entry;
    const expected = fromHex(entry.cHex as string);
    // 64-element int32 chunks are 256 bytes: a cache of 600 bytes keeps 2.
    const array = await openWith(zarrArray(join(FIXTURES, entry.path), { cacheByteLength: 600 }));
    for (let pass = 0; pass < 2; pass++) {
      const got = await readRange(array, 0, expected.byteLength);
      expect(Buffer.from(got).equals(Buffer.from(expected))).toBe(true);
    }
    array.close?.();
  });
});

describe("zarrArray on a copy it can change", () => {
  let dir: string;
  let remove: () => void;
  beforeEach(async () => {
    ({ dir, remove } = makeTempDir());
    cpSync(join(FIXTURES, "v3-gzip-f8"), join(dir, "a.zarr"), { recursive: true });
    await sleep(30);
  });
  afterEach(() => remove());

  it("fails with E_GONE when a chunk file is rewritten after the open", async () => {
    const context = recordingContext();
    const array = await openWith(zarrArray(join(dir, "a.zarr")), null, context);
    await readRange(array, 0, 8 * 30 * 8); // the first row of chunks
    await sleep(20);
    const chunk = join(dir, "a.zarr", "c", "3", "0");
    writeFileSync(chunk, readFileSync(chunk));
    const err = await rejection(readRange(array, 8 * 30 * 24, 64));
    expect(err).toMatchObject({ name: "StreamError", code: "E_GONE" });
    expect(err.message).toBe(
      'Array "a.zarr" changed while it was read (/c/3/0 was written after the array opened); restart the transfer',
    );
    expect(context.invalidations).toBe(1);
    array.close?.();
  });

  it("fails with E_GONE when its metadata changes, with a new version after", async () => {
    const array = await openWith(zarrArray(join(dir, "a.zarr")));
    await readRange(array, 0, 64);
    const meta = join(dir, "a.zarr", "zarr.json");
    utimesSync(meta, new Date(), new Date(Date.now() + 5000));
    const err = await rejection(readRange(array, 0, 64));
    expect(err).toMatchObject({ code: "E_GONE" });
    expect(err.message).toMatch(/metadata modified/);
    const again = await openWith(zarrArray(join(dir, "a.zarr")));
    expect(again.version).not.toBe(array.version);
    array.close?.();
    again.close?.();
  });

  it("never reads a chunk through a symlink, nor outside its directory", async () => {
    const secret = join(dir, "secret");
    writeFileSync(secret, Buffer.alloc(448, 0xee));
    const chunk = join(dir, "a.zarr", "c", "0", "0");
    rmSync(chunk);
    symlinkSync(secret, chunk);
    rmSync(join(dir, "a.zarr", "c", "1"), { recursive: true });
    symlinkSync(dir, join(dir, "a.zarr", "c", "1"));
    const array = await openWith(zarrArray(join(dir, "a.zarr")));
    // A symlinked chunk or chunk directory reads as absent: the fill value (-1), never 0xee bytes.
    const first = new Float64Array((await readRange(array, 0, 8)).buffer);
    expect(first[0]).toBe(-1);
    const second = new Float64Array((await readRange(array, 8 * 30 * 8, 8)).buffer);
    expect(second[0]).toBe(-1);
    array.close?.();
  });

  it("reports a corrupt chunk as a FileSourceError (E_INTERNAL for the client)", async () => {
    writeFileSync(join(dir, "a.zarr", "c", "0", "0"), Buffer.from("not gzip at all"));
    await sleep(5);
    const { utimesSync: touch } = await import("node:fs");
    touch(join(dir, "a.zarr", "c", "0", "0"), 1, 1);
    const array = await openWith(zarrArray(join(dir, "a.zarr")));
    const err = await rejection(readRange(array, 0, 8));
    expect(err).toBeInstanceOf(FileSourceError);
    expect((err as FileSourceError).code).toBe("E_ZARR_CHUNK");
    array.close?.();
  });
});
