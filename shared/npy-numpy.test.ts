/**
 * The .npy codec against a live numpy (shared/test-fixtures/npy/numpy-oracle.py): the header bytes
 * numpy writes, the headers numpy's reader accepts, and numpy loading what encodeNpyHeader writes.
 * Runs where `python3` (or $ARRAYWIRE_PYTHON) imports numpy >= 1.24 (Debian: apt-get install
 * python3-numpy); skipped elsewhere, where shared/npy.test.ts still checks numpy-written fixtures.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DTYPE_BYTES_PER_ELEMENT } from "./dtype.ts";
import { encodeNpyHeader, type NpyDtype, type NpyVersion, parseNpyHeader } from "./npy.ts";
import { NpyError } from "./npy-errors.ts";

const PYTHON = process.env.ARRAYWIRE_PYTHON ?? "python3";
const ORACLE = fileURLToPath(new URL("./test-fixtures/npy/numpy-oracle.py", import.meta.url));
const hasNumpy =
  spawnSync(PYTHON, ["-c", "import numpy as n, sys; sys.exit(tuple(map(int, n.__version__.split('.')[:2])) < (1, 24))"])
    .status === 0;

interface ParseAnswer {
  ok: boolean;
  error?: string;
  descr?: string;
  fortranOrder?: boolean;
  shape?: number[];
  shapeHasBool?: boolean;
}
interface OracleAnswer {
  numpy: string;
  encode: string[];
  save: string[];
  parse: ParseAnswer[];
  load: { descr: string; shape: number[]; fortranOrder: boolean; cOrderHex: string }[];
}

function askNumpy(request: Record<string, unknown>): OracleAnswer {
  const run = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify(request), maxBuffer: 256 << 20, timeout: 60_000 });
  if (run.status !== 0) throw new Error(`numpy-oracle.py failed: ${run.stderr.toString()}`);
  return JSON.parse(run.stdout.toString()) as OracleAnswer;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const NPY_DTYPES: [NpyDtype, string][] = [
  ["bool", "|b1"],
  ["int8", "|i1"],
  ["uint8", "|u1"],
  ["int16", "<i2"],
  ["uint16", "<u2"],
  ["int32", "<i4"],
  ["uint32", "<u4"],
  ["bigint64", "<i8"],
  ["biguint64", "<u8"],
  ["float16", "<f2"],
  ["float32", "<f4"],
  ["float64", "<f8"],
];

function npyFile(text: string, version: NpyVersion): Uint8Array {
  const body =
    version === "3.0" ? new TextEncoder().encode(text) : Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  const prefix = version === "1.0" ? 10 : 12;
  const out = new Uint8Array(prefix + body.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, Number(version[0]), 0]);
  if (version === "1.0") new DataView(out.buffer).setUint16(8, body.byteLength, true);
  else new DataView(out.buffer).setUint32(8, body.byteLength, true);
  out.set(body, prefix);
  return out;
}

/** parseNpyHeader on a header text: the fields numpy's reader also returns, or the error code. */
function parseText(text: string, version: NpyVersion) {
  try {
    const result = parseNpyHeader(npyFile(text, version), { allowFortranOrder: true, maxHeaderSize: 1e9 });
    if (!result.done) throw new Error("incomplete");
    const { descr, fortranOrder, shape } = result.header;
    return { ok: true as const, descr, fortranOrder, shape };
  } catch (err) {
    if (!(err instanceof NpyError)) throw err;
    return { ok: false as const, code: err.code, message: err.message };
  }
}

// Header texts in the forms numpy writes and people write by hand: quotes, prefixes, blanks,
// comments, key order, trailing commas, integer spellings, Python 2 longs (format 1.0 / 2.0).
const SUPPORTED_DESCRS = ["<f8", "=f4", "|f2", "f8", ">i8", "<u8", "i4", ">u4", "<i2", "u2", "|i1", ">u1", "|b1", "?"];
const SUPPORTED_NAMES = ["d", ">h", "float64", "int32", "uint16", "bool", "half", "double", "<i08"];
const UNSUPPORTED_DESCRS = ["<c16", "<U3", "|S2", "<M8[ns]", "|O", "<l", "<f16", "|V4", "int"];
const blank = fc.constantFrom("", " ", "  ", "\t", "\n", " #c\n", "\r\n ");
const quoted = (content: string) =>
  fc
    .tuple(fc.constantFrom("", "u", "r", "U", "R"), fc.constantFrom("'", '"', "'''", '"""'))
    .map(([prefix, quote]) => `${prefix}${quote}${content}${quote}`);
