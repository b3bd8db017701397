/**
 * The .npy file format (numpy/lib/_format_impl.py), for streaming: {@link parseNpyHeader} reads the
 * header from the first bytes of a file and says where the data is, {@link encodeNpyHeader} writes
 * the header numpy.save writes, so a receive buffer can follow it unchanged.
 *
 * | offset | bytes | field                                                              |
 * |      0 |     6 | magic "\x93NUMPY"                                                  |
 * |      6 |     1 | major version (1, 2 or 3)                                          |
 * |      7 |     1 | minor version (0)                                                  |
 * |      8 |   2/4 | HEADER_LEN: u16 little-endian in 1.0, u32 in 2.0 and 3.0          |
 * | 10/12  |     n | a Python dict literal {'descr', 'fortran_order', 'shape'}, padded |
 * |        |       | with spaces and ending in "\n"; latin-1 in 1.0 / 2.0, UTF-8 in 3.0 |
 * | 10/12+n|       | data: product(shape) * itemsize bytes, C (or Fortran) order        |
 *
 * Data bytes keep the file's byte order. A big-endian file parses with `needsByteSwap: true`; the
 * caller swaps each chunk with `swapBytesInPlace` (shared/byte-swap.ts) after reading it. Element
 * ranges map to file bytes as `dataByteOffset + element * bytesPerElement`.
 *
 * Stricter than numpy, on purpose (numpy's reader takes these; a file server should not guess):
 * a key given twice (numpy keeps the last), negative or boolean dimensions and dimensions or byte
 * lengths past 2^53 - 1 (numpy fails later, or reads `(True,)` as 1), data longer than the header
 * says when `fileByteLength` is given (np.load ignores trailing bytes), Fortran order unless
 * allowed, and the literal forms listed in shared/npy-literal.ts.
 */
import { DTYPE_BYTES_PER_ELEMENT, type Dtype } from "./dtype.ts";
import { interpretDescr, KIND_AND_SIZE_BY_DTYPE, type NpyDtype } from "./npy-descr.ts";
import { NpyError } from "./npy-errors.ts";
import { formatPyValue, type PyValue, parsePyLiteral } from "./npy-literal.ts";

/** "\x93NUMPY": the first 6 bytes of every .npy file. */
const MAGIC_PREFIX = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] as const;
const OFFSET_MAJOR = 6;
const OFFSET_MINOR = 7;
const OFFSET_HEADER_LENGTH = 8;
/** Magic + version + HEADER_LEN for each version (numpy `_header_size_info`). */
const PREFIX_BYTE_LENGTH = { "1.0": 10, "2.0": 12, "3.0": 12 } as const;
/** numpy pads the header so the data starts at a multiple of this (ARRAY_ALIGN). */
const ARRAY_ALIGN = 64;
/** Spaces numpy >= 1.24 adds after the dict so the growth axis can reach this many digits in place. */
const GROWTH_AXIS_MAX_DIGITS = 21;
const EXPECTED_KEYS = ["descr", "fortran_order", "shape"] as const;

/** numpy's `_MAX_HEADER_SIZE`: the longest header (in characters) read from an untrusted file. */
export const DEFAULT_NPY_MAX_HEADER_SIZE = 10_000;
/** numpy's NPY_MAXDIMS (numpy >= 2): more dimensions cannot be loaded. */
export const NPY_MAX_NDIM = 64;

/** An .npy format version. */
export type NpyVersion = keyof typeof PREFIX_BYTE_LENGTH;
export type { NpyDtype } from "./npy-descr.ts";

/** What {@link parseNpyHeader} learns from a header. */
export interface NpyHeader {
  readonly version: NpyVersion;
  /** The dtype as numpy's `dtype.str` spells it: "<f8", ">i4", "|u1", "|b1". */
  readonly descr: string;
  /** The element type. Serve `dtype` = `npyDtype`, except "bool" which travels as "uint8" (0 / 1). */
  readonly npyDtype: NpyDtype;
  /** The arraywire dtype the data is served as: npyDtype, with bool as uint8. */
  readonly dtype: Dtype;
  readonly bytesPerElement: number;
  /** "none" for 1-byte items. '=' and '|' mean the host's order, little-endian on every arraywire host. */
  readonly byteOrder: "little" | "big" | "none";
  /** True for big-endian data of 2+ byte items: swap each chunk before serving it. */
  readonly needsByteSwap: boolean;
  /** The header's fortran_order, as written. */
  readonly fortranOrder: boolean;
  /** The order the data is in: "F" only when fortran_order is True and that differs from C order. */
  readonly layout: "C" | "F";
  readonly shape: readonly number[];
  /** product(shape); 1 for shape (). */
  readonly elementCount: number;
  /** Where the data starts: magic + version + length field + header. */
  readonly dataByteOffset: number;
  /** elementCount * bytesPerElement. */
  readonly dataByteLength: number;
}

