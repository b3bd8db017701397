/**
 * Shared by the codec tests (encode, decode, decode-fields, round-trip): assertion helpers,
 * message builders and literal wire fixtures. Offsets and values are typed out from the layout
 * table in protocol.ts on purpose: the tests check the code against the spec, not against its
 * own constants.
 */
import { expect } from "vitest";
import { decodeMessage } from "./decode.ts";
import type { Dtype } from "./dtype.ts";
import {
  encodeAccept,
  encodeArrayHeader,
  encodeCancel,
  encodeCredit,
  encodeData,
  encodeDataEncoded,
  encodeEnd,
  encodeError,
  encodeGrow,
  encodeRequest,
} from "./encode.ts";
import { ProtocolError, type ProtocolErrorCode } from "./errors.ts";
import type { ArrayHeaderMessage, DecodeLimits, Message, RequestMessage } from "./message-types.ts";
import type { ChecksumAlgorithm } from "./protocol.ts";

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Every dtype, spelled out so that a dtype added to dtype.ts without a test is noticed. */
export const ALL_DTYPES: readonly Dtype[] = [
  "float64",
  "float32",
  "int8",
  "int16",
  "int32",
  "uint8",
  "uint16",
  "uint32",
  "bigint64",
  "biguint64",
  "uint8clamped",
  "float16",
];
export const ITEMSIZE: Readonly<Record<Dtype, number>> = {
  float64: 8,
  float32: 4,
  int8: 1,
  int16: 2,
  int32: 4,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  bigint64: 8,
  biguint64: 8,
  uint8clamped: 1,
  float16: 2,
};
export const WIRE_CODE: Readonly<Record<Dtype, number>> = {
  int8: 1,
  uint8: 2,
  uint8clamped: 3,
  int16: 4,
  uint16: 5,
  int32: 6,
  uint32: 7,
  float16: 8,
  float32: 9,
  float64: 10,
  bigint64: 11,
  biguint64: 12,
};

/** Every checksum algorithm and its wire code, spelled out like the dtypes. */
export const CHECKSUM_CODE: Readonly<Record<ChecksumAlgorithm, number>> = { none: 0, crc32c: 1, xxh32: 2 };
export const CHECKSUMS: readonly ChecksumAlgorithm[] = ["crc32c", "xxh32", "none"];

export function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

/** Asserts class, name, code and the exact message (a RegExp here is always anchored). */
export function expectProtocolError(
  fn: () => unknown,
  code: ProtocolErrorCode,
  message: string | RegExp,
): ProtocolError {
  expect(fn).toThrow(ProtocolError);
  expect(fn).toThrow(message);
  const error = catchError(fn) as ProtocolError;
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error.name).toBe("ProtocolError");
  expect(error.code).toBe(code);
  if (typeof message === "string") expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
  return error;
}

export function expectDecodeError(
  bytes: Uint8Array,
  code: ProtocolErrorCode,
  message: string | RegExp,
  limits?: DecodeLimits,
): ProtocolError {
  return expectProtocolError(() => decodeMessage(bytes, limits), code, message);
}

/** Asserts a caller-bug error: the exact class and message. */
export function expectCallerError(
  fn: () => unknown,
  ctor: typeof RangeError | typeof TypeError,
  message: string,
): void {
  const error = catchError(fn);
  expect(error).toBeInstanceOf(ctor);
  expect(error).not.toBeInstanceOf(ProtocolError);
  expect(error).toHaveProperty("message", message);
}

/** A copy of `bytes` changed by `patch` (a little-endian DataView over the copy). */
export function patched(bytes: Uint8Array, patch: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  patch(new DataView(copy.buffer), copy);
  return copy;
}

/** Writes a u64 as two little-endian u32 halves, as the spec describes it. */
export function setU64(view: DataView, offset: number, high: number, low: number): void {
  view.setUint32(offset, low, true);
  view.setUint32(offset + 4, high, true);
}

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.byteLength, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.byteLength;
  }
  return out;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** `bytes` copied into a larger buffer at `byteOffset`, with 0xff around it, as a subarray. */