const headerCase = fc
  .record({
    version: fc.constantFrom<NpyVersion>("1.0", "2.0", "3.0"),
    descr: fc.oneof(
      fc
        .constantFrom(...SUPPORTED_DESCRS, ...SUPPORTED_NAMES)
        .chain(quoted)
        .map((text) => ({ text, unsupported: false })),
      fc
        .constantFrom(...UNSUPPORTED_DESCRS)
        .chain(quoted)
        .map((text) => ({ text, unsupported: true })),
      fc.constant({ text: "[('x', '<f8'), ('y', '>i2')]", unsupported: true }),
    ),
    fortran: fc.constantFrom("True", "False", "(True)", "(False)"),
    shape: fc.array(fc.tuple(fc.nat({ max: 2999 }), fc.constantFrom("dec", "hex", "sep", "plus", "long")), {
      maxLength: 4,
    }),
    trailingShapeComma: fc.boolean(),
    order: fc.constantFrom([0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]),
    keyQuote: fc.constantFrom("'", '"'),
    blanks: fc.array(blank, { minLength: 12, maxLength: 12 }),
    trailingDictComma: fc.boolean(),
    lead: fc.constantFrom("", " ", "\t ", "\n", "# note\n"),
    tail: fc.constantFrom("", "\n", "   \n", "  # hand-written\n", "\n\n"),
  })
  .map((c) => {
    const b = (i: number) => c.blanks[i] as string; // all inside the dict's braces, where line breaks are free
    const int = ([n, form]: [number, string]) =>
      form === "hex"
        ? `0x${n.toString(16)}`
        : form === "sep" && n >= 1000
          ? `${Math.floor(n / 1000)}_${String(n % 1000).padStart(3, "0")}`
          : form === "plus"
            ? `+${n}`
            : form === "long" && c.version !== "3.0"
              ? `${n}L`
              : String(n);
    const dims = c.shape.map(int);
    const shape =
      dims.length === 1
        ? `(${b(0)}${dims[0]},${b(1)})`
        : `(${b(0)}${dims.join(`,${b(1)}`)}${c.trailingShapeComma && dims.length > 0 ? "," : ""}${b(2)})`;
    const k = (name: string) => `${c.keyQuote}${name}${c.keyQuote}`;
    const entries = [
      `${k("descr")}${b(3)}:${b(4)}${c.descr.text}`,
      `${k("fortran_order")}:${b(5)}${c.fortran}`,
      `${k("shape")}${b(6)}: ${shape}`,
    ];
    const ordered = c.order.map((i) => entries[i]).join(`,${b(7)}`);
    const text = `${c.lead}{${b(8)}${ordered}${c.trailingDictComma ? `,${b(9)}` : b(9)}}${c.tail}`;
    return { version: c.version, text, expectShape: c.shape.map(([n]) => n), unsupported: c.descr.unsupported };
  });

