/**
 * The .npy codec against files numpy wrote (shared/test-fixtures/npy, made by make-fixtures.py),
 * hand-made headers as literal bytes, and properties (fast-check). shared/npy-numpy.test.ts compares
 * with a live numpy where one is installed.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { swapBytesInPlace } from "./byte-swap.ts";
import { DTYPE_BYTES_PER_ELEMENT, isDtypeSupported, typedArrayConstructor } from "./dtype.ts";
import {
  DEFAULT_NPY_MAX_HEADER_SIZE,
  encodeNpyHeader,
  NPY_MAX_NDIM,
  type NpyDtype,
  type NpyHeader,
  type NpyParseOptions,
  type NpyVersion,
  parseNpyHeader,
} from "./npy.ts";
import { NpyError, type NpyErrorCode } from "./npy-errors.ts";

interface FixtureEntry {
  file: string;
  version: NpyVersion;
  dataByteOffset: number;
  fileByteLength: number;
  descr: string;
  shape?: number[];
  fortranOrder?: boolean;
  littleEndianHex?: string;
  values?: (string | number)[];
  code?: NpyErrorCode;
  headerDescr?: string;
}
const FIXTURES = new URL("./test-fixtures/npy/", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("manifest.json", FIXTURES), "utf8")) as { files: FixtureEntry[] };
const readFixture = (file: string) => new Uint8Array(readFileSync(new URL(file, FIXTURES)));

/** A file: magic, version, the length field, `text` (latin-1 or, in 3.0, UTF-8), then `dataByteLength` zeros. */
function npyFile(text: string, version: NpyVersion = "1.0", dataByteLength = 0): Uint8Array {
  const body =
    version === "3.0" ? new TextEncoder().encode(text) : Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  const prefix = version === "1.0" ? 10 : 12;
  const out = new Uint8Array(prefix + body.byteLength + dataByteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, Number(version[0]), 0]);
  const view = new DataView(out.buffer);
  if (version === "1.0") view.setUint16(8, body.byteLength, true);
  else view.setUint32(8, body.byteLength, true);
  out.set(body, prefix);
  return out;
}
const dict = (descr: string, shape: string, fortran = "False") =>
  `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;

function parseWhole(bytes: Uint8Array, options: NpyParseOptions = {}): NpyHeader {
  const result = parseNpyHeader(bytes, { fileByteLength: bytes.byteLength, ...options });
  if (!result.done) throw new Error(`expected a complete header, needs ${result.needByteLength}`);
  return result.header;
}

function expectNpyError(run: () => unknown, code: NpyErrorCode, message: string | RegExp): NpyError {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(NpyError);
  const err = caught as NpyError;
  expect(err.name).toBe("NpyError");
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
  return err;
}

/** What a streaming caller does: read `firstReadByteLength`, then whatever the parser asks for. */
function parseByReads(file: Uint8Array, firstReadByteLength: number, options: NpyParseOptions = {}) {
  let readByteLength = Math.min(firstReadByteLength, file.byteLength);
  for (let calls = 1; calls <= 4; calls++) {
    const result = parseNpyHeader(file.subarray(0, readByteLength), { ...options, fileByteLength: file.byteLength });
    if (result.done) return { header: result.header, calls, readByteLength };
    expect(result.needByteLength).toBeGreaterThan(readByteLength);
    readByteLength = result.needByteLength;
  }
  throw new Error("the parser kept asking for more bytes");
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

describe("parseNpyHeader on files numpy wrote", () => {
  const supported = manifest.files.filter((f) => f.code === undefined);

  it("covers every supported dtype, both byte orders, and format versions 1.0, 2.0 and 3.0", () => {
    const descrs = new Set(supported.map((f) => f.descr));
    for (const d of ["<f8", "<f4", "<f2", "<i8", "<u8", "<i4", "<u4", "<i2", "<u2", "|i1", "|u1", "|b1"]) {
      expect(descrs).toContain(d);
      if (!d.startsWith("|")) expect(descrs).toContain(`>${d.slice(1)}`);
    }
    expect(new Set(manifest.files.map((f) => f.version))).toEqual(new Set(["1.0", "2.0", "3.0"]));
  });

  for (const entry of supported) {
    it(`reads ${entry.file} (${entry.descr}, shape (${entry.shape}), format ${entry.version})`, () => {
      const file = readFixture(entry.file);
      const { header, calls } = parseByReads(file, 64);
      expect(calls).toBeLessThanOrEqual(2);
      expect(header).toMatchObject({
        version: entry.version,
        descr: entry.descr,
        shape: entry.shape,
        fortranOrder: entry.fortranOrder,
        layout: "C",
        dataByteOffset: entry.dataByteOffset,
        dataByteLength: entry.fileByteLength - entry.dataByteOffset,
      });
      expect(header.dataByteOffset % 64).toBe(0);
      expect(header.elementCount).toBe((entry.shape ?? []).reduce((a, b) => a * b, 1));
      expect(header.needsByteSwap).toBe(entry.descr.startsWith(">"));
      expect(header.byteOrder).toBe({ "<": "little", ">": "big", "|": "none" }[entry.descr[0] as string]);

      // The data as served: a copy of the file's bytes, swapped when big-endian.
      const data = file.slice(header.dataByteOffset);
      if (header.needsByteSwap) swapBytesInPlace(data, header.bytesPerElement);
      expect(hex(data)).toBe(entry.littleEndianHex);
      if (isDtypeSupported(header.dtype)) {
        const array = new (typedArrayConstructor(header.dtype))(data.buffer, 0, header.elementCount);
        const bool = (v: string | number) => (v === "True" ? "1" : v === "False" ? "0" : String(v));
        expect(Array.from(array as ArrayLike<number | bigint>, String)).toEqual(entry.values?.map(bool));
      }
    });
  }

  it("maps numpy's descrs to arraywire dtypes (bool as uint8)", () => {
    const dtypeOf = (file: string) => parseWhole(readFixture(file));
    expect(dtypeOf("le-b1.npy")).toMatchObject({ npyDtype: "bool", dtype: "uint8", bytesPerElement: 1 });
    expect(dtypeOf("le-i8.npy")).toMatchObject({ npyDtype: "bigint64", dtype: "bigint64", bytesPerElement: 8 });
    expect(dtypeOf("be-u8.npy")).toMatchObject({ dtype: "biguint64", descr: ">u8", byteOrder: "big" });
    expect(dtypeOf("le-f2.npy")).toMatchObject({ dtype: "float16", bytesPerElement: 2 });
    expect(dtypeOf("le-i1.npy")).toMatchObject({ dtype: "int8", byteOrder: "none", needsByteSwap: false });
    expect(dtypeOf("scalar-f8.npy")).toMatchObject({ shape: [], elementCount: 1, dataByteLength: 8 });
    expect(dtypeOf("empty-0x3-i4.npy")).toMatchObject({ shape: [0, 3], elementCount: 0, dataByteLength: 0 });
  });

  for (const entry of manifest.files.filter((f) => f.code !== undefined)) {
    it(`refuses ${entry.file} with ${entry.code}`, () => {
      const file = readFixture(entry.file);
      if (entry.code === "E_NPY_UNSUPPORTED_DTYPE") {
        const err = expectNpyError(
          () => parseWhole(file),
          "E_NPY_UNSUPPORTED_DTYPE",
          `Unsupported .npy dtype: expected <f8 <f4 <f2 <i8 <u8 <i4 <u4 <i2 <u2 |i1 |u1 |b1, or '>' for big-endian, got ${entry.headerDescr}`,
        );
        expect(err.descr).toBe(entry.headerDescr);
      } else {
        expectNpyError(
          () => parseWhole(file),
          "E_NPY_FORTRAN_ORDER",
          "Fortran-order .npy data: expected C order (fortran_order False) for shape (2, 3), got fortran_order True",
        );
        expect(parseWhole(file, { allowFortranOrder: true })).toMatchObject({ fortranOrder: true, layout: "F" });
      }
    });
  }
});

describe("parseNpyHeader on hand-made headers", () => {
  it("reads a format 1.0 header given as literal bytes", () => {
    const text = "{'descr':'<u2','fortran_order':False,'shape':(3,)}";
    const bytes = new Uint8Array([
      ...[0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], // magic "\x93NUMPY"
      0x01, // major version
      0x00, // minor version
      ...[0x36, 0x00], // HEADER_LEN = 54, u16 little-endian
      ...Array.from(text, (c) => c.charCodeAt(0)), // 50 characters of dict
      ...[0x20, 0x20, 0x20], // padding
      0x0a, // newline: the header ends at 10 + 54 = 64
      ...[0x01, 0x02, 0x03, 0x04, 0x05, 0x06], // data: 3 x u16
    ]);
    expect(parseWhole(bytes)).toEqual({
      version: "1.0",
      descr: "<u2",
      npyDtype: "uint16",
      dtype: "uint16",
      bytesPerElement: 2,
      byteOrder: "little",
      needsByteSwap: false,
      fortranOrder: false,
      layout: "C",
      shape: [3],
      elementCount: 3,
      dataByteOffset: 64,
      dataByteLength: 6,
    });
  });

  it("reads format 2.0 and 3.0 length fields (u32) and 3.0's UTF-8 text", () => {
    const text = dict("'<i4'", "(2,)");
    expect(parseWhole(npyFile(text, "2.0", 8))).toMatchObject({ version: "2.0", dataByteOffset: 12 + text.length });
    const v3 = npyFile(`${dict("'<i4'", "(2,)")}# \u20ac\u00e9 comment\n`, "3.0", 8);
    expect(parseWhole(v3)).toMatchObject({ version: "3.0", shape: [2], dataByteOffset: v3.byteLength - 8 });
  });

  it("reads headers that do not end at a multiple of 64 (old numpy and other writers)", () => {
    const file = npyFile("{'descr':'<f4','fortran_order':False,'shape':(1,)}", "1.0", 4);
    expect(parseWhole(file)).toMatchObject({ dataByteOffset: 60, dataByteLength: 4, shape: [1] });
  });

  it("reads the literal variants literal_eval reads", () => {
    const variants = [
      `{"descr": "<f8", "fortran_order": False, "shape": (2, 3)}`,
      `{'shape': (2, 3,), 'fortran_order': False, 'descr': u'<f8'}`,
      `  {'descr' : '<' 'f8' ,\n 'fortran_order' :(False) , # hand-written\n 'shape':( 2 , 0x3 ) , }\r\n\r\n`,
      `({'descr': '''<f8''', 'fortran_order': False, 'shape': (+2, 3)})`,
    ];
    for (const text of variants) {
      expect(parseWhole(npyFile(text, "1.0", 48)), text).toMatchObject({ descr: "<f8", shape: [2, 3] });
    }
  });

  it("reads Python 2's long integers in format 1.0 and 2.0, not in 3.0 (as numpy)", () => {
    const text = dict("'<f8'", "(2L, 3L)");
    expect(parseWhole(npyFile(text, "1.0", 48)).shape).toEqual([2, 3]);
    expect(parseWhole(npyFile(text, "2.0", 48)).shape).toEqual([2, 3]);
    expectNpyError(
      () => parseWhole(npyFile(text, "3.0", 48)),
      "E_NPY_BAD_HEADER",
      'integer literal (no floats), got "L, 3L)',
    );
  });

  it("reads every spelling numpy gives the supported dtypes", () => {
    const cases: [string, string, NpyDtype][] = [
      ["'=f8'", "<f8", "float64"],
      ["'|f8'", "<f8", "float64"],
      ["'f8'", "<f8", "float64"],
      ["'<i08'", "<i8", "bigint64"],
      ["'<d'", "<f8", "float64"],
      ["'>d'", ">f8", "float64"],
      ["'f'", "<f4", "float32"],
      ["'e'", "<f2", "float16"],
      ["'>h'", ">i2", "int16"],
      ["'H'", "<u2", "uint16"],
      ["'i'", "<i4", "int32"],
      ["'I'", "<u4", "uint32"],
      ["'q'", "<i8", "bigint64"],
      ["'Q'", "<u8", "biguint64"],
      ["'b'", "|i1", "int8"],
      ["'B'", "|u1", "uint8"],
      ["'?'", "|b1", "bool"],
      ["'>?'", "|b1", "bool"],
      ["'b1'", "|b1", "bool"],
      ["'<i1'", "|i1", "int8"],
      ["'>u1'", "|u1", "uint8"],
      ["'float64'", "<f8", "float64"],
      ["'double'", "<f8", "float64"],
      ["'single'", "<f4", "float32"],
      ["'half'", "<f2", "float16"],
      ["'int64'", "<i8", "bigint64"],
      ["'uint32'", "<u4", "uint32"],
      ["'bool_'", "|b1", "bool"],
    ];
    for (const [descr, canonical, npyDtype] of cases) {
      const itemsize = npyDtype === "bool" ? 1 : DTYPE_BYTES_PER_ELEMENT[npyDtype];
      const header = parseWhole(npyFile(dict(descr, "(3,)"), "1.0", 3 * itemsize));
      expect({ descr: header.descr, npyDtype: header.npyDtype }, descr).toEqual({ descr: canonical, npyDtype });
    }
  });

  it("refuses dtypes with no typed array, or whose size depends on the platform", () => {
    for (const descr of ["'<c8'", "'<f16'", "'<U3'", "'|V8'", "'<l'", "'L'", "'<float64'", "'int'", "'<i3'", "'b2'"]) {
      const err = expectNpyError(
        () => parseWhole(npyFile(dict(descr, "(3,)"))),
        "E_NPY_UNSUPPORTED_DTYPE",
        `, got ${descr}`,
      );
      expect(err.descr).toBe(descr);
    }
    const structured = "[('x', '<f8'), ('y', '<i4', (2,))]";
    expect(expectNpyError(() => parseWhole(npyFile(dict(structured, "()"))), "E_NPY_UNSUPPORTED_DTYPE", "").descr).toBe(
      structured,
    );
    expectNpyError(() => parseWhole(npyFile(dict("('<f8', (2,))", "()"))), "E_NPY_UNSUPPORTED_DTYPE", "('<f8', (2,))");
  });

  it("reports Fortran order, and refuses it only where the layout differs from C order", () => {
    const sameBytes: [string, number][] = [
      ["()", 1],
      ["(5,)", 5],
      ["(1, 5)", 5],
      ["(5, 1)", 5],
      ["(1, 1, 4, 1)", 4],
      ["(0, 3)", 0],
      ["(3, 0, 2)", 0],
    ];
    for (const [shape, count] of sameBytes) {
      const header = parseWhole(npyFile(dict("'<f4'", shape, "True"), "1.0", 4 * count));
      expect({ fortranOrder: header.fortranOrder, layout: header.layout }, shape).toEqual({
        fortranOrder: true,
        layout: "C",
      });
    }
    for (const [shape, count] of [
      ["(2, 3)", 6],
      ["(1, 2, 1, 2)", 4],
      ["(2, 3, 1)", 6],
    ] as const) {
      const file = npyFile(dict("'<f4'", shape, "True"), "1.0", 4 * count);
      expectNpyError(() => parseWhole(file), "E_NPY_FORTRAN_ORDER", `for shape ${shape}, got fortran_order True`);
      expect(parseWhole(file, { allowFortranOrder: true }).layout).toBe("F");
    }
  });

  it("parses inputs that are subarrays at odd byte offsets", () => {
    for (const version of ["1.0", "2.0", "3.0"] as const) {
      const file = npyFile(dict("'>i4'", "(2, 2)"), version, 16);
      for (const offset of [1, 3, 5, 7]) {
        const backing = new Uint8Array(offset + file.byteLength + 9).fill(0xee);
        backing.set(file, offset);
        const view = backing.subarray(offset, offset + file.byteLength);
        expect(parseWhole(view)).toEqual(parseWhole(file));
        // A window shorter than the header asks for more, counting from the window's own start.
        expect(parseNpyHeader(backing.subarray(offset, offset + 11))).toEqual({
          done: false,
          needByteLength: version === "1.0" ? file.byteLength - 16 : 12,
        });
      }
    }
  });
});