export function placeAt(bytes: Uint8Array, byteOffset: number): Uint8Array {
  const host = new Uint8Array(byteOffset + bytes.byteLength + 13).fill(0xff);
  host.set(bytes, byteOffset);
  return host.subarray(byteOffset, byteOffset + bytes.byteLength);
}

/** Encodes any message with the matching encoder. */
export function encodeMessage(m: Message): Uint8Array {
  switch (m.type) {
    case "REQUEST":
      return encodeRequest(m);
    case "CREDIT":
      return encodeCredit(m.streamId, m.grantByteLength);
    case "CANCEL":
      return encodeCancel(m.streamId);
    case "ARRAY_HEADER":
    case "PUT":
      return encodeArrayHeader(m);
    case "DATA":
      return encodeData(m.streamId, m.byteOffset, m.payloadByteLength);
    case "DATA_ENCODED":
      return encodeDataEncoded(m);
    case "END":
      return encodeEnd(m);
    case "ERROR":
      return encodeError(m.streamId, m.code, m.message);
    case "GROW":
      return encodeGrow(m);
    case "ACCEPT":
      return encodeAccept(m);
  }
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function header(overrides: Partial<ArrayHeaderMessage> = {}): ArrayHeaderMessage {
  return {
    type: "ARRAY_HEADER",
    streamId: 1,
    dtype: "float64",
    shape: [4],
    totalByteLength: 32,
    rangeByteStart: 0,
    rangeByteEnd: 32,
    firstByteOffset: 0,
    generation: 1,
    checksumAlgorithm: "none",
    name: "a",
    meta: null,
    ...overrides,
  };
}

/** A full-range header of `dtype` and `shape`, with totalByteLength worked out here. */
export function headerOf(
  dtype: Dtype,
  shape: number[],
  overrides: Partial<ArrayHeaderMessage> = {},
): ArrayHeaderMessage {
  const totalByteLength = product(shape) * ITEMSIZE[dtype];
  return header({ dtype, shape, totalByteLength, rangeByteEnd: totalByteLength, ...overrides });
}

export function request(overrides: Partial<RequestMessage> = {}): RequestMessage {
  return {
    type: "REQUEST",
    streamId: 1,
    name: "a",
    params: null,
    chunkByteLength: 0,
    range: null,
    resumeByteOffset: 0,
    creditByteLength: 0,
    expectedGeneration: null,
    checksum: "none",
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Wire fixtures: literal bytes, one comment per field.
// ---------------------------------------------------------------------------------------------

/** ARRAY_HEADER: float64, shape [4], name "a", resuming a [8, 32) range at byte 16. */
// biome-ignore format: one field per line, as in the layout table
export const ARRAY_HEADER_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x10, // type ARRAY_HEADER
  0x0a, // dtype float64 (10)
  0x01, // ndim 1
  0x07, 0x00, 0x00, 0x00, // streamId 7
  0x01, 0x00, // nameByteLength 1
  0x01, // checksumAlgorithm crc32c (1)
  0x00, // reserved
  0x00, 0x00, 0x00, 0x00, // metaByteLength 0 (no meta)
  0x03, 0x00, 0x00, 0x00, // generation 3
  0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // totalByteLength 32 = 4 * 8
  0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // rangeByteStart 8
  0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // rangeByteEnd 32
  0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // firstByteOffset 16
  0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // shape[0] 4
  0x61, // name "a"
]);
export const ARRAY_HEADER_MESSAGE: ArrayHeaderMessage = {
  type: "ARRAY_HEADER",
  streamId: 7,
  dtype: "float64",
  shape: [4],
  totalByteLength: 32,
  rangeByteStart: 8,
  rangeByteEnd: 32,
  firstByteOffset: 16,
  generation: 3,
  checksumAlgorithm: "crc32c",
  name: "a",
  meta: null,
};

/** PUT: uint16, 0-d (shape []), UTF-8 name "é", meta {"u":"m"}. */
// biome-ignore format: one field per line, as in the layout table
export const PUT_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x04, // type PUT
  0x05, // dtype uint16 (5)
  0x00, // ndim 0
  0x09, 0x00, 0x00, 0x00, // streamId 9
  0x02, 0x00, // nameByteLength 2
  0x00, // checksumAlgorithm none (0)
  0x00, // reserved
  0x09, 0x00, 0x00, 0x00, // metaByteLength 9
  0xff, 0xff, 0xff, 0xff, // generation 4294967295
  0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // totalByteLength 2 = 1 element * 2
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // rangeByteStart 0
  0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // rangeByteEnd 2
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // firstByteOffset 0
  // (no shape: ndim 0)
  0xc3, 0xa9, // name "é"
  0x7b, 0x22, 0x75, 0x22, 0x3a, 0x22, 0x6d, 0x22, 0x7d, // meta {"u":"m"}
]);
export const PUT_MESSAGE: ArrayHeaderMessage = {
  type: "PUT",
  streamId: 9,
  dtype: "uint16",
  shape: [],
  totalByteLength: 2,
  rangeByteStart: 0,
  rangeByteEnd: 2,
  firstByteOffset: 0,
  generation: 0xffffffff,
  checksumAlgorithm: "none",
  name: "é",
  meta: { u: "m" },
};

