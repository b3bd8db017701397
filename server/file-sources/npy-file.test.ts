/**
 * npyFile against numpy-written fixtures (shared/test-fixtures/npy, whose manifest.json says what
 * numpy reads back) and against larger files made by hand: the bytes served for any range, every
 * error path, change detection, and that the file is closed.
 */
import {
  appendFileSync,
  closeSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StreamError } from "../../shared/index.ts";
import { FileSourceError } from "./file-errors.ts";
import { npyFile } from "./npy-file.ts";
import { byteSwapped, makeTempDir, npyBytes, openWith, readRange, recordingContext, sleep } from "./test-helpers.ts";

const FIXTURES = fileURLToPath(new URL("../../shared/test-fixtures/npy/", import.meta.url));
interface ManifestEntry {
  file: string;
  version: string;
  descr: string;
  shape?: number[];
  fortranOrder?: boolean;
  littleEndianHex?: string;
  code?: string;
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, "manifest.json"), "utf8")) as { files: ManifestEntry[] };
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
const hasFloat16 = typeof (globalThis as { Float16Array?: unknown }).Float16Array === "function";

/** Every (offset, length) of a small array, so ranges start and end mid-element and mid-array. */
function allRanges(byteLength: number): [number, number][] {
  const out: [number, number][] = [];
  for (let offset = 0; offset <= byteLength; offset++) {
    for (let n = 1; offset + n <= byteLength; n++) out.push([offset, n]);
  }
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

describe("npyFile serves numpy's own files", () => {
  const served = manifest.files.filter(
    (f) => f.littleEndianHex !== undefined && (hasFloat16 || !f.descr.endsWith("f2")),
  );

  it.each(served.map((f) => [f.file, f] as const))(
    "%s: dtype, shape and every byte range, little-endian",
    async (_, entry) => {
      const array = await openWith(npyFile(join(FIXTURES, entry.file)));
      const expected = fromHex(entry.littleEndianHex as string);
      expect(array.shape).toEqual(entry.shape);
      expect(array.meta).toEqual({ source: "npy", descr: entry.descr });
      for (const [offset, n] of allRanges(expected.byteLength)) {
        expect(await readRange(array, offset, n), `${offset}+${n}`).toEqual(expected.subarray(offset, offset + n));
      }
      array.close?.();
    },
  );

  it("serves format 1.0, 2.0 and 3.0 files alike", async () => {
    const bytes = await Promise.all(
      ["le-f8.npy", "v2-f8.npy", "v3-f8.npy"].map(async (file) => {
        const array = await openWith(npyFile(join(FIXTURES, file)));
        const out = await readRange(array, 0, 48);
        array.close?.();
        return out;
      }),
    );
    expect(bytes[1]).toEqual(bytes[0]);
    expect(bytes[2]).toEqual(bytes[0]);
    expect(new Float64Array((bytes[0] as Uint8Array).buffer)).toEqual(
      Float64Array.from([-2, -0.75, 0.5, 1.75, 3, 4.25]),
    );
  });

  it.each(manifest.files.filter((f) => f.code === "E_NPY_UNSUPPORTED_DTYPE").map((f) => [f.file, f] as const))(
    "refuses %s with E_UNSUPPORTED naming the descr",
    async (_, entry) => {
      const err = await rejection(openWith(npyFile(join(FIXTURES, entry.file))));
      expect(err).toBeInstanceOf(StreamError);
      expect((err as StreamError).code).toBe("E_UNSUPPORTED");
      expect(err.message).toMatch(new RegExp(`^Cannot serve "${entry.file.replace(".", "\\.")}": Unsupported`));
    },
  );

  it("refuses Fortran-order data with E_UNSUPPORTED by default", async () => {
    const err = await rejection(openWith(npyFile(join(FIXTURES, "fortran-2x3-f8.npy"))));
    expect(err).toMatchObject({ name: "StreamError", code: "E_UNSUPPORTED" });
    expect(err.message).toContain("Fortran-order .npy data: expected C order");
  });

  it("serves Fortran-order data as its transpose when asked: the file's bytes, the shape reversed", async () => {
    const array = await openWith(npyFile(join(FIXTURES, "fortran-2x3-f8.npy"), { fortranOrder: "transpose" }));
    expect(array.shape).toEqual([3, 2]);
    expect(array.meta).toEqual({ source: "npy", descr: "<f8", transposed: true });
    const values = new Float64Array((await readRange(array, 0, 48)).buffer);
    // The (2, 3) array is [[-2, -0.75, 0.5], [1.75, 3, 4.25]]; its transpose, in C order:
    expect([...values]).toEqual([-2, 1.75, -0.75, 3, 0.5, 4.25]);
    array.close?.();
  });

  it("serves a (1, 5) Fortran-order file as is: its layout is C order too", async () => {
    const array = await openWith(npyFile(join(FIXTURES, "fortran-1x5-f4.npy")));
    expect(array.shape).toEqual([1, 5]);
    array.close?.();
  });
});

describe("npyFile on larger files", () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => ({ dir, remove } = makeTempDir()));
  afterEach(() => remove());

  function pseudoRandom(byteLength: number, seed: number): Uint8Array {
    const out = new Uint8Array(byteLength);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < byteLength; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  }

  it.each([
    [">f8", 8],
    [">i4", 4],
    [">u2", 2],
    [">i8", 8],
  ] as const)(
    "converts big-endian %s to little-endian for ranges starting and ending mid-element",
    async (descr, k) => {
      const little = pseudoRandom(k * 10_001, k);
      const path = join(dir, "be.npy");
      writeFileSync(path, npyBytes({ descr, shape: [10_001], data: byteSwapped(little, k), version: 2 }));
      const array = await openWith(npyFile(path));
      expect(array.dtype).toBe({ 8: descr === ">f8" ? "float64" : "bigint64", 4: "int32", 2: "uint16" }[k]);
      for (const [offset, n] of [
        [0, little.byteLength],
        [3 * k, 500 * k],
        [5000 * k + 1, 1234 * k + 3],
        [777, 1],
        [k * 10_000 + 1, k - 1],
        [1, k - 2],
      ] as [number, number][]) {
        if (n <= 0) continue;
        expect(await readRange(array, offset, n), `${offset}+${n}`).toEqual(little.subarray(offset, offset + n));
      }
      array.close?.();
    },
  );

  it("reads a range in the middle of a little-endian file from its file offset", async () => {
    const data = pseudoRandom(8 * 100_000, 7);
    const path = join(dir, "le.npy");
    writeFileSync(path, npyBytes({ descr: "<f8", shape: [250, 400], data }));
    const array = await openWith(npyFile(path));
    expect(array.shape).toEqual([250, 400]);
    expect(await readRange(array, 123_457, 65_536)).toEqual(data.subarray(123_457, 123_457 + 65_536));
    array.close?.();
  });

  it("refuses broken files with a FileSourceError carrying the NpyError code", async () => {
    const good = npyBytes({ descr: "<f8", shape: [4], data: new Uint8Array(32) });
    const cases: [string, Uint8Array, string, RegExp][] = [
      [
        "magic.npy",
        Uint8Array.from([0x50, 0x4b, 3, 4, ...good.subarray(4)]),
        "E_NPY_BAD_MAGIC",
        /^magic\.npy: Not an \.npy file/,
      ],
      [
        "short.npy",
        good.subarray(0, good.byteLength - 8),
        "E_NPY_SIZE_MISMATCH",
        /^short\.npy: \.npy data size mismatch: expected 32 bytes/,
      ],
      ["long.npy", Uint8Array.from([...good, 0]), "E_NPY_SIZE_MISMATCH", /got 33$/],
      ["header.npy", good.subarray(0, 20), "E_NPY_TRUNCATED", /^header\.npy: Truncated \.npy file/],
      ["empty.npy", new Uint8Array(0), "E_NPY_TRUNCATED", /expected at least 10 bytes/],
      [
        "version.npy",
        Uint8Array.from([...good.subarray(0, 6), 4, 0, ...good.subarray(8)]),
        "E_NPY_BAD_VERSION",
        /got 4\.0$/,
      ],
    ];
    for (const [file, bytes, code, message] of cases) {
      writeFileSync(join(dir, file), bytes);
      const err = await rejection(openWith(npyFile(join(dir, file))));
      expect(err, file).toBeInstanceOf(FileSourceError);
      expect((err as FileSourceError).code, file).toBe(code);
      expect(err.message, file).toMatch(message);
    }
  });

  it("caps the header as numpy does, and at maxHeaderSize when given", async () => {
    const path = join(dir, "wide.npy");
    const shape = Array.from({ length: 60 }, () => 1);
    writeFileSync(path, npyBytes({ descr: "<f8", shape, data: new Uint8Array(8) }));
    const array = await openWith(npyFile(path));
    expect(array.shape).toEqual(shape);
    array.close?.();
    const err = await rejection(openWith(npyFile(path, { maxHeaderSize: 100 })));
    expect(err).toMatchObject({ name: "FileSourceError", code: "E_NPY_HEADER_TOO_LARGE" });
    expect(err.message).toMatch(/expected at most 100 characters \(maxHeaderSize\), got 2\d\d bytes/);
  });

  it("reads headers longer than its first read (a 2.0 header of 40 KiB, under a raised cap)", async () => {
    const path = join(dir, "long-header.npy");
    const bytes = npyBytes({
      descr: "<i4",
      shape: [3],
      data: Uint8Array.from([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]),
      version: 2,
    });
    // Pad the header (before its final "\n") to 40 KiB: spaces are valid padding.
    const headerByteLength = new DataView(bytes.buffer).getUint32(8, true);
    const padded = 40 * 1024 - 12;
    const out = new Uint8Array(12 + padded + 12);
    out.set(bytes.subarray(0, 12 + headerByteLength - 1));
    out.fill(0x20, 12 + headerByteLength - 1, 12 + padded - 1);
    out[12 + padded - 1] = 0x0a;
    new DataView(out.buffer).setUint32(8, padded, true);
    out.set(bytes.subarray(12 + headerByteLength), 12 + padded);
    writeFileSync(path, out);
    const refused = await rejection(openWith(npyFile(path)));
    expect(refused).toMatchObject({ code: "E_NPY_HEADER_TOO_LARGE" });
    const array = await openWith(npyFile(path, { maxHeaderSize: 50_000 }));
    expect([...new Int32Array((await readRange(array, 0, 12)).buffer)]).toEqual([1, 2, 3]);
    array.close?.();
  });

  it("answers E_UNKNOWN_NAME for a missing file or a directory, E_BAD_REQUEST for params", async () => {
    const missing = await rejection(openWith(npyFile(join(dir, "nope.npy"))));
    expect(missing).toMatchObject({ name: "StreamError", code: "E_UNKNOWN_NAME" });
    expect(missing.message).toBe('Unknown array: "nope.npy" has no file');
    const directory = await rejection(openWith(npyFile(dir)));
    expect(directory).toMatchObject({ code: "E_UNKNOWN_NAME" });
    expect(directory.message).toMatch(/is not a file$/);
    writeFileSync(join(dir, "a.npy"), npyBytes({ descr: "<f8", shape: [1], data: new Uint8Array(8) }));
    const params = await rejection(openWith(npyFile(join(dir, "a.npy")), { length: 3 }));
    expect(params).toMatchObject({ code: "E_BAD_REQUEST" });
    expect(params.message).toBe('Invalid params for "a.npy": a file takes none, got length');
  });

  it("checks its options", () => {
    expect(() => npyFile("")).toThrow(
      new TypeError('Invalid npyFile path: expected a non-empty string without NUL, got ""'),
    );
    expect(() => npyFile("a\0b")).toThrow(TypeError);
    expect(() => npyFile("a.npy", { fortranOrder: "C" as never })).toThrow(
      new TypeError('Invalid fortranOrder: expected "refuse" or "transpose", got "C"'),
    );
    expect(() => npyFile("a.npy", { maxHeaderSize: 0 })).toThrow(RangeError);
    expect(() => npyFile("a.npy", { chunk: 1 } as never)).toThrow(/Invalid npyFile option "chunk"/);
  });

  it("closes its file on close() and when the open fails", async () => {
    const path = join(dir, "a.npy");
    writeFileSync(path, npyBytes({ descr: "<f8", shape: [16], data: new Uint8Array(128) }));
    writeFileSync(join(dir, "bad.npy"), new Uint8Array(64));
    const before = openFdCount();
    const arrays = await Promise.all(Array.from({ length: 5 }, () => openWith(npyFile(path))));
    expect(openFdCount()).toBeGreaterThanOrEqual(before + 5);
    for (const array of arrays) array.close?.();
    await Promise.all(Array.from({ length: 5 }, () => rejection(openWith(npyFile(join(dir, "bad.npy"))))));
    await sleep(50);
    expect(openFdCount()).toBeLessThanOrEqual(before);
  });
});