describe("parseNpyHeader on a prefix of the file", () => {
  const files = [readFixture("le-f8.npy"), readFixture("v2-be-i4.npy"), readFixture("v3-f8.npy")];

  it("asks for more bytes at every truncation inside the header, and never for more than the header", () => {
    for (const file of files) {
      const whole = parseWhole(file);
      for (let n = 0; n < whole.dataByteOffset; n++) {
        const result = parseNpyHeader(file.subarray(0, n));
        expect(result.done, `${n} bytes`).toBe(false);
        if (result.done) continue;
        expect(result.needByteLength).toBeGreaterThan(n);
        expect(result.needByteLength).toBeLessThanOrEqual(whole.dataByteOffset);
        // A call with what it asked for completes or asks for more, up to the header's end.
        const next = parseNpyHeader(file.subarray(0, result.needByteLength));
        if (!next.done) expect(next.needByteLength).toBeGreaterThan(result.needByteLength);
        if (!next.done) expect(next.needByteLength).toBeLessThanOrEqual(whole.dataByteOffset);
      }
      expect(parseNpyHeader(file.subarray(0, whole.dataByteOffset))).toEqual({ done: true, header: whole });
    }
  });

  it("needs at most 3 reads, and 1 when the first read covers the header", () => {
    const file = readFixture("le-f8.npy");
    expect(parseByReads(file, 1)).toMatchObject({ calls: 3, readByteLength: 128 });
    expect(parseByReads(file, 10)).toMatchObject({ calls: 2, readByteLength: 128 });
    expect(parseByReads(file, 128)).toMatchObject({ calls: 1, readByteLength: 128 });
    expect(parseByReads(file, 4096)).toMatchObject({ calls: 1, readByteLength: 176 });
  });

  it("throws E_NPY_TRUNCATED when the file ends inside the header", () => {
    for (const file of files) {
      const { dataByteOffset } = parseWhole(file);
      for (let n = 0; n < dataByteOffset; n++) {
        expectNpyError(
          () => parseNpyHeader(file.subarray(0, n), { fileByteLength: n }),
          "E_NPY_TRUNCATED",
          /^Truncated \.npy file: expected at least \d+ bytes for the header, got a file of \d+$/,
        );
      }
    }
    expectNpyError(
      () => parseNpyHeader(readFixture("le-f8.npy").subarray(0, 10), { fileByteLength: 127 }),
      "E_NPY_TRUNCATED",
      "Truncated .npy file: expected at least 128 bytes for the header, got a file of 127",
    );
  });

  it("throws E_NPY_SIZE_MISMATCH when the data is one byte short or long", () => {
    const file = readFixture("le-f8.npy");
    expect(parseNpyHeader(file, { fileByteLength: 176 }).done).toBe(true);
    for (const fileByteLength of [175, 177, 128]) {
      expectNpyError(
        () => parseNpyHeader(file.subarray(0, 128), { fileByteLength }),
        "E_NPY_SIZE_MISMATCH",
        `.npy data size mismatch: expected 48 bytes after the 128-byte header (shape (2, 3) of <f8), got ${fileByteLength - 128}`,
      );
    }
    // Without fileByteLength nothing about the data is checked: the header alone is enough.
    expect(parseNpyHeader(file.subarray(0, 128)).done).toBe(true);
  });
});