/** DATA: 4096 payload bytes at byte offset 2^32 + 8 (both u64 halves in use). */
// biome-ignore format: one field per line, as in the layout table
export const DATA_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x11, // type DATA
  0x00, 0x00, // reserved
  0x07, 0x00, 0x00, 0x00, // streamId 7
  0x00, 0x10, 0x00, 0x00, // payloadByteLength 4096
  0x08, 0x00, 0x00, 0x00, // byteOffset, low u32: 8
  0x01, 0x00, 0x00, 0x00, // byteOffset, high u32: 1 (so 2^32 + 8)
]);
export const DATA_MESSAGE: Message = { type: "DATA", streamId: 7, payloadByteLength: 4096, byteOffset: 2 ** 32 + 8 };

/** REQUEST: name "xy", params {"n":1}, every flag set, XXH32 wanted. */
// biome-ignore format: one field per line, as in the layout table
export const REQUEST_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x01, // type REQUEST
  0x03, 0x00, // flags RANGE | GENERATION (bit 2 is unknown since the checksum moved to byte 14)
  0x02, 0x00, 0x00, 0x00, // streamId 2
  0x02, 0x00, // nameByteLength 2
  0x02, // checksumAlgorithm xxh32 (2)
  0x00, // reserved
  0x07, 0x00, 0x00, 0x00, // paramsByteLength 7
  0x00, 0x00, 0x01, 0x00, // chunkByteLength 65536
  0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // elementStart 10
  0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // elementEnd 20
  0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // resumeByteOffset 24
  0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, // creditByteLength 1048576
  0x09, 0x00, 0x00, 0x00, // expectedGeneration 9
  0x00, 0x00, 0x00, 0x00, // reserved
  0x78, 0x79, // name "xy"
  0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x31, 0x7d, // params {"n":1}
]);
export const REQUEST_MESSAGE: RequestMessage = {
  type: "REQUEST",
  streamId: 2,
  name: "xy",
  params: { n: 1 },
  chunkByteLength: 65536,
  range: { elementStart: 10, elementEnd: 20 },
  resumeByteOffset: 24,
  creditByteLength: 1048576,
  expectedGeneration: 9,
  checksum: "xxh32",
};

/** CREDIT: 65536 more bytes on stream 2. */
// biome-ignore format: one field per line, as in the layout table
export const CREDIT_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x02, // type CREDIT
  0x00, 0x00, // reserved
  0x02, 0x00, 0x00, 0x00, // streamId 2
  0x00, 0x00, 0x00, 0x00, // reserved
  0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // grantByteLength 65536
]);
export const CREDIT_MESSAGE: Message = { type: "CREDIT", streamId: 2, grantByteLength: 65536 };

/** CANCEL of stream 2. */
// biome-ignore format: one field per line, as in the layout table
export const CANCEL_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x03, // type CANCEL
  0x00, 0x00, // reserved
  0x02, 0x00, 0x00, 0x00, // streamId 2
  0x00, 0x00, 0x00, 0x00, // reserved
]);
export const CANCEL_MESSAGE: Message = { type: "CANCEL", streamId: 2 };

