/**
 * numpy dtype descriptors (the `descr` of an .npy header) <-> arraywire dtypes. Only fixed-size
 * numbers with a typed array are supported: bool, (u)int8..64, float16/32/64, either byte order.
 */
import type { Dtype } from "./dtype.ts";
import { NpyError } from "./npy-errors.ts";
import { formatPyValue, type PyValue } from "./npy-literal.ts";

/** Element types an .npy header can name: every arraywire dtype, plus numpy's bool ('|b1'). */
export type NpyDtype = Dtype | "bool";

/** What each supported descr (numpy kind + itemsize) becomes. */
const DTYPE_BY_KIND_AND_SIZE: ReadonlyMap<string, NpyDtype> = new Map([
  ["b1", "bool"],
  ["i1", "int8"],
  ["u1", "uint8"],
  ["i2", "int16"],
  ["u2", "uint16"],
  ["i4", "int32"],
  ["u4", "uint32"],
  ["i8", "bigint64"],
  ["u8", "biguint64"],
  ["f2", "float16"],
  ["f4", "float32"],
  ["f8", "float64"],
]);
/** numpy kind + itemsize of each element type (uint8clamped is written as uint8). */
export const KIND_AND_SIZE_BY_DTYPE: Readonly<Record<NpyDtype, string>> = {
  bool: "b1",
  int8: "i1",
  uint8: "u1",
  uint8clamped: "u1",
  int16: "i2",
  uint16: "u2",
  int32: "i4",
  uint32: "u4",
  bigint64: "i8",
  biguint64: "u8",
  float16: "f2",
  float32: "f4",
  float64: "f8",
};
/** numpy's one-character type codes of fixed size ('l', 'L', 'p', 'P' depend on the platform: refused). */
const KIND_AND_SIZE_BY_CHAR: Readonly<Record<string, string>> = {
  "?": "b1",
  b: "i1",
  B: "u1",
  h: "i2",
  H: "u2",
  i: "i4",
  I: "u4",
  q: "i8",
  Q: "u8",
  e: "f2",
  f: "f4",
  d: "f8",
};
/** numpy's dtype names of fixed size (no byte-order prefix allowed, as in numpy). */
const KIND_AND_SIZE_BY_NAME: Readonly<Record<string, string>> = {
  bool: "b1",
  bool_: "b1",
  int8: "i1",
  uint8: "u1",
  int16: "i2",
  uint16: "u2",
  int32: "i4",
  uint32: "u4",
  int64: "i8",
  uint64: "u8",
  float16: "f2",
  float32: "f4",
  float64: "f8",
  half: "f2",
  single: "f4",
  double: "f8",
};
const SUPPORTED_DESCRS = "<f8 <f4 <f2 <i8 <u8 <i4 <u4 <i2 <u2 |i1 |u1 |b1, or '>' for big-endian";

/**
 * The header's `descr` as numpy reads it: one of the fixed-size number types, with its canonical
 * spelling (numpy's `dtype.str`) and byte order. '=' and '|' (and no prefix) mean the host's order,
 * little-endian on every host arraywire runs on (dtype.ts assertLittleEndianHost).
 * @throws {@link NpyError} E_NPY_UNSUPPORTED_DTYPE (with `descr`) for any other dtype numpy knows
 *   or not (structured, strings, complex, objects, datetimes, platform-sized 'l'), and
 *   E_NPY_BAD_HEADER when descr is not even a string, list or tuple.
 */
export function interpretDescr(value: PyValue): {
  descr: string;
  npyDtype: NpyDtype;
  byteOrder: "little" | "big" | "none";
} {
  if (value.kind !== "str" && value.kind !== "list" && value.kind !== "tuple") {
    throw badDescr(formatPyValue(value));
  }
  const text = value.kind === "str" ? value.value : "";
  const typestr = /^([<>=|]?)([biuf])(\d{1,4})$/.exec(text);
  const code = /^([<>=|]?)([?bBhHiIqQefd])$/.exec(text);
  let order = "";
  let kindAndSize: string | undefined;
  if (typestr) {
    order = typestr[1] as string;
    kindAndSize = `${typestr[2]}${Number(typestr[3])}`;
  } else if (code) {
    order = code[1] as string;
    kindAndSize = KIND_AND_SIZE_BY_CHAR[code[2] as string];
  } else if (Object.hasOwn(KIND_AND_SIZE_BY_NAME, text)) {
    kindAndSize = KIND_AND_SIZE_BY_NAME[text];
  }
  const npyDtype = kindAndSize === undefined ? undefined : DTYPE_BY_KIND_AND_SIZE.get(kindAndSize);
  if (npyDtype === undefined || kindAndSize === undefined) {
    const descr = truncate(formatPyValue(value));
    throw new NpyError(
      "E_NPY_UNSUPPORTED_DTYPE",
      `Unsupported .npy dtype: expected ${SUPPORTED_DESCRS}, got ${descr}`,
      {
        descr,
      },
    );
  }
  const byteOrder = kindAndSize.endsWith("1") ? "none" : order === ">" ? "big" : "little";
  const orderChar = byteOrder === "none" ? "|" : byteOrder === "big" ? ">" : "<";
  return { descr: `${orderChar}${kindAndSize}`, npyDtype, byteOrder };
}

function badDescr(got: string): NpyError {
  return new NpyError(
    "E_NPY_BAD_HEADER",
    `Invalid .npy header: expected descr as a dtype string (or a structured dtype's list), got ${truncate(got)}`,
  );
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