/** Options of {@link parseNpyHeader}. */
export interface NpyParseOptions {
  /** Longest header accepted, in characters, as numpy counts them. Defaults to 10000 (numpy's). */
  readonly maxHeaderSize?: number;
  /** Size of the whole file in bytes: when given, a file too short for its header or whose data
   *  is not exactly dataByteLength bytes is refused. Defaults to undefined (not checked). */
  readonly fileByteLength?: number;
  /** Accept Fortran-order data whose layout differs from C order (the caller must transpose it).
   *  Defaults to false: such files throw E_NPY_FORTRAN_ORDER. */
  readonly allowFortranOrder?: boolean;
}

/** The result of {@link parseNpyHeader}: the header, or how many leading bytes it needs to see. */
export type NpyParseResult =
  | { readonly done: true; readonly header: NpyHeader }
  | { readonly done: false; readonly needByteLength: number };

/**
 * Parses the .npy header at the start of `bytes` (any prefix of the file: read a few KiB, call,
 * and if `done` is false read `needByteLength` bytes from the start of the file and call again).
 * Follows numpy's reader: format 1.0 / 2.0 / 3.0, the dict literal as `ast.literal_eval` reads it
 * (see shared/npy-literal.ts), Python 2 `L` suffixes in 1.0 / 2.0, the header size cap.
 * @throws {@link NpyError} E_NPY_BAD_MAGIC, E_NPY_BAD_VERSION, E_NPY_HEADER_TOO_LARGE, E_NPY_BAD_HEADER,
 *   E_NPY_UNSUPPORTED_DTYPE (with `descr`), E_NPY_FORTRAN_ORDER, E_NPY_SIZE_MISMATCH and E_NPY_TRUNCATED
 *   (the last two only with `fileByteLength`).
 * @throws {RangeError} for an option that is not a non-negative safe integer.
 */