/** END: 16 bytes sent, CRC-32C 0xE3069283. */
// biome-ignore format: one field per line, as in the layout table
export const END_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x12, // type END
  0x01, // checksumAlgorithm crc32c (1)
  0x00, // reserved
  0x07, 0x00, 0x00, 0x00, // streamId 7
  0x00, 0x00, 0x00, 0x00, // reserved
  0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // byteLength 16
  0x83, 0x92, 0x06, 0xe3, 0x00, 0x00, 0x00, 0x00, // checksum 0xE3069283
]);
export const END_MESSAGE: Message = {
  type: "END",
  streamId: 7,
  byteLength: 16,
  checksumAlgorithm: "crc32c",
  checksum: 0xe3069283,
};

/** END: the 3 bytes "abc" sent, XXH32 0x32D153FF (the value docs/PROTOCOL.md gives). */
// biome-ignore format: one field per line, as in the layout table
export const END_XXH32_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x12, // type END
  0x02, // checksumAlgorithm xxh32 (2)
  0x00, // reserved
  0x05, 0x00, 0x00, 0x00, // streamId 5
  0x00, 0x00, 0x00, 0x00, // reserved
  0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // byteLength 3
  0xff, 0x53, 0xd1, 0x32, 0x00, 0x00, 0x00, 0x00, // checksum 0x32D153FF
]);
export const END_XXH32_MESSAGE: Message = {
  type: "END",
  streamId: 5,
  byteLength: 3,
  checksumAlgorithm: "xxh32",
  checksum: 0x32d153ff,
};

/** ERROR on the connection (stream 0): code "E_GONE", message "bye". */
// biome-ignore format: one field per line, as in the layout table
export const ERROR_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x13, // type ERROR
  0x06, // codeByteLength 6
  0x00, // reserved
  0x00, 0x00, 0x00, 0x00, // streamId 0 (the connection)
  0x03, 0x00, 0x00, 0x00, // messageByteLength 3
  0x45, 0x5f, 0x47, 0x4f, 0x4e, 0x45, // code "E_GONE"
  0x62, 0x79, 0x65, // message "bye"
]);
export const ERROR_MESSAGE: Message = { type: "ERROR", streamId: 0, code: "E_GONE", message: "bye" };

export const FIXTURES: readonly [label: string, bytes: Uint8Array, message: Message][] = [
  ["REQUEST", REQUEST_BYTES, REQUEST_MESSAGE],
  ["CREDIT", CREDIT_BYTES, CREDIT_MESSAGE],
  ["CANCEL", CANCEL_BYTES, CANCEL_MESSAGE],
  ["PUT", PUT_BYTES, PUT_MESSAGE],
  ["ARRAY_HEADER", ARRAY_HEADER_BYTES, ARRAY_HEADER_MESSAGE],
  ["DATA", DATA_BYTES, DATA_MESSAGE],
  ["END", END_BYTES, END_MESSAGE],
  ["END with XXH32", END_XXH32_BYTES, END_XXH32_MESSAGE],
  ["ERROR", ERROR_BYTES, ERROR_MESSAGE],
];

/** One valid message of each type, with non-empty variable parts, for the structural tests. */
export const SAMPLES: readonly [label: string, message: Message][] = [
  ["REQUEST with name and params", REQUEST_MESSAGE],
  ["REQUEST without params or flags", request({ streamId: 3, name: "arr" })],
  ["CREDIT", CREDIT_MESSAGE],
  ["CANCEL", CANCEL_MESSAGE],
  ["ARRAY_HEADER", ARRAY_HEADER_MESSAGE],
  ["ARRAY_HEADER with 3 dims and meta", headerOf("int32", [2, 3, 4], { name: "cube", meta: { unit: "K" } })],
  ["PUT", PUT_MESSAGE],
  ["DATA", DATA_MESSAGE],
  ["END", END_MESSAGE],
  ["ERROR", ERROR_MESSAGE],
  ["ERROR with an empty message", { type: "ERROR", streamId: 4, code: "E_SHUTDOWN", message: "" }],
];