describe("npyFile detects a file changing under an open array", () => {
  let dir: string;
  let remove: () => void;
  let path: string;
  const data = new Uint8Array(8 * 4096).map((_, i) => i * 7);
  beforeEach(async () => {
    ({ dir, remove } = makeTempDir());
    path = join(dir, "a.npy");
    writeFileSync(path, npyBytes({ descr: "<f8", shape: [4096], data }));
    // The guarantee excludes a change within the file system's timestamp tick of the previous one.
    await sleep(30);
  });
  afterEach(() => remove());

  const changes: [string, () => void, RegExp][] = [
    ["an append", () => appendFileSync(path, new Uint8Array(8)), /size \d+ -> \d+ bytes/],
    ["a truncation", () => truncateSync(path, 1000), /size|truncated/],
    [
      "an in-place write of the same size",
      () => {
        const fd = openSync(path, "r+");
        writeSync(fd, Uint8Array.of(1, 2, 3), 0, 3, 4000);
        closeSync(fd);
      },
      /modified/,
    ],
    [
      "a replacement by rename",
      () => {
        writeFileSync(join(dir, "b.npy"), npyBytes({ descr: "<f8", shape: [4096], data }));
        renameSync(join(dir, "b.npy"), path);
      },
      /replaced by another file/,
    ],
    ["a removal", () => rmSync(path), /removed/],
    ["mtime set back by hand (ctime still moves)", () => utimesSync(path, 1, 1), /modified/],
  ];

  it.each(changes)("fails reads after %s with E_GONE, and invalidates the shared open", async (_, change, what) => {
    const context = recordingContext();
    const array = await openWith(npyFile(path), null, context);
    expect(await readRange(array, 800, 1600)).toEqual(data.subarray(800, 2400));
    change();
    const err = await rejection(readRange(array, 2400, 1600));
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).code).toBe("E_GONE");
    expect(err.message).toMatch(/^Array "a\.npy" changed while it was read \(/);
    expect(err.message).toMatch(what);
    expect(context.invalidations).toBe(1);
    // Every later read fails too, even of bytes read fine before.
    expect(await rejection(readRange(array, 800, 8))).toMatchObject({ code: "E_GONE" });
    array.close?.();
  });

  it("gives the same version for the same file, and another once it changed", async () => {
    const a = await openWith(npyFile(path));
    const b = await openWith(npyFile(path));
    expect(a.version).toMatch(/^npy:\d+:\d+:\d+:\d+:\d+$/);
    expect(b.version).toBe(a.version);
    appendFileSync(path, new Uint8Array(0));
    const fd = openSync(path, "r+");
    writeSync(fd, Uint8Array.of(9), 0, 1, 200);
    closeSync(fd);
    const c = await openWith(npyFile(path));
    expect(c.version).not.toBe(a.version);
    for (const array of [a, b, c]) array.close?.();
  });
});