describe("parseNpyHeader errors", () => {
  it("E_NPY_BAD_MAGIC: on the first wrong byte, even before 6 bytes arrived", () => {
    expectNpyError(
      () => parseNpyHeader(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00])),
      "E_NPY_BAD_MAGIC",
      "Not an .npy file: expected magic 93 4e 55 4d 50 59, got 50 4b 03 04 14 00",
    );
    expectNpyError(
      () => parseNpyHeader(new Uint8Array([0x93, 0x4e, 0x55, 0x4e])),
      "E_NPY_BAD_MAGIC",
      "got 93 4e 55 4e",
    );
    expectNpyError(() => parseNpyHeader(new TextEncoder().encode("\x93NUMPY")), "E_NPY_BAD_MAGIC", "got c2 93 4e");
    expect(parseNpyHeader(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50]))).toEqual({ done: false, needByteLength: 10 });
  });

  it("E_NPY_BAD_VERSION: anything but 1.0, 2.0 and 3.0", () => {
    for (const [major, minor] of [
      [0, 0],
      [1, 1],
      [4, 0],
      [2, 255],
    ]) {
      const bytes = npyFile(dict("'<f8'", "(1,)"), "1.0", 8);
      bytes.set([major as number, minor as number], 6);
      expectNpyError(
        () => parseNpyHeader(bytes.subarray(0, 8)),
        "E_NPY_BAD_VERSION",
        `Unsupported .npy format version: expected 1.0, 2.0 or 3.0, got ${major}.${minor}`,
      );
    }
  });

  it("E_NPY_HEADER_TOO_LARGE: numpy's 10000-character cap by default, at most and at least", () => {
    expect(DEFAULT_NPY_MAX_HEADER_SIZE).toBe(10_000);
    const padded = (length: number) => `${dict("'<f8'", "(1,)").padEnd(length - 1, " ")}\n`;
    expect(parseWhole(npyFile(padded(10_000), "1.0", 8)).dataByteOffset).toBe(10_010);
    // Refused from the length field alone: the caller never reads the long header.
    const tooLong = npyFile(padded(10_001), "1.0", 8);
    expectNpyError(
      () => parseNpyHeader(tooLong.subarray(0, 10)),
      "E_NPY_HEADER_TOO_LARGE",
      ".npy header too large: expected at most 10000 characters (maxHeaderSize), got 10001 bytes",
    );
    expectNpyError(
      () => parseNpyHeader(npyFile(padded(60_000), "2.0").subarray(0, 12)),
      "E_NPY_HEADER_TOO_LARGE",
      "60000",
    );
    // maxHeaderSize raises or lowers the cap.
    expect(parseWhole(npyFile(padded(60_000), "2.0", 8), { maxHeaderSize: 60_000 }).version).toBe("2.0");
    expect(parseWhole(npyFile(padded(128), "1.0", 8), { maxHeaderSize: 128 }).version).toBe("1.0");
    expectNpyError(
      () => parseWhole(npyFile(padded(129), "1.0", 8), { maxHeaderSize: 128 }),
      "E_NPY_HEADER_TOO_LARGE",
      "got 129 bytes",
    );
  });

  it("E_NPY_HEADER_TOO_LARGE: format 3.0 counts characters, as numpy's len(header) does", () => {
    // 100 three-byte characters in a comment: 300 bytes but 100 characters.
    const text = (characters: number) => {
      const base = dict("'<f8'", "(1,)");
      return `${base}#${"\u20ac".repeat(characters - base.length - 2)}\n`;
    };
    const max = 150;
    expect(new TextEncoder().encode(text(max)).byteLength).toBeGreaterThan(max);
    expect(parseWhole(npyFile(text(max), "3.0", 8), { maxHeaderSize: max }).version).toBe("3.0");
    expectNpyError(
      () => parseWhole(npyFile(text(max + 1), "3.0", 8), { maxHeaderSize: max }),
      "E_NPY_HEADER_TOO_LARGE",
      `got ${max + 1} characters`,
    );
    // Over 4 bytes per allowed character cannot fit: refused from the length field.
    const huge = npyFile(" ".repeat(4 * max + 1), "3.0");
    expectNpyError(
      () => parseNpyHeader(huge.subarray(0, 12), { maxHeaderSize: max }),
      "E_NPY_HEADER_TOO_LARGE",
      "601 bytes",
    );
    expect(parseNpyHeader(npyFile(" ".repeat(4 * max), "3.0").subarray(0, 12), { maxHeaderSize: max })).toEqual({
      done: false,
      needByteLength: 12 + 4 * max,
    });
  });

  it("E_NPY_BAD_HEADER: what numpy's checks after literal_eval refuse", () => {
    const cases: [string, string][] = [
      ["(1, 2)", "expected a dict literal, got (1, 2)"],
      [
        "{'descr': '<f8', 'shape': (1,)}",
        "expected the keys 'descr', 'fortran_order', 'shape', got no 'fortran_order'",
      ],
      [
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}",
        "expected only the keys 'descr', 'fortran_order', 'shape', got 'x'",
      ],
      ["{b'descr': '<f8'}", "expected only the keys 'descr', 'fortran_order', 'shape', got b'descr'"],
      [
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'shape': (2,)}",
        "expected each key once, got 'shape' twice",
      ],
      [dict("'<f8'", "[1]"), "expected shape as a tuple of at most 64 integers, got [1]"],
      [dict("'<f8'", "(3)"), "expected shape as a tuple of at most 64 integers, got 3"],
      [dict("'<f8'", "(-1,)"), "expected shape of integers in 0..2^53-1, got (-1,)"],
      [dict("'<f8'", "(True,)"), "expected shape of integers in 0..2^53-1, got (True,)"],
      [dict("'<f8'", "(9007199254740992,)"), "expected shape of integers in 0..2^53-1, got (9007199254740992,)"],
      [dict("'<f8'", "(9007199254740991, 2)"), "expected a data byte length up to 2^53-1, got 144115188075855856"],
      [dict("'<f8'", "(1,)", "0"), "expected fortran_order True or False, got 0"],
      [dict("'<f8'", "(1,)", "None"), "expected fortran_order True or False, got None"],
      [dict("b'<f8'", "(1,)"), "expected descr as a dtype string (or a structured dtype's list), got b'<f8'"],
      [dict("None", "(1,)"), "expected descr as a dtype string (or a structured dtype's list), got None"],
      [dict("'<f8'", "(1.0,)"), "expected an integer literal (no floats)"],
    ];
    for (const [text, message] of cases) {
      expectNpyError(() => parseWhole(npyFile(text, "1.0", 8)), "E_NPY_BAD_HEADER", `Invalid .npy header: ${message}`);
    }
  });

  it("E_NPY_BAD_HEADER: at most NPY_MAX_NDIM dimensions", () => {
    const shape = (ndim: number) => `(${Array(ndim).fill("1").join(", ")},)`;
    expect(parseWhole(npyFile(dict("'<f8'", shape(NPY_MAX_NDIM)), "1.0", 8)).shape).toHaveLength(64);
    expectNpyError(
      () => parseWhole(npyFile(dict("'<f8'", shape(NPY_MAX_NDIM + 1)), "1.0", 8)),
      "E_NPY_BAD_HEADER",
      "at most 64",
    );
  });

  it("E_NPY_BAD_HEADER: format 3.0 text that is not UTF-8, and a byte-order mark", () => {
    const file = npyFile(dict("'<f8'", "(1,)"), "3.0", 8);
    file[20] = 0xff;
    const err = expectNpyError(
      () => parseWhole(file),
      "E_NPY_BAD_HEADER",
      "Invalid .npy header: expected UTF-8 (format 3.0), got invalid bytes",
    );
    expect(err.cause).toBeInstanceOf(TypeError);
    expectNpyError(() => parseWhole(npyFile(`\ufeff${dict("'<f8'", "(1,)")}`, "3.0", 8)), "E_NPY_BAD_HEADER", "at 0");
    // Latin-1 (1.0) maps every byte to one character: 0xff is "ÿ" in a comment, no error.
    expect(parseWhole(npyFile(`${dict("'<f8'", "(1,)")}#\xff\x85\n`, "1.0", 8)).shape).toEqual([1]);
  });

  it("RangeError for options that are not non-negative safe integers", () => {
    const file = readFixture("le-f8.npy");
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => parseNpyHeader(file, { maxHeaderSize: bad })).toThrow(RangeError);
      expect(() => parseNpyHeader(file, { fileByteLength: bad })).toThrow(RangeError);
    }
    expect(() => parseNpyHeader(file, { maxHeaderSize: -1 })).toThrow(
      "maxHeaderSize: expected a non-negative safe integer, got -1",
    );
  });
});