export function parseNpyHeader(bytes: Uint8Array, options: NpyParseOptions = {}): NpyParseResult {
  const maxHeaderSize = options.maxHeaderSize ?? DEFAULT_NPY_MAX_HEADER_SIZE;
  checkCount("maxHeaderSize", maxHeaderSize);
  const fileByteLength = options.fileByteLength;
  if (fileByteLength !== undefined) checkCount("fileByteLength", fileByteLength);
  const need = (byteLength: number): NpyParseResult => {
    if (fileByteLength !== undefined && fileByteLength < byteLength) {
      throw new NpyError(
        "E_NPY_TRUNCATED",
        `Truncated .npy file: expected at least ${byteLength} bytes for the header, got a file of ${fileByteLength}`,
      );
    }
    return { done: false, needByteLength: byteLength };
  };

  for (let i = 0; i < Math.min(bytes.byteLength, MAGIC_PREFIX.length); i++) {
    if (bytes[i] !== MAGIC_PREFIX[i]) {
      const got = Array.from(bytes.subarray(0, MAGIC_PREFIX.length), (b) => b.toString(16).padStart(2, "0"));
      throw new NpyError("E_NPY_BAD_MAGIC", `Not an .npy file: expected magic 93 4e 55 4d 50 59, got ${got.join(" ")}`);
    }
  }
  if (bytes.byteLength < OFFSET_HEADER_LENGTH) return need(PREFIX_BYTE_LENGTH["1.0"]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const versionText = `${view.getUint8(OFFSET_MAJOR)}.${view.getUint8(OFFSET_MINOR)}`;
  if (!Object.hasOwn(PREFIX_BYTE_LENGTH, versionText)) {
    throw new NpyError(
      "E_NPY_BAD_VERSION",
      `Unsupported .npy format version: expected 1.0, 2.0 or 3.0, got ${versionText}`,
    );
  }
  const version = versionText as NpyVersion;
  const prefixByteLength = PREFIX_BYTE_LENGTH[version];
  if (bytes.byteLength < prefixByteLength) return need(prefixByteLength);
  const headerByteLength =
    version === "1.0" ? view.getUint16(OFFSET_HEADER_LENGTH, true) : view.getUint32(OFFSET_HEADER_LENGTH, true);
  // numpy caps len(header) in characters after decoding. Latin-1 has one byte per character; a
  // UTF-8 character takes at most 4 bytes, so longer headers are refused before they are read.
  const maxHeaderBytes = version === "3.0" ? 4 * maxHeaderSize : maxHeaderSize;
  if (headerByteLength > maxHeaderBytes) throw headerTooLarge(maxHeaderSize, `${headerByteLength} bytes`);
  const dataByteOffset = prefixByteLength + headerByteLength;
  if (bytes.byteLength < dataByteOffset) return need(dataByteOffset);

  const text = decodeHeaderText(bytes.subarray(prefixByteLength, dataByteOffset), version);
  if (version === "3.0") {
    const characterCount = countCodePoints(text);
    if (characterCount > maxHeaderSize) throw headerTooLarge(maxHeaderSize, `${characterCount} characters`);
  }
  const header = interpretHeader(parsePyLiteral(text, { pythonLongSuffix: version !== "3.0" }), options);
  const result: NpyHeader = { version, ...header, dataByteOffset };
  if (fileByteLength !== undefined && fileByteLength - dataByteOffset !== result.dataByteLength) {
    throw new NpyError(
      "E_NPY_SIZE_MISMATCH",
      `.npy data size mismatch: expected ${result.dataByteLength} bytes after the ${dataByteOffset}-byte header ` +
        `(shape ${formatShape(result.shape)} of ${result.descr}), got ${fileByteLength - dataByteOffset}`,
    );
  }
  return { done: true, header: result };
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name}: expected a non-negative safe integer, got ${value}`);
  }
}

function headerTooLarge(maxHeaderSize: number, got: string): NpyError {
  return new NpyError(
    "E_NPY_HEADER_TOO_LARGE",
    `.npy header too large: expected at most ${maxHeaderSize} characters (maxHeaderSize), got ${got}`,
  );
}

function decodeHeaderText(bytes: Uint8Array, version: NpyVersion): string {
  if (version !== "3.0") {
    // Latin-1 by hand: TextDecoder("latin1") is windows-1252, which remaps 0x80..0x9f.
    let text = "";
    for (let i = 0; i < bytes.byteLength; i += 4096) {
      text += String.fromCharCode(...bytes.subarray(i, i + 4096));
    }
    return text;
  }
  try {
    // ignoreBOM keeps a leading U+FEFF in the text, where the literal parser refuses it as Python does.
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new NpyError("E_NPY_BAD_HEADER", "Invalid .npy header: expected UTF-8 (format 3.0), got invalid bytes", {
      cause,
    });
  }
}

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** numpy's checks after literal_eval, in its order (keys, shape, fortran_order, descr), then ours. */
function interpretHeader(dict: PyValue, options: NpyParseOptions): Omit<NpyHeader, "version" | "dataByteOffset"> {
  if (dict.kind !== "dict") throw badHeader("a dict literal", formatPyValue(dict));
  const values = new Map<string, PyValue>();
  for (const [key, value] of dict.entries) {
    if (key.kind === "str" && values.has(key.value)) throw badHeader("each key once", `${formatPyValue(key)} twice`);
    if (key.kind !== "str" || !(EXPECTED_KEYS as readonly string[]).includes(key.value)) {
      throw badHeader("only the keys 'descr', 'fortran_order', 'shape'", formatPyValue(key));
    }
    values.set(key.value, value);
  }
  const [descrValue, fortranValue, shapeValue] = EXPECTED_KEYS.map((key) => values.get(key));
  if (descrValue === undefined || fortranValue === undefined || shapeValue === undefined) {
    const missing = EXPECTED_KEYS.filter((key) => !values.has(key)).map((key) => `'${key}'`);
    throw badHeader("the keys 'descr', 'fortran_order', 'shape'", `no ${missing.join(", ")}`);
  }

  if (shapeValue.kind !== "tuple" || shapeValue.items.length > NPY_MAX_NDIM) {
    throw badHeader(`shape as a tuple of at most ${NPY_MAX_NDIM} integers`, formatPyValue(shapeValue));
  }
  const shape = shapeValue.items.map((item) => {
    if (item.kind !== "int" || item.value < 0n || item.value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw badHeader("shape of integers in 0..2^53-1", formatPyValue(shapeValue));
    }
    return Number(item.value);
  });
  if (fortranValue.kind !== "bool") throw badHeader("fortran_order True or False", formatPyValue(fortranValue));
  const fortranOrder = fortranValue.value;
  const { descr, npyDtype, byteOrder } = interpretDescr(descrValue);

  const bytesPerElement = npyDtype === "bool" ? 1 : DTYPE_BYTES_PER_ELEMENT[npyDtype];
  const elementCount = shape.reduce((product, n) => product * BigInt(n), 1n);
  const dataByteLength = elementCount * BigInt(bytesPerElement);
  if (dataByteLength > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw badHeader("a data byte length up to 2^53-1", `${dataByteLength} for shape ${formatShape(shape)}`);
  }
  // C and Fortran order lay the bytes out alike when at most one dimension exceeds 1 (numpy calls
  // such arrays both C- and F-contiguous), or when there are no bytes at all.
  const ordersDiffer = elementCount > 0n && shape.filter((n) => n > 1).length > 1;
  const layout = fortranOrder && ordersDiffer ? "F" : "C";
  if (layout === "F" && options.allowFortranOrder !== true) {
    throw new NpyError(
      "E_NPY_FORTRAN_ORDER",
      `Fortran-order .npy data: expected C order (fortran_order False) for shape ${formatShape(shape)}, got ` +
        "fortran_order True (save with np.ascontiguousarray, or pass allowFortranOrder and transpose)",
    );
  }
  return {
    descr,
    npyDtype,
    dtype: npyDtype === "bool" ? "uint8" : npyDtype,
    bytesPerElement,
    byteOrder,
    needsByteSwap: byteOrder === "big",
    fortranOrder,
    layout,
    shape,
    elementCount: Number(elementCount),
    dataByteLength: Number(dataByteLength),
  };
}

function badHeader(expected: string, got: string): NpyError {
  return new NpyError("E_NPY_BAD_HEADER", `Invalid .npy header: expected ${expected}, got ${truncate(got)}`);
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/** Options of {@link encodeNpyHeader}. */
export interface NpyHeaderInit {
  /** Element type; written little-endian ('|' for 1-byte types), uint8clamped as '|u1'. */
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  /** Defaults to false (C order). */
  readonly fortranOrder?: boolean;
  /** Defaults to "1.0", the version numpy.save picks for every header this function can write. */
  readonly version?: NpyVersion;
}

/**
 * The header numpy.save (numpy >= 1.24) writes for an array of this dtype and shape, byte for byte:
 * the dict with sorted keys, 21 - digits(growth axis) spaces of room to grow, space padding to a
 * multiple of 64 bytes, "\n". The data follows it as is (little-endian, C order unless fortranOrder).
 * @throws {TypeError} for a dtype that is not an {@link NpyDtype}.
 * @throws {RangeError} for a shape that is not up to {@link NPY_MAX_NDIM} safe non-negative integers
 *   whose byte length is a safe integer, or an unknown version.
 */
export function encodeNpyHeader(init: NpyHeaderInit): Uint8Array {
  const { dtype, shape, fortranOrder = false } = init;
  if (!Object.hasOwn(KIND_AND_SIZE_BY_DTYPE, dtype)) throw new TypeError(`dtype: expected an npy dtype, got ${dtype}`);
  const kindAndSize = KIND_AND_SIZE_BY_DTYPE[dtype];
  if (!Array.isArray(shape) || shape.length > NPY_MAX_NDIM) {
    throw new RangeError(`shape: expected an array of at most ${NPY_MAX_NDIM} dimensions, got ${String(shape)}`);
  }
  let byteLength = BigInt(kindAndSize.slice(1));
  for (const n of shape) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`shape: expected non-negative integers, got ${n}`);
    byteLength *= BigInt(n);
  }
  if (byteLength > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`shape: expected a byte length up to 2^53-1, got ${byteLength} for ${formatShape(shape)}`);
  }
  const order = kindAndSize.endsWith("1") ? "|" : "<";
  let dict = `{'descr': '${order}${kindAndSize}', 'fortran_order': ${fortranOrder ? "True" : "False"}, 'shape': ${formatShape(shape)}, }`;
  const growthAxis = shape[fortranOrder ? shape.length - 1 : 0];
  if (growthAxis !== undefined) dict += " ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(growthAxis).length));

  // numpy picks 1.0 unless the header overflows its u16 length, and 3.0 only for non-latin-1
  // text: this ASCII dict of at most 64 dimensions stays under 2 KB, so numpy always picks 1.0.
  const version = init.version ?? "1.0";
  if (!Object.hasOwn(PREFIX_BYTE_LENGTH, version)) {
    throw new RangeError(`version: expected "1.0", "2.0" or "3.0", got ${version}`);
  }
  // numpy _wrap_header: padlen = 64 - ((prefix + len(dict) + 1) % 64), so a header that already
  // ends at a multiple of 64 still gets 64 more spaces.
  const prefixByteLength = PREFIX_BYTE_LENGTH[version];
  const used = prefixByteLength + dict.length + 1;
  const headerByteLength = dict.length + 1 + ARRAY_ALIGN - (used % ARRAY_ALIGN);
  const out = new Uint8Array(prefixByteLength + headerByteLength);
  out.set(MAGIC_PREFIX);
  out[OFFSET_MAJOR] = Number(version[0]);
  out[OFFSET_MINOR] = 0;
  const view = new DataView(out.buffer);
  if (version === "1.0") view.setUint16(OFFSET_HEADER_LENGTH, headerByteLength, true);
  else view.setUint32(OFFSET_HEADER_LENGTH, headerByteLength, true);
  for (let i = 0; i < dict.length; i++) out[prefixByteLength + i] = dict.charCodeAt(i);
  out.fill(0x20, prefixByteLength + dict.length, out.byteLength - 1);
  out[out.byteLength - 1] = 0x0a;
  return out;
}