/** 1 to 3 random edits of a text: where a reader that is too lenient would show. */
const mutated = fc
  .tuple(
    headerCase,
    fc.array(
      fc.tuple(
        fc.constantFrom("insert", "delete", "replace"),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(..."{}()[],:'\"#\\ \n\t-+_.0159LxjeTFNbru<>|=€\f\v\0".split("")),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([c, edits]) => {
    let text = c.text;
    for (const [op, where, ch] of edits) {
      const i = Math.floor(where * text.length);
      text =
        op === "insert"
          ? text.slice(0, i) + ch + text.slice(i)
          : op === "delete"
            ? text.slice(0, i) + text.slice(i + 1)
            : text.slice(0, i) + ch + text.slice(i + 1);
    }
    // Latin-1 only in 1.0 / 2.0: numpy would fail to encode the text, not to parse it.
    return { version: c.version, text: c.version === "3.0" ? text : text.replaceAll("€", "é") };
  });

describe.skipIf(!hasNumpy)("the .npy codec against a live numpy", () => {
  it("writes the header bytes numpy writes, for every dtype, many shapes, both orders and every version", () => {
    const shapes = [
      [],
      [0],
      [5],
      [2, 3],
      [100_000, 7],
      [7, 100_000],
      [2 ** 53 - 1],
      [1, 2, 3, 4, 5, 6, 7, 8],
      Array(64).fill(1),
    ];
    shapes.push([...Array(5).fill(1000), ...Array(27).fill(1)]); // already at a multiple of 64: 64 spaces
    shapes.push([...Array(12).fill(1), 100_000]);
    const cases = NPY_DTYPES.flatMap(([dtype, descr]) =>
      // 2^53 - 1 elements fit a safe byte length only for 1-byte items.
      shapes
        .filter((shape) => shape[0] !== 2 ** 53 - 1 || descr.endsWith("1"))
        .flatMap((shape) =>
          [false, true].flatMap((fortranOrder) =>
            ([undefined, "1.0", "2.0", "3.0"] as const).map((version) => ({
              dtype,
              descr,
              shape,
              fortranOrder,
              version,
            })),
          ),
        ),
    );
    const answer = askNumpy({ encode: cases.map((c) => ({ ...c, version: c.version ?? null })) });
    cases.forEach((c, i) => {
      expect(hex(encodeNpyHeader(c)), JSON.stringify(c)).toBe(answer.encode[i]);
    });
    // The public np.save path too.
    const saved = NPY_DTYPES.map(([, descr]) => ({ descr, shape: [3, 4] }));
    askNumpy({ save: saved }).save.forEach((numpyHex, i) => {
      expect(hex(encodeNpyHeader({ dtype: (NPY_DTYPES[i] as [NpyDtype, string])[0], shape: [3, 4] }))).toBe(numpyHex);
    });
  });

  it("numpy loads a header from encodeNpyHeader followed by the array's bytes", () => {
    const files: { hex: string; dtype: NpyDtype; shape: number[]; data: Uint8Array }[] = [];
    for (const [dtype] of NPY_DTYPES) {
      for (const shape of [[], [7], [3, 5], [2, 0, 4]]) {
        const itemsize = dtype === "bool" ? 1 : DTYPE_BYTES_PER_ELEMENT[dtype];
        const data = new Uint8Array(shape.reduce((a, b) => a * b, 1) * itemsize);
        for (let i = 0; i < data.length; i++) data[i] = dtype === "bool" ? i % 2 : (i * 37 + 11) & 0xff;
        if (dtype === "float16") for (let i = 1; i < data.length; i += 2) (data[i] as number) &= 0x3f; // no NaN payloads
        const header = encodeNpyHeader({ dtype, shape });
        const file = new Uint8Array(header.byteLength + data.byteLength);
        file.set(header);
        file.set(data, header.byteLength);
        files.push({ hex: hex(file), dtype, shape, data });
      }
    }
    const answer = askNumpy({ load: files.map((f) => f.hex) });
    files.forEach((f, i) => {
      expect(answer.load[i], `${f.dtype} (${f.shape})`).toEqual({
        descr: NPY_DTYPES.find(([d]) => d === f.dtype)?.[1],
        shape: f.shape,
        fortranOrder: false,
        cOrderHex: hex(f.data),
      });
    });
  });

  it("reads the hand-written header variants numpy reads, with numpy's shape, order and dtype", () => {
    const cases = fc.sample(headerCase, { seed: 0x6e70, numRuns: 1500 });
    const answer = askNumpy({ parse: cases.map(({ version, text }) => ({ version, text })) });
    cases.forEach(({ version, text, expectShape, unsupported }, i) => {
      const numpy = answer.parse[i] as ParseAnswer;
      const ours = parseText(text, version);
      const where = `${version} ${JSON.stringify(text)}: numpy ${JSON.stringify(numpy)}, ours ${JSON.stringify(ours)}`;
      expect(numpy.ok, where).toBe(true);
      expect(numpy.shape, where).toEqual(expectShape);
      if (ours.ok) {
        expect({ descr: ours.descr, fortranOrder: ours.fortranOrder, shape: ours.shape }, where).toEqual({
          descr: numpy.descr,
          fortranOrder: numpy.fortranOrder,
          shape: numpy.shape,
        });
      } else {
        expect(ours.code, where).toBe("E_NPY_UNSUPPORTED_DTYPE");
        expect(unsupported, where).toBe(true);
      }
    });
  });

  it("accepts no mutated header numpy refuses, and reads what it accepts as numpy does", () => {
    const cases = fc.sample(mutated, { seed: 0x6d75, numRuns: 4000 });
    const answer = askNumpy({ parse: cases });
    let acceptedByBoth = 0;
    cases.forEach(({ version, text }, i) => {
      const numpy = answer.parse[i] as ParseAnswer;
      const ours = parseText(text, version);
      if (!ours.ok) return; // stricter than numpy is allowed (see shared/npy-literal.ts)
      const where = `${version} ${JSON.stringify(text)}: numpy ${JSON.stringify(numpy)}`;
      expect(numpy.ok, where).toBe(true);
      expect({ descr: ours.descr, fortranOrder: ours.fortranOrder, shape: ours.shape }, where).toEqual({
        descr: numpy.descr,
        fortranOrder: numpy.fortranOrder,
        shape: numpy.shape,
      });
      acceptedByBoth++;
    });
    // The mutations must leave enough valid headers for the comparison to mean something.
    expect(acceptedByBoth).toBeGreaterThan(cases.length / 20);
  });
});