describe("encodeNpyHeader", () => {
  it("writes numpy.save's header for float64 (2, 3): sorted keys, room to grow, 64-byte aligned", () => {
    const header = encodeNpyHeader({ dtype: "float64", shape: [2, 3] });
    expect(Array.from(header.subarray(0, 10))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
    const dictText = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    expect(new TextDecoder().decode(header.subarray(10))).toBe(`${dictText}${" ".repeat(117 - dictText.length)}\n`);
    expect(header.byteLength).toBe(128);
  });

  it("writes the same bytes as numpy for every fixture numpy wrote", () => {
    for (const entry of manifest.files.filter((f) => f.code === undefined && !f.descr.startsWith(">"))) {
      const file = readFixture(entry.file);
      const { npyDtype, shape, fortranOrder, version } = parseWhole(file);
      const header = encodeNpyHeader({ dtype: npyDtype, shape, fortranOrder, version });
      expect(hex(header), entry.file).toBe(hex(file.subarray(0, entry.dataByteOffset)));
    }
  });

  it("writes the growth room after the first axis in C order and after the last in Fortran order", () => {
    const text = (init: Parameters<typeof encodeNpyHeader>[0]) => new TextDecoder().decode(encodeNpyHeader(init));
    // Byte lengths numpy writes: C order leaves 21 - 1 spaces after the first axis (1), which
    // crosses 128 bytes; Fortran order leaves 21 - 16 after the last (10^15) and says "True".
    const shape = [...Array(9).fill(1), 10 ** 15];
    expect(encodeNpyHeader({ dtype: "int8", shape }).byteLength).toBe(192);
    expect(encodeNpyHeader({ dtype: "int8", shape, fortranOrder: true }).byteLength).toBe(128);
    const c = text({ dtype: "int8", shape: [100_000, 7] });
    const dictText = "{'descr': '|i1', 'fortran_order': False, 'shape': (100000, 7), }";
    expect(c.slice(10)).toBe(`${dictText.padEnd(117, " ")}\n`);
    expect(text({ dtype: "bool", shape: [] }).slice(10)).toBe(
      `{'descr': '|b1', 'fortran_order': False, 'shape': (), }${" ".repeat(62)}\n`,
    );
    expect(text({ dtype: "uint8clamped", shape: [5] })).toContain("{'descr': '|u1', ");
  });

  it("pads with 64 spaces when the header already ends at a multiple of 64, as numpy's formula does", () => {
    const shape = [...Array(5).fill(1000), ...Array(27).fill(1)];
    const dictText = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(", ")}), }${" ".repeat(17)}`;
    expect((10 + dictText.length + 1) % 64).toBe(0);
    const header = encodeNpyHeader({ dtype: "float64", shape });
    expect(header.byteLength).toBe(10 + dictText.length + 64 + 1);
    expect(new TextDecoder().decode(header.subarray(10))).toBe(`${dictText}${" ".repeat(64)}\n`);
  });

  it("writes format 2.0 and 3.0 when asked, still aligned to 64", () => {
    for (const version of ["2.0", "3.0"] as const) {
      const header = encodeNpyHeader({ dtype: "float32", shape: [4], version });
      expect(header[6]).toBe(Number(version[0]));
      expect(header.byteLength % 64).toBe(0);
      expect(new DataView(header.buffer).getUint32(8, true)).toBe(header.byteLength - 12);
      expect(parseWhole(concat(header, new Uint8Array(16)))).toMatchObject({ version, shape: [4], dtype: "float32" });
    }
  });

  it("refuses a dtype, shape or version it cannot write", () => {
    expect(() => encodeNpyHeader({ dtype: "complex128" as NpyDtype, shape: [1] })).toThrow(
      new TypeError("dtype: expected an npy dtype, got complex128"),
    );
    expect(() => encodeNpyHeader({ dtype: "float64", shape: [-1] })).toThrow(
      new RangeError("shape: expected non-negative integers, got -1"),
    );
    expect(() => encodeNpyHeader({ dtype: "float64", shape: [1.5] })).toThrow(RangeError);
    expect(() => encodeNpyHeader({ dtype: "float64", shape: Array(65).fill(1) })).toThrow(
      "shape: expected an array of at most 64 dimensions",
    );
    expect(encodeNpyHeader({ dtype: "float64", shape: Array(64).fill(1) }).byteLength % 64).toBe(0);
    expect(() => encodeNpyHeader({ dtype: "float64", shape: [2 ** 50, 8] })).toThrow(
      "shape: expected a byte length up to 2^53-1, got 72057594037927936 for (1125899906842624, 8)",
    );
    expect(encodeNpyHeader({ dtype: "int8", shape: [2 ** 53 - 1] }).byteLength).toBe(128);
    expect(encodeNpyHeader({ dtype: "float64", shape: [2 ** 53 - 1, 2 ** 53 - 1, 0] }).byteLength).toBe(128);
    expect(() => encodeNpyHeader({ dtype: "float64", shape: [1], version: "4.0" as NpyVersion })).toThrow(
      'version: expected "1.0", "2.0" or "3.0", got 4.0',
    );
  });
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

describe("properties", () => {
  const SEED = Number(process.env.PROPERTY_SEED ?? 0x4e5059);
  const params = (numRuns: number) => ({ seed: SEED, numRuns });
  const npyDtypes: NpyDtype[] = [
    "bool",
    "int8",
    "uint8",
    "uint8clamped",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "float16",
    "float32",
    "float64",
    "bigint64",
    "biguint64",
  ];

  it("encode -> parse round-trips every dtype, shape, order and version", () => {
    const shape = fc.oneof(
      fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 5 }),
      fc.array(fc.integer({ min: 0, max: 2 ** 20 }), { maxLength: 2 }),
      fc.array(fc.constant(1), { minLength: 60, maxLength: 64 }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...npyDtypes),
        shape,
        fc.boolean(),
        fc.constantFrom<NpyVersion | undefined>(undefined, "1.0", "2.0", "3.0"),
        (dtype, dims, fortranOrder, version) => {
          const header = encodeNpyHeader({ dtype, shape: dims, fortranOrder, version });
          expect(header.byteLength % 64).toBe(0);
          expect(header[header.byteLength - 1]).toBe(0x0a);
          const itemsize = dtype === "bool" ? 1 : DTYPE_BYTES_PER_ELEMENT[dtype];
          const elementCount = dims.reduce((a, b) => a * b, 1);
          const parsed = parseNpyHeader(header, {
            fileByteLength: header.byteLength + elementCount * itemsize,
            allowFortranOrder: true,
          });
          expect(parsed.done).toBe(true);
          if (!parsed.done) return;
          expect(parsed.header).toMatchObject({
            version: version ?? "1.0",
            npyDtype: dtype === "uint8clamped" ? "uint8" : dtype,
            shape: dims,
            fortranOrder,
            elementCount,
            dataByteOffset: header.byteLength,
            dataByteLength: elementCount * itemsize,
            needsByteSwap: false,
          });
        },
      ),
      params(500),
    );
  });

  it("random bytes throw nothing but NpyError", () => {
    const prefixed = fc
      .tuple(fc.constantFrom(1, 2, 3), fc.uint8Array({ maxLength: 300 }))
      .map(([major, rest]) => concat(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]), rest));
    const headerish = fc
      .tuple(
        fc.constantFrom<NpyVersion>("1.0", "2.0", "3.0"),
        fc.array(
          fc.constantFrom(
            "{",
            "}",
            "(",
            ")",
            "[",
            "]",
            ",",
            ":",
            " ",
            "\n",
            "#",
            "\\",
            "'",
            '"',
            "L",
            "-",
            "0x",
            "1",
            "9",
            "_",
            "'descr'",
            "'fortran_order'",
            "'shape'",
            "'<f8'",
            "'>i2'",
            "True",
            "False",
            "None",
            "u",
            "b",
            "r",
            "€",
          ),
          { maxLength: 60 },
        ),
      )
      .map(([version, parts]) => npyFile(parts.join(""), version, 8));
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 64 }), prefixed, headerish),
        fc.option(fc.nat({ max: 400 }), { nil: undefined }),
        (bytes, fileByteLength) => {
          try {
            const result = parseNpyHeader(bytes, { fileByteLength });
            if (!result.done) expect(result.needByteLength).toBeGreaterThan(bytes.byteLength);
          } catch (err) {
            if (!(err instanceof NpyError)) throw err;
          }
        },
      ),
      params(3000),
    );
  });
});
