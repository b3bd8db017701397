import { describe, expect, it } from "vitest";
import { DTYPES, type Dtype } from "./dtype.ts";
import { ProtocolError, type ProtocolErrorCode } from "./errors.ts";
import {
  type ArrayHeaderMessage,
  type DecodeLimits,
  decodeMessage,
  encodeArrayHeader,
  encodeCancel,
  encodeCredit,
  encodeData,
  encodeEnd,
  encodeError,
  encodeRequest,
  type Message,
  type RequestMessage,
} from "./messages.ts";
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from "./protocol.ts";

// ---------------------------------------------------------------------------------------------
// Helpers. Offsets and values below are typed out from the layout table in protocol.ts on
// purpose: the tests check the code against the spec, not against its own constants.
// ---------------------------------------------------------------------------------------------

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Every dtype, spelled out so that a dtype added to dtype.ts without a test is noticed. */
const ALL_DTYPES: readonly Dtype[] = [
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
const ITEMSIZE: Readonly<Record<Dtype, number>> = {
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
const WIRE_CODE: Readonly<Record<Dtype, number>> = {
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
const CHECKSUM_CODE: Readonly<Record<ChecksumAlgorithm, number>> = { none: 0, crc32c: 1, xxh32: 2 };
const CHECKSUMS: readonly ChecksumAlgorithm[] = ["crc32c", "xxh32", "none"];

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

/** Asserts class, name, code and the exact message (a RegExp here is always anchored). */
function expectProtocolError(fn: () => unknown, code: ProtocolErrorCode, message: string | RegExp): ProtocolError {
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

function expectDecodeError(
  bytes: Uint8Array,
  code: ProtocolErrorCode,
  message: string | RegExp,
  limits?: DecodeLimits,
): ProtocolError {
  return expectProtocolError(() => decodeMessage(bytes, limits), code, message);
}

/** Asserts a caller-bug error: the exact class and message. */
function expectCallerError(fn: () => unknown, ctor: typeof RangeError | typeof TypeError, message: string): void {
  const error = catchError(fn);
  expect(error).toBeInstanceOf(ctor);
  expect(error).not.toBeInstanceOf(ProtocolError);
  expect(error).toHaveProperty("message", message);
}

/** A copy of `bytes` changed by `patch` (a little-endian DataView over the copy). */
function patched(bytes: Uint8Array, patch: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  patch(new DataView(copy.buffer), copy);
  return copy;
}

/** Writes a u64 as two little-endian u32 halves, as the spec describes it. */
function setU64(view: DataView, offset: number, high: number, low: number): void {
  view.setUint32(offset, low, true);
  view.setUint32(offset + 4, high, true);
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.byteLength, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.byteLength;
  }
  return out;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** `bytes` copied into a larger buffer at `byteOffset`, with 0xff around it, as a subarray. */
function placeAt(bytes: Uint8Array, byteOffset: number): Uint8Array {
  const host = new Uint8Array(byteOffset + bytes.byteLength + 13).fill(0xff);
  host.set(bytes, byteOffset);
  return host.subarray(byteOffset, byteOffset + bytes.byteLength);
}

/** Encodes any message with the matching encoder. */
function encodeMessage(m: Message): Uint8Array {
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
    case "END":
      return encodeEnd(m);
    case "ERROR":
      return encodeError(m.streamId, m.code, m.message);
  }
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function header(overrides: Partial<ArrayHeaderMessage> = {}): ArrayHeaderMessage {
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
function headerOf(dtype: Dtype, shape: number[], overrides: Partial<ArrayHeaderMessage> = {}): ArrayHeaderMessage {
  const totalByteLength = product(shape) * ITEMSIZE[dtype];
  return header({ dtype, shape, totalByteLength, rangeByteEnd: totalByteLength, ...overrides });
}

function request(overrides: Partial<RequestMessage> = {}): RequestMessage {
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
const ARRAY_HEADER_BYTES = Uint8Array.from([
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
const ARRAY_HEADER_MESSAGE: ArrayHeaderMessage = {
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
const PUT_BYTES = Uint8Array.from([
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
const PUT_MESSAGE: ArrayHeaderMessage = {
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
const DATA_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x11, // type DATA
  0x00, 0x00, // reserved
  0x07, 0x00, 0x00, 0x00, // streamId 7
  0x00, 0x10, 0x00, 0x00, // payloadByteLength 4096
  0x08, 0x00, 0x00, 0x00, // byteOffset, low u32: 8
  0x01, 0x00, 0x00, 0x00, // byteOffset, high u32: 1 (so 2^32 + 8)
]);
const DATA_MESSAGE: Message = { type: "DATA", streamId: 7, payloadByteLength: 4096, byteOffset: 2 ** 32 + 8 };

/** REQUEST: name "xy", params {"n":1}, every flag set, XXH32 wanted. */
// biome-ignore format: one field per line, as in the layout table
const REQUEST_BYTES = Uint8Array.from([
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
const REQUEST_MESSAGE: RequestMessage = {
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
const CREDIT_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x02, // type CREDIT
  0x00, 0x00, // reserved
  0x02, 0x00, 0x00, 0x00, // streamId 2
  0x00, 0x00, 0x00, 0x00, // reserved
  0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // grantByteLength 65536
]);
const CREDIT_MESSAGE: Message = { type: "CREDIT", streamId: 2, grantByteLength: 65536 };

/** CANCEL of stream 2. */
// biome-ignore format: one field per line, as in the layout table
const CANCEL_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, // magic "ARWR"
  0x01, // version 1
  0x03, // type CANCEL
  0x00, 0x00, // reserved
  0x02, 0x00, 0x00, 0x00, // streamId 2
  0x00, 0x00, 0x00, 0x00, // reserved
]);
const CANCEL_MESSAGE: Message = { type: "CANCEL", streamId: 2 };

/** END: 16 bytes sent, CRC-32C 0xE3069283. */
// biome-ignore format: one field per line, as in the layout table
const END_BYTES = Uint8Array.from([
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
const END_MESSAGE: Message = {
  type: "END",
  streamId: 7,
  byteLength: 16,
  checksumAlgorithm: "crc32c",
  checksum: 0xe3069283,
};

/** END: the 3 bytes "abc" sent, XXH32 0x32D153FF (the value docs/PROTOCOL.md gives). */
// biome-ignore format: one field per line, as in the layout table
const END_XXH32_BYTES = Uint8Array.from([
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
const END_XXH32_MESSAGE: Message = {
  type: "END",
  streamId: 5,
  byteLength: 3,
  checksumAlgorithm: "xxh32",
  checksum: 0x32d153ff,
};

/** ERROR on the connection (stream 0): code "E_GONE", message "bye". */
// biome-ignore format: one field per line, as in the layout table
const ERROR_BYTES = Uint8Array.from([
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
const ERROR_MESSAGE: Message = { type: "ERROR", streamId: 0, code: "E_GONE", message: "bye" };

const FIXTURES: readonly [label: string, bytes: Uint8Array, message: Message][] = [
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
const SAMPLES: readonly [label: string, message: Message][] = [
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

// ---------------------------------------------------------------------------------------------

describe("wire fixtures", () => {
  it.each(FIXTURES)("encodes the %s fixture byte for byte", (_, bytes, message) => {
    expect(encodeMessage(message)).toEqual(bytes);
  });

  it.each(FIXTURES)("decodes the %s fixture to its message", (_, bytes, message) => {
    expect(decodeMessage(bytes)).toEqual(message);
  });

  it("encodes an ARRAY_HEADER and a PUT that differ only in the type byte", () => {
    const asHeader = encodeArrayHeader({ ...PUT_MESSAGE, type: "ARRAY_HEADER" });
    const asPut = encodeArrayHeader(PUT_MESSAGE);
    expect(asHeader[5]).toBe(0x10);
    expect(asPut[5]).toBe(0x04);
    expect(asHeader.subarray(6)).toEqual(asPut.subarray(6));
  });

  it.each([
    [0, "none"],
    [1, "crc32c"],
    [2, "xxh32"],
  ] as const)("decodes REQUEST checksumAlgorithm %i as %s, with and without flags", (code, checksum) => {
    const plain = patched(encodeRequest(request()), (v) => v.setUint8(14, code));
    expect(decodeMessage(plain)).toEqual(request({ checksum }));
    const flagged = patched(REQUEST_BYTES, (v) => v.setUint8(14, code));
    expect(decodeMessage(flagged)).toEqual({ ...REQUEST_MESSAGE, checksum });
  });

  it.each(CHECKSUMS)("encodes REQUEST checksum %s in byte 14 alone: flags and byte 15 stay clear", (checksum) => {
    const bytes = encodeRequest(request({ checksum }));
    expect(bytes[14]).toBe(CHECKSUM_CODE[checksum]);
    expect(bytes[15]).toBe(0);
    expect(new DataView(bytes.buffer).getUint16(6, true)).toBe(0);
  });

  it("encodes an ARRAY_HEADER when the type is left out", () => {
    const { type: _, ...withoutType } = ARRAY_HEADER_MESSAGE;
    expect(encodeArrayHeader(withoutType)).toEqual(ARRAY_HEADER_BYTES);
  });
});

describe("ARRAY_HEADER and PUT round trips", () => {
  it("covers every dtype that dtype.ts defines", () => {
    expect([...ALL_DTYPES].sort()).toEqual([...DTYPES].sort());
  });

  it("covers every checksum algorithm that protocol.ts defines, with its wire code", () => {
    expect(CHECKSUM_ALGORITHMS).toEqual(CHECKSUM_CODE);
    expect([...CHECKSUMS].sort()).toEqual(Object.keys(CHECKSUM_CODE).sort());
  });

  const SHAPES: readonly number[][] = [
    [], // 0-d: one element
    [0], // empty
    [3, 0, 2], // empty, zero-size dim in the middle
    [0, 0],
    [1],
    [7],
    [2, 3, 4],
    Array(32).fill(1), // MAX_NDIM dims of 1
    [...Array(31).fill(1), 5],
    [1000, 1000],
  ];

  describe.each(ALL_DTYPES)("%s", (dtype) => {
    const itemsize = ITEMSIZE[dtype];

    it.each(SHAPES.map((shape) => [JSON.stringify(shape), shape] as const))(
      "round-trips shape %s with full, partial, resumed and empty ranges",
      (_, shape) => {
        const elementCount = product(shape);
        const totalByteLength = elementCount * itemsize;
        const start = Math.floor(elementCount / 3) * itemsize;
        const end = Math.ceil((2 * elementCount) / 3) * itemsize;
        const middle = start + Math.floor((end - start) / itemsize / 2) * itemsize;
        const ranges: [rangeByteStart: number, rangeByteEnd: number, firstByteOffset: number][] = [
          [0, totalByteLength, 0], // the whole array
          [0, totalByteLength, totalByteLength], // resumed after the last byte
          [start, end, start], // a range
          [start, end, middle], // a range, resumed halfway
          [totalByteLength, totalByteLength, totalByteLength], // empty range at the end
        ];
        for (const type of ["ARRAY_HEADER", "PUT"] as const) {
          for (const [i, [rangeByteStart, rangeByteEnd, firstByteOffset]] of ranges.entries()) {
            const message = header({
              type,
              streamId: 5,
              dtype,
              shape,
              totalByteLength,
              rangeByteStart,
              rangeByteEnd,
              firstByteOffset,
              generation: 17,
              checksumAlgorithm: CHECKSUMS[i % CHECKSUMS.length] as ChecksumAlgorithm,
              name: `${dtype}/${shape.length}d`,
              meta: rangeByteStart === 0 ? null : { order: "C", dims: shape },
            });
            const bytes = encodeArrayHeader(message);
            const label = `${type} [${rangeByteStart}, ${rangeByteEnd}) first ${firstByteOffset}`;
            expect(bytes[5], label).toBe(type === "PUT" ? 0x04 : 0x10);
            expect(bytes[6], label).toBe(WIRE_CODE[dtype]);
            expect(bytes[7], label).toBe(shape.length);
            expect(bytes[14], label).toBe(CHECKSUM_CODE[message.checksumAlgorithm]);
            const metaByteLength = message.meta === null ? 0 : utf8(JSON.stringify(message.meta)).byteLength;
            expect(bytes.byteLength, label).toBe(
              56 + 8 * shape.length + utf8(message.name).byteLength + metaByteLength,
            );
            expect(decodeMessage(bytes), label).toEqual(message);
          }
        }
      },
    );

    it.each(CHECKSUMS)(
      "round-trips a REQUEST whose params name this dtype, with a range, a resume offset and checksum %s",
      (checksum) => {
        const message = request({
          streamId: 11,
          name: "arange",
          params: { length: 24, dtype, shape: [2, 3, 4] },
          range: { elementStart: 6, elementEnd: 18 },
          resumeByteOffset: 5 * itemsize,
          creditByteLength: 12 * itemsize,
          chunkByteLength: 4 * itemsize,
          checksum,
        });
        expect(decodeMessage(encodeRequest(message))).toEqual(message);
      },
    );
  });

  it("round-trips a 1024-byte name, a multi-byte UTF-8 name and a byte order mark", () => {
    for (const name of ["n".repeat(1024), "€".repeat(341), "températures/ñ/😀", "\ufeffbom"]) {
      const message = header({ name });
      expect(decodeMessage(encodeArrayHeader(message))).toEqual(message);
    }
  });

  it("round-trips nested meta and generation 0 and 2^32 - 1", () => {
    for (const generation of [0, 0xffffffff]) {
      const message = header({ generation, meta: { a: [1, { b: null }], c: "d", e: true, f: -0.5 } });
      expect(decodeMessage(encodeArrayHeader(message))).toEqual(message);
    }
  });

  it("round-trips stream ids 0 and 2^32 - 1", () => {
    for (const streamId of [0, 0xffffffff]) {
      expect(decodeMessage(encodeArrayHeader(header({ streamId })))).toEqual(header({ streamId }));
    }
  });

  it("round-trips the largest array whose byte length is a safe integer", () => {
    const limits = { maxTotalByteLength: MAX_SAFE };
    const uint8 = headerOf("uint8", [MAX_SAFE], { rangeByteStart: MAX_SAFE - 1, firstByteOffset: MAX_SAFE });
    expect(decodeMessage(encodeArrayHeader(uint8), limits)).toEqual(uint8);
    const float64 = headerOf("float64", [2 ** 50 - 1]);
    expect(float64.totalByteLength).toBe(2 ** 53 - 8);
    expect(decodeMessage(encodeArrayHeader(float64), limits)).toEqual(float64);
  });

  it("accepts a zero-size shape whatever order its dims come in", () => {
    // The array is empty, so the other dims cannot overflow anything.
    for (const shape of [
      [0, 2 ** 50],
      [2 ** 50, 0],
      [2 ** 40, 2 ** 40, 0],
      [MAX_SAFE, 0, MAX_SAFE],
    ]) {
      const message = headerOf("float64", shape);
      expect(message.totalByteLength).toBe(0);
      expect(decodeMessage(encodeArrayHeader(message)), JSON.stringify(shape)).toEqual(message);
    }
  });

  it("decodes a float16 header even where the runtime has no Float16Array", () => {
    const message = headerOf("float16", [3]);
    expect(decodeMessage(encodeArrayHeader(message))).toEqual(message);
  });
});

describe("round trips of the other message types", () => {
  it.each([
    ["no flags", request()],
    ["a range", request({ range: { elementStart: 3, elementEnd: 9 } })],
    ["an empty range", request({ range: { elementStart: 4, elementEnd: 4 } })],
    ["a range starting at 0", request({ range: { elementStart: 0, elementEnd: 1 } })],
    ["a resume offset without a range", request({ resumeByteOffset: 4096 })],
    ["a range and a resume offset", request({ range: { elementStart: 100, elementEnd: 200 }, resumeByteOffset: 8 })],
    ["expected generation 0", request({ expectedGeneration: 0 })],
    ["expected generation 2^32 - 1", request({ expectedGeneration: 0xffffffff })],
    ["no checksum", request({ checksum: "none" })],
    ["a CRC-32C checksum", request({ checksum: "crc32c" })],
    ["an XXH32 checksum", request({ checksum: "xxh32" })],
    [
      "every flag and an XXH32 checksum",
      request({ range: { elementStart: 1, elementEnd: 2 }, expectedGeneration: 3, checksum: "xxh32" }),
    ],
    ["credit flow", request({ creditByteLength: 1 << 20, chunkByteLength: 1 << 16 })],
    ["the largest chunk size", request({ chunkByteLength: 0xffffffff })],
    ["params", request({ params: { length: 10, nested: { list: [1, "2", null, false] } } })],
    ["empty params", request({ params: {} })],
    ["a unicode name", request({ name: "données/😀" })],
    ["a 1024-byte name", request({ name: "x".repeat(1024) })],
    ["stream id 2^32 - 1", request({ streamId: 0xffffffff })],
  ])("round-trips a REQUEST with %s", (_, message) => {
    expect(decodeMessage(encodeRequest(message))).toEqual(message);
  });

  it("round-trips Number.MAX_SAFE_INTEGER in every u64 field", () => {
    const messages: Message[] = [
      request({
        range: { elementStart: MAX_SAFE - 1, elementEnd: MAX_SAFE },
        resumeByteOffset: MAX_SAFE,
        creditByteLength: MAX_SAFE,
      }),
      { type: "CREDIT", streamId: 1, grantByteLength: MAX_SAFE },
      { type: "DATA", streamId: 1, payloadByteLength: 1, byteOffset: MAX_SAFE },
      { type: "END", streamId: 1, byteLength: MAX_SAFE, checksumAlgorithm: "crc32c", checksum: 0xffffffff },
      headerOf("uint8", [MAX_SAFE], { rangeByteStart: 0, rangeByteEnd: MAX_SAFE, firstByteOffset: MAX_SAFE }),
    ];
    for (const message of messages) {
      expect(decodeMessage(encodeMessage(message), { maxTotalByteLength: MAX_SAFE }), message.type).toEqual(message);
    }
  });

  it.each(["crc32c", "xxh32"] as const)("rejects an END whose %s checksum does not fit in 32 bits", (algorithm) => {
    for (const [checksum, hex] of [
      [2 ** 32, "0x100000000"],
      [MAX_SAFE, "0x1fffffffffffff"],
    ] as const) {
      const wide = encodeEnd({ streamId: 1, byteLength: 8, checksumAlgorithm: algorithm, checksum });
      expectDecodeError(
        wide,
        "E_RESERVED",
        `Invalid END checksum: expected at most 0xffffffff for ${algorithm}, got ${hex}`,
      );
    }
  });

  it("rejects an END that carries a checksum without an algorithm", () => {
    for (const [checksum, hex] of [
      [1, "0x1"],
      [5, "0x5"],
      [0xffffffff, "0xffffffff"],
    ] as const) {
      const none = encodeEnd({ streamId: 1, byteLength: 8, checksumAlgorithm: "none", checksum });
      expectDecodeError(none, "E_RESERVED", `Invalid END checksum: expected at most 0x0 for none, got ${hex}`);
    }
  });

  it.each([1, 65536, 2 ** 32, MAX_SAFE])("round-trips a CREDIT granting %d bytes", (grantByteLength) => {
    expect(decodeMessage(encodeCredit(3, grantByteLength))).toEqual({ type: "CREDIT", streamId: 3, grantByteLength });
  });

  it.each([0, 1, 0xffffffff])("round-trips a CANCEL of stream %d", (streamId) => {
    expect(decodeMessage(encodeCancel(streamId))).toEqual({ type: "CANCEL", streamId });
  });

  it.each([
    [1, 0],
    [65536, 2 ** 31],
    [8, 2 ** 32 - 1],
    [8, 2 ** 32],
    [0xffffffff, 7],
  ])("round-trips a DATA of %d bytes at byte offset %d", (payloadByteLength, byteOffset) => {
    const decoded = decodeMessage(encodeData(6, byteOffset, payloadByteLength), { maxChunkByteLength: 2 ** 32 });
    expect(decoded).toEqual({ type: "DATA", streamId: 6, payloadByteLength, byteOffset });
  });

  it.each([
    ["no checksum", { byteLength: 0, checksumAlgorithm: "none", checksum: 0 }],
    ["a CRC-32C of all ones", { byteLength: 4096, checksumAlgorithm: "crc32c", checksum: 0xffffffff }],
    ["a CRC-32C of 0", { byteLength: 1, checksumAlgorithm: "crc32c", checksum: 0 }],
    ["an XXH32 of all ones", { byteLength: 4096, checksumAlgorithm: "xxh32", checksum: 0xffffffff }],
    ["an XXH32 of 0", { byteLength: 1, checksumAlgorithm: "xxh32", checksum: 0 }],
    ["the XXH32 of no bytes", { byteLength: 0, checksumAlgorithm: "xxh32", checksum: 0x02cc5d05 }],
  ] as const)("round-trips an END with %s", (_, fields) => {
    const message: Message = { type: "END", streamId: 8, ...fields };
    expect(decodeMessage(encodeEnd(message))).toEqual(message);
  });

  it.each([
    ["a one-letter code", "E", "x"],
    ["a 64-character code", `E_${"X".repeat(62)}`, "long code"],
    ["digits in the code", "E_404", "not found"],
    ["an empty message", "E_TIMEOUT", ""],
    ["a UTF-8 message", "E_BAD_REQUEST", "données invalides: 😀"],
    ["a message of exactly 4096 bytes", "E_INTERNAL", "m".repeat(4096)],
  ])("round-trips an ERROR with %s", (_, code, message) => {
    expect(decodeMessage(encodeError(12, code, message))).toEqual({ type: "ERROR", streamId: 12, code, message });
  });

  it("cuts an ERROR message longer than 4096 bytes to 4096", () => {
    const decoded = decodeMessage(encodeError(1, "E_X", "a".repeat(5000)));
    expect(decoded).toEqual({ type: "ERROR", streamId: 1, code: "E_X", message: "a".repeat(4096) });
  });

  it("cuts a long multi-byte ERROR message at a character boundary", () => {
    // "€" is 3 bytes: 1365 of them take 4095 bytes, the most that fits.
    const decoded = decodeMessage(encodeError(1, "E_X", "€".repeat(2000)));
    expect(decoded).toMatchObject({ message: "€".repeat(1365) });
  });

  it("cuts a long ERROR message without splitting a surrogate pair", () => {
    // "😀" is 2 UTF-16 code units and 4 UTF-8 bytes: 1 + 4 * 1023 = 4093 bytes fit, a 1024th does not.
    const decoded = decodeMessage(encodeError(1, "E_X", `a${"😀".repeat(2000)}`));
    expect(decoded).toMatchObject({ message: `a${"😀".repeat(1023)}` });
  });
});

describe("subarray input at an odd byteOffset", () => {
  it.each(SAMPLES)("decodes a %s from a subarray at byteOffsets 1, 3, 5 and 7", (_, message) => {
    const bytes = encodeMessage(message);
    for (const byteOffset of [1, 3, 5, 7]) {
      const view = placeAt(bytes, byteOffset);
      expect(view.byteOffset).toBe(byteOffset);
      expect(decodeMessage(view), `byteOffset ${byteOffset}`).toEqual(message);
    }
  });

  it.each(FIXTURES)("decodes the %s fixture from a subarray at byteOffset 3", (_, bytes, message) => {
    expect(decodeMessage(placeAt(bytes, 3))).toEqual(message);
  });

  it("reports the same error for bad bytes at an odd byteOffset", () => {
    const bad = patched(ARRAY_HEADER_BYTES, (v) => v.setUint8(6, 99));
    expectDecodeError(placeAt(bad, 3), "E_UNKNOWN_DTYPE", "Unknown dtype code: expected 1..12, got 99");
  });

  it("never reads the bytes after its window", () => {
    // The window is a complete CANCEL; the buffer goes on with what would make it a bad length.
    const host = concat([0, 0, 0], CANCEL_BYTES, [0xff, 0xff, 0xff, 0xff]);
    expect(decodeMessage(host.subarray(3, 3 + CANCEL_BYTES.byteLength))).toEqual(CANCEL_MESSAGE);
  });
});

describe("input truncated at every byte", () => {
  it.each(SAMPLES)("rejects every strict prefix of a %s with E_SHORT_MESSAGE", (_, message) => {
    const bytes = encodeMessage(message);
    for (let byteLength = 0; byteLength < bytes.byteLength; byteLength++) {
      // A view into the full message (the rest is still in the buffer) and a copy on its own.
      for (const prefix of [bytes.subarray(0, byteLength), bytes.slice(0, byteLength)]) {
        const error = catchError(() => decodeMessage(prefix));
        expect(error, `prefix of ${byteLength} bytes`).toBeInstanceOf(ProtocolError);
        expect((error as ProtocolError).code, `prefix of ${byteLength} bytes`).toBe("E_SHORT_MESSAGE");
        expect((error as ProtocolError).message).toMatch(new RegExp(`, got ${byteLength}$`));
      }
    }
  });

  it.each(SAMPLES)("rejects a %s with one byte too many with E_BAD_LENGTH", (_, message) => {
    const bytes = encodeMessage(message);
    const type = message.type;
    expectDecodeError(
      concat(bytes, [0]),
      "E_BAD_LENGTH",
      `Invalid ${type}: expected ${bytes.byteLength} bytes, got ${bytes.byteLength + 1}`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// One test per error code decodeMessage can produce. The Record makes tsc fail when a code is
// added to ProtocolErrorCode without a case here. E_UNSUPPORTED_DTYPE comes from
// typedArrayConstructor (dtype.test.ts); E_UNEXPECTED_MESSAGE and E_TEXT_FRAME belong to the
// connection state machines in server/ and client/, not to the codec.
// ---------------------------------------------------------------------------------------------

type DecodeErrorCode = Exclude<ProtocolErrorCode, "E_UNSUPPORTED_DTYPE" | "E_UNEXPECTED_MESSAGE" | "E_TEXT_FRAME">;

const ONE_CASE_PER_CODE: Record<
  DecodeErrorCode,
  { behaviour: string; bytes: () => Uint8Array; limits?: DecodeLimits; message: string | RegExp }
> = {
  E_SHORT_MESSAGE: {
    behaviour: "rejects a message shorter than the 12-byte common prefix",
    bytes: () => ARRAY_HEADER_BYTES.slice(0, 11),
    message: "Invalid message: expected at least 12 bytes, got 11",
  },
  E_BAD_LENGTH: {
    behaviour: "rejects a DATA message longer than its fixed 24 bytes",
    bytes: () => concat(DATA_BYTES, [0]),
    message: "Invalid DATA: expected 24 bytes, got 25",
  },
  E_BAD_MAGIC: {
    behaviour: 'rejects a message that does not start with "ARWR"',
    bytes: () => patched(CANCEL_BYTES, (_, b) => b.set([0x41, 0x52, 0x57, 0x58], 0)), // "ARWX"
    message: "Invalid message: expected magic 0x52575241, got 0x58575241",
  },
  E_BAD_VERSION: {
    behaviour: "rejects a message of protocol version 2",
    bytes: () => patched(CANCEL_BYTES, (v) => v.setUint8(4, 2)),
    message: "Unsupported protocol version: expected 1, got 2",
  },
  E_UNKNOWN_TYPE: {
    behaviour: "rejects a message type no one defined",
    bytes: () => patched(CANCEL_BYTES, (v) => v.setUint8(5, 0x05)),
    message: "Unknown message type: got 0x05",
  },
  E_UNKNOWN_DTYPE: {
    behaviour: "rejects an ARRAY_HEADER with dtype code 13",
    bytes: () => patched(ARRAY_HEADER_BYTES, (v) => v.setUint8(6, 13)),
    message: "Unknown dtype code: expected 1..12, got 13",
  },
  E_BAD_SHAPE: {
    behaviour: "rejects an ARRAY_HEADER with 33 dims",
    bytes: () => patched(ARRAY_HEADER_BYTES, (v) => v.setUint8(7, 33)),
    message: "Invalid shape: expected at most 32 dims, got 33",
  },
  E_SIZE_MISMATCH: {
    behaviour: "rejects an ARRAY_HEADER whose totalByteLength is not product(shape) * itemsize",
    bytes: () => patched(ARRAY_HEADER_BYTES, (v) => setU64(v, 24, 0, 40)),
    message: "Invalid totalByteLength: expected product(shape) * 8 = 32, got 40",
  },
  E_BAD_RANGE: {
    behaviour: "rejects an ARRAY_HEADER whose range ends past the array",
    bytes: () => patched(ARRAY_HEADER_BYTES, (v) => setU64(v, 40, 0, 40)),
    message: "Invalid range: expected itemsize-aligned start <= first <= end <= 32, got [8, 40) first 16",
  },
  E_RESERVED: {
    behaviour: "rejects an ARRAY_HEADER whose reserved byte is not zero",
    bytes: () => patched(ARRAY_HEADER_BYTES, (v) => v.setUint8(15, 1)),
    message: "Invalid ARRAY_HEADER reserved: reserved, expected 0, got 1",
  },
  E_TOO_LARGE: {
    behaviour: "rejects a DATA announcing more bytes than maxChunkByteLength",
    bytes: () => DATA_BYTES,
    limits: { maxChunkByteLength: 4095 },
    message: "Chunk too large: expected at most 4095 bytes, got 4096",
  },
  E_HEADER_TOO_LARGE: {
    behaviour: "rejects a control message longer than maxControlByteLength",
    bytes: () => ARRAY_HEADER_BYTES,
    limits: { maxControlByteLength: 64 },
    message: "Control message too large: expected at most 64 bytes, got 65",
  },
  E_BAD_TEXT: {
    behaviour: "rejects an ARRAY_HEADER whose name is not UTF-8",
    bytes: () => patched(ARRAY_HEADER_BYTES, (v) => v.setUint8(64, 0xff)),
    message: "Invalid name: not valid UTF-8",
  },
  E_BAD_JSON: {
    behaviour: "rejects a REQUEST whose params are not JSON",
    bytes: () => patched(REQUEST_BYTES, (v) => v.setUint8(72, 0x5d)), // {"n":1] instead of {"n":1}
    message: /^Invalid params: not JSON \(.+\)$/,
  },
};

describe("one test per decode error code", () => {
  it.each(Object.entries(ONE_CASE_PER_CODE).map(([code, c]) => [c.behaviour, code as DecodeErrorCode, c] as const))(
    "%s (%s)",
    (_, code, c) => {
      expectDecodeError(c.bytes(), code, c.message, c.limits);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// More cases per code.
// ---------------------------------------------------------------------------------------------

describe("E_SHORT_MESSAGE", () => {
  it("rejects an empty message", () => {
    expectDecodeError(new Uint8Array(0), "E_SHORT_MESSAGE", "Invalid message: expected at least 12 bytes, got 0");
  });

  it("rejects an ARRAY_HEADER cut inside its fixed part, naming the fixed length", () => {
    expectDecodeError(
      ARRAY_HEADER_BYTES.slice(0, 55),
      "E_SHORT_MESSAGE",
      "Invalid ARRAY_HEADER: expected 56 bytes, got 55",
    );
  });

  it("rejects an ARRAY_HEADER whose declared name runs past the end", () => {
    expectDecodeError(
      ARRAY_HEADER_BYTES.slice(0, 64),
      "E_SHORT_MESSAGE",
      "Invalid ARRAY_HEADER: expected 65 bytes, got 64",
    );
  });

  it("rejects a REQUEST that declares 4 GiB of params without allocating them", () => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint32(16, 0xffffffff, true));
    expectDecodeError(bytes, "E_SHORT_MESSAGE", "Invalid REQUEST: expected 4294967361 bytes, got 73");
  });

  it("rejects an ERROR whose declared message runs past the end", () => {
    const bytes = patched(ERROR_BYTES, (v) => v.setUint32(12, 4, true));
    expectDecodeError(bytes, "E_SHORT_MESSAGE", "Invalid ERROR: expected 26 bytes, got 25");
  });
});

describe("E_BAD_LENGTH", () => {
  it("rejects a REQUEST with an empty name", () => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint16(12, 0, true));
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid name: expected 1..1024 bytes, got 0");
  });

  it("rejects a REQUEST whose name is declared longer than 1024 bytes", () => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint16(12, 1025, true));
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid name: expected 1..1024 bytes, got 1025");
  });

  it("rejects an ARRAY_HEADER with an empty name", () => {
    const bytes = patched(ARRAY_HEADER_BYTES, (v) => v.setUint16(12, 0, true));
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid name: expected 1..1024 bytes, got 0");
  });

  it("rejects an ARRAY_HEADER whose name is declared longer than 1024 bytes", () => {
    const bytes = patched(ARRAY_HEADER_BYTES, (v) => v.setUint16(12, 0xffff, true));
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid name: expected 1..1024 bytes, got 65535");
  });

  it("rejects an ARRAY_HEADER whose meta is declared shorter than the bytes that follow", () => {
    const bytes = concat(ARRAY_HEADER_BYTES, utf8("{}"));
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid ARRAY_HEADER: expected 65 bytes, got 67");
  });

  it("rejects a CREDIT that grants 0 bytes", () => {
    const bytes = patched(CREDIT_BYTES, (v) => setU64(v, 16, 0, 0));
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid CREDIT: expected grantByteLength > 0, got 0");
  });

  it("rejects a DATA that announces 0 payload bytes", () => {
    const bytes = patched(DATA_BYTES, (v) => v.setUint32(12, 0, true));
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid DATA: expected payloadByteLength > 0, got 0");
  });

  it("rejects an ERROR with an empty code", () => {
    const bytes = patched(ERROR_BYTES, (v) => v.setUint8(6, 0));
    expectDecodeError(
      bytes,
      "E_BAD_LENGTH",
      "Invalid ERROR: expected code 1..64 and message <= 4096 bytes, got 0 and 3",
    );
  });

  it("rejects an ERROR whose code is declared longer than 64 bytes", () => {
    const bytes = patched(ERROR_BYTES, (v) => v.setUint8(6, 65));
    expectDecodeError(
      bytes,
      "E_BAD_LENGTH",
      "Invalid ERROR: expected code 1..64 and message <= 4096 bytes, got 65 and 3",
    );
  });

  it("rejects an ERROR whose message is declared longer than 4096 bytes", () => {
    const bytes = patched(ERROR_BYTES, (v) => v.setUint32(12, 4097, true));
    expectDecodeError(
      bytes,
      "E_BAD_LENGTH",
      "Invalid ERROR: expected code 1..64 and message <= 4096 bytes, got 6 and 4097",
    );
  });
});

describe("E_BAD_MAGIC", () => {
  it.each([
    ["the magic bytes in big-endian order", [0x52, 0x57, 0x52, 0x41], "0x41525752"],
    ["zeros", [0, 0, 0, 0], "0x00000000"],
    ["all ones", [0xff, 0xff, 0xff, 0xff], "0xffffffff"],
  ])("rejects %s", (_, magic, got) => {
    const bytes = patched(DATA_BYTES, (_v, b) => b.set(magic, 0));
    expectDecodeError(bytes, "E_BAD_MAGIC", `Invalid message: expected magic 0x52575241, got ${got}`);
  });

  it("rejects a payload message mistaken for a control message", () => {
    const payload = new Uint8Array(new Float64Array([1, 2, 3]).buffer);
    expectDecodeError(payload, "E_BAD_MAGIC", "Invalid message: expected magic 0x52575241, got 0x00000000");
  });
});

describe("E_BAD_VERSION", () => {
  it.each([0, 2, 255])("rejects version %i", (version) => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint8(4, version));
    expectDecodeError(bytes, "E_BAD_VERSION", `Unsupported protocol version: expected 1, got ${version}`);
  });
});

describe("E_UNKNOWN_TYPE", () => {
  it.each([
    [0x00, "0x00"],
    [0x05, "0x05"],
    [0x0f, "0x0f"],
    [0x14, "0x14"],
    [0xff, "0xff"],
  ])("rejects type byte %i", (typeByte, hex) => {
    const bytes = patched(CANCEL_BYTES, (v) => v.setUint8(5, typeByte));
    expectDecodeError(bytes, "E_UNKNOWN_TYPE", `Unknown message type: got ${hex}`);
  });
});

describe("E_UNKNOWN_DTYPE", () => {
  it.each([0, 13, 255])("rejects an ARRAY_HEADER with dtype code %i", (code) => {
    const bytes = patched(ARRAY_HEADER_BYTES, (v) => v.setUint8(6, code));
    expectDecodeError(bytes, "E_UNKNOWN_DTYPE", `Unknown dtype code: expected 1..12, got ${code}`);
  });

  it("rejects a PUT with dtype code 0", () => {
    const bytes = patched(PUT_BYTES, (v) => v.setUint8(6, 0));
    expectDecodeError(bytes, "E_UNKNOWN_DTYPE", "Unknown dtype code: expected 1..12, got 0");
  });
});

describe("E_BAD_SHAPE", () => {
  it("rejects 33 dims even when the bytes for all of them are present", () => {
    const bytes32 = encodeArrayHeader(headerOf("uint8", Array(32).fill(1)));
    const shapeEnd = 56 + 32 * 8;
    const bytes33 = concat(
      bytes32.subarray(0, shapeEnd),
      [0x01, 0, 0, 0, 0, 0, 0, 0], // shape[32] 1
      bytes32.subarray(shapeEnd),
    );
    bytes33[7] = 33; // ndim
    expectDecodeError(bytes33, "E_BAD_SHAPE", "Invalid shape: expected at most 32 dims, got 33");
  });

  it("rejects ndim 255", () => {
    const bytes = patched(ARRAY_HEADER_BYTES, (v) => v.setUint8(7, 255));
    expectDecodeError(bytes, "E_BAD_SHAPE", "Invalid shape: expected at most 32 dims, got 255");
  });

  it("rejects a dim of 2^53", () => {
    const bytes = patched(ARRAY_HEADER_BYTES, (v) => setU64(v, 56, 0x00200000, 0));
    expectDecodeError(
      bytes,
      "E_BAD_SHAPE",
      "Invalid shape[0]: expected at most Number.MAX_SAFE_INTEGER, got 0x0020000000000000",
    );
  });

  it("rejects a dim of 2^64 - 1 in the third position", () => {
    const bytes = patched(encodeArrayHeader(headerOf("int8", [1, 2, 3])), (v) => setU64(v, 72, 0xffffffff, 0xffffffff));
    expectDecodeError(
      bytes,
      "E_BAD_SHAPE",
      "Invalid shape[2]: expected at most Number.MAX_SAFE_INTEGER, got 0xffffffffffffffff",
    );
  });

  it("rejects a shape whose byte length overflows at the second dim", () => {
    // 2^26 * 2^27 float64 elements = 2^56 bytes.
    const bytes = encodeArrayHeader(header({ shape: [2 ** 26, 2 ** 27], totalByteLength: 0, rangeByteEnd: 0 }));
    expectDecodeError(
      bytes,
      "E_BAD_SHAPE",
      "Invalid shape: product(shape) * 8 overflows Number.MAX_SAFE_INTEGER at dim 1",
    );
  });

  it("rejects float64 shape [2^50]: 2^53 bytes is one past the safe range", () => {
    const bytes = encodeArrayHeader(header({ shape: [2 ** 50], totalByteLength: 0, rangeByteEnd: 0 }));
    expectDecodeError(
      bytes,
      "E_BAD_SHAPE",
      "Invalid shape: product(shape) * 8 overflows Number.MAX_SAFE_INTEGER at dim 0",
    );
  });

  it("rejects 32 dims of 4 for uint8 at dim 26, where 4^27 = 2^54 passes 2^53", () => {
    const bytes = encodeArrayHeader(
      header({ dtype: "uint8", shape: Array(32).fill(4), totalByteLength: 0, rangeByteEnd: 0 }),
    );
    expectDecodeError(
      bytes,
      "E_BAD_SHAPE",
      "Invalid shape: product(shape) * 1 overflows Number.MAX_SAFE_INTEGER at dim 26",
    );
  });

  it("rejects a shape whose element count is safe but whose byte length is not", () => {
    // 3 * 2^51 elements is below 2^53, times 2 bytes is not.
    const bytes = encodeArrayHeader(
      header({ dtype: "int16", shape: [3, 2 ** 51], totalByteLength: 0, rangeByteEnd: 0 }),
    );
    expectDecodeError(
      bytes,
      "E_BAD_SHAPE",
      "Invalid shape: product(shape) * 2 overflows Number.MAX_SAFE_INTEGER at dim 1",
    );
  });
});

describe("E_SIZE_MISMATCH", () => {
  it.each([
    ["float64 [4] with one element too few", "float64", [4], 24, "product(shape) * 8 = 32, got 24"],
    ["0-d float64 with no bytes", "float64", [], 0, "product(shape) * 8 = 8, got 0"],
    ["empty int32 [3, 0, 2] with bytes", "int32", [3, 0, 2], 4, "product(shape) * 4 = 0, got 4"],
    ["uint8 [4] with 5 bytes", "uint8", [4], 5, "product(shape) * 1 = 4, got 5"],
    ["bigint64 [2, 3] sized as if int32", "bigint64", [2, 3], 24, "product(shape) * 8 = 48, got 24"],
  ] as const)("rejects %s", (_, dtype, shape, totalByteLength, detail) => {
    const bytes = encodeArrayHeader(
      header({ dtype, shape: [...shape], totalByteLength, rangeByteStart: 0, rangeByteEnd: 0, firstByteOffset: 0 }),
    );
    expectDecodeError(bytes, "E_SIZE_MISMATCH", `Invalid totalByteLength: expected ${detail}`);
  });
});

describe("E_BAD_RANGE", () => {
  it.each([
    ["a start past the end", 24, 16, 24],
    ["an end past the array", 0, 40, 0],
    ["a start that is not a multiple of the itemsize", 4, 32, 4],
    ["an end that is not a multiple of the itemsize", 0, 28, 0],
    ["a first byte before the start", 8, 32, 0],
    ["a first byte past the end", 8, 24, 32],
    ["a first byte one past the end", 8, 24, 25],
    ["a first byte one before the start", 8, 24, 7],
    ["a start one element past the end", 16, 8, 16],
  ])("rejects an ARRAY_HEADER range with %s", (_, rangeByteStart, rangeByteEnd, firstByteOffset) => {
    const bytes = patched(ARRAY_HEADER_BYTES, (v) => {
      setU64(v, 32, 0, rangeByteStart);
      setU64(v, 40, 0, rangeByteEnd);
      setU64(v, 48, 0, firstByteOffset);
    });
    expectDecodeError(
      bytes,
      "E_BAD_RANGE",
      `Invalid range: expected itemsize-aligned start <= first <= end <= 32, got [${rangeByteStart}, ${rangeByteEnd}) first ${firstByteOffset}`,
    );
  });

  it("accepts a first byte that is not a multiple of the itemsize inside the range", () => {
    // Resume points are byte offsets: a chunk boundary may fall inside an element.
    const bytes = patched(ARRAY_HEADER_BYTES, (v) => setU64(v, 48, 0, 13));
    expect(decodeMessage(bytes)).toMatchObject({ firstByteOffset: 13 });
  });

  it("rejects a REQUEST range that ends before it starts", () => {
    const bytes = patched(REQUEST_BYTES, (v) => {
      setU64(v, 24, 0, 20);
      setU64(v, 32, 0, 10);
    });
    expectDecodeError(bytes, "E_BAD_RANGE", "Invalid element range: got [20, 10) with range flag set");
  });

  it("rejects a REQUEST with an element range but no range flag", () => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint16(6, 0x02, true)); // GENERATION only
    expectDecodeError(bytes, "E_BAD_RANGE", "Invalid element range: got [10, 20) with range flag clear");
  });

  it("rejects a REQUEST with only an element end and no range flag", () => {
    const bytes = encodeRequest(request());
    new DataView(bytes.buffer).setUint32(32, 1, true);
    expectDecodeError(bytes, "E_BAD_RANGE", "Invalid element range: got [0, 1) with range flag clear");
  });
});

describe("u64 fields of 2^53 and above", () => {
  const FIELDS: readonly [type: string, field: string, offset: number, code: ProtocolErrorCode, bytes: Uint8Array][] = [
    ["REQUEST", "elementStart", 24, "E_BAD_RANGE", REQUEST_BYTES],
    ["REQUEST", "elementEnd", 32, "E_BAD_RANGE", REQUEST_BYTES],
    ["REQUEST", "resumeByteOffset", 40, "E_BAD_RANGE", REQUEST_BYTES],
    ["REQUEST", "creditByteLength", 48, "E_TOO_LARGE", REQUEST_BYTES],
    ["CREDIT", "grantByteLength", 16, "E_TOO_LARGE", CREDIT_BYTES],
    ["ARRAY_HEADER", "totalByteLength", 24, "E_TOO_LARGE", ARRAY_HEADER_BYTES],
    ["ARRAY_HEADER", "rangeByteStart", 32, "E_BAD_RANGE", ARRAY_HEADER_BYTES],
    ["ARRAY_HEADER", "rangeByteEnd", 40, "E_BAD_RANGE", ARRAY_HEADER_BYTES],
    ["ARRAY_HEADER", "firstByteOffset", 48, "E_BAD_RANGE", ARRAY_HEADER_BYTES],
    ["ARRAY_HEADER", "shape[0]", 56, "E_BAD_SHAPE", ARRAY_HEADER_BYTES],
    ["DATA", "byteOffset", 16, "E_BAD_RANGE", DATA_BYTES],
    ["END", "byteLength", 16, "E_BAD_RANGE", END_BYTES],
    ["END", "checksum", 24, "E_RESERVED", END_BYTES],
  ];

  it.each(FIELDS)("rejects a %s %s of 2^53 and of 2^64 - 1 with %s", (_, field, offset, code, base) => {
    for (const [high, low, hex] of [
      [0x00200000, 0, "0x0020000000000000"], // 2^53
      [0x00200000, 1, "0x0020000000000001"], // 2^53 + 1, which a double cannot even hold
      [0xffffffff, 0xffffffff, "0xffffffffffffffff"], // 2^64 - 1
    ] as const) {
      const bytes = patched(base, (v) => setU64(v, offset, high, low));
      expectDecodeError(bytes, code, `Invalid ${field}: expected at most Number.MAX_SAFE_INTEGER, got ${hex}`);
    }
  });
});

describe("E_RESERVED", () => {
  // [type, label in the error, reserved fields as [offset, byteLength], bytes]
  const RESERVED: readonly [type: string, label: string, fields: readonly [number, number][], bytes: Uint8Array][] = [
    [
      "REQUEST",
      "REQUEST reserved",
      [
        [15, 1],
        [60, 4],
      ],
      REQUEST_BYTES,
    ],
    [
      "CREDIT",
      "CREDIT reserved",
      [
        [6, 2],
        [12, 4],
      ],
      CREDIT_BYTES,
    ],
    [
      "CANCEL",
      "CANCEL reserved",
      [
        [6, 2],
        [12, 4],
      ],
      CANCEL_BYTES,
    ],
    ["ARRAY_HEADER", "ARRAY_HEADER reserved", [[15, 1]], ARRAY_HEADER_BYTES],
    ["PUT", "PUT reserved", [[15, 1]], PUT_BYTES],
    ["DATA", "DATA reserved", [[6, 2]], DATA_BYTES],
    [
      "END",
      "END reserved",
      [
        [7, 1],
        [12, 4],
      ],
      END_BYTES,
    ],
    ["ERROR", "ERROR reserved", [[7, 1]], ERROR_BYTES],
  ];

  it.each(RESERVED)(
    "rejects a %s with any reserved byte set, reporting the field's unsigned value",
    (_, label, fields, base) => {
      for (const [fieldOffset, fieldByteLength] of fields) {
        for (let offset = fieldOffset; offset < fieldOffset + fieldByteLength; offset++) {
          for (const byte of [0x01, 0x80]) {
            const bytes = patched(base, (v) => v.setUint8(offset, byte));
            // The whole little-endian field, read as unsigned: 0x80 in its top byte is 2^31, not negative.
            const value = byte * 256 ** (offset - fieldOffset);
            expectDecodeError(bytes, "E_RESERVED", `Invalid ${label}: reserved, expected 0, got ${value}`);
          }
        }
      }
    },
  );

  it.each([
    [0x0004, "0x4"], // the former REQUEST_FLAG_CHECKSUM: the algorithm is byte 14 now
    [0x0008, "0x8"],
    [0x0100, "0x100"],
    [0x8000, "0x8000"],
    [0xfffc, "0xfffc"], // every unknown bit
  ])("rejects REQUEST flags with unknown bit(s) %i", (bits, hex) => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint16(6, 0x03 | bits, true));
    expectDecodeError(bytes, "E_RESERVED", `Invalid REQUEST flags: unknown bits ${hex}`);
  });

  it("rejects the old way of asking for a CRC-32C (flag bit 2, algorithm byte 0)", () => {
    // A client of the earlier layout: flags RANGE | GENERATION | CHECKSUM, bytes 14..15 zero.
    const bytes = patched(REQUEST_BYTES, (v) => {
      v.setUint16(6, 0x07, true);
      v.setUint8(14, 0);
    });
    expectDecodeError(bytes, "E_RESERVED", "Invalid REQUEST flags: unknown bits 0x4");
  });

  it("rejects an expectedGeneration sent without its flag", () => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint16(6, 0x01, true));
    expectDecodeError(bytes, "E_RESERVED", "Invalid expectedGeneration without its flag: reserved, expected 0, got 9");
  });

  it.each([3, 4, 0x80, 255])("rejects a REQUEST checksumAlgorithm of %i", (algorithm) => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint8(14, algorithm));
    expectDecodeError(bytes, "E_RESERVED", `Invalid checksumAlgorithm: expected 0..2, got ${algorithm}`);
  });

  it("checks a REQUEST's flags, then its reserved byte 15, then the algorithm, then reserved bytes 60..63", () => {
    const bad = (flags: boolean, reserved8: boolean, algorithm: boolean, reserved32: boolean) =>
      patched(REQUEST_BYTES, (v) => {
        if (flags) v.setUint16(6, 0x03 | 0x10, true);
        if (reserved8) v.setUint8(15, 7);
        if (algorithm) v.setUint8(14, 9);
        if (reserved32) v.setUint32(60, 1, true);
      });
    expectDecodeError(bad(true, true, true, true), "E_RESERVED", "Invalid REQUEST flags: unknown bits 0x10");
    expectDecodeError(
      bad(false, true, true, true),
      "E_RESERVED",
      "Invalid REQUEST reserved: reserved, expected 0, got 7",
    );
    expectDecodeError(bad(false, false, true, true), "E_RESERVED", "Invalid checksumAlgorithm: expected 0..2, got 9");
    expectDecodeError(
      bad(false, false, false, true),
      "E_RESERVED",
      "Invalid REQUEST reserved: reserved, expected 0, got 1",
    );
  });

  it.each([3, 255])("rejects an ARRAY_HEADER checksumAlgorithm of %i", (algorithm) => {
    const bytes = patched(ARRAY_HEADER_BYTES, (v) => v.setUint8(14, algorithm));
    expectDecodeError(bytes, "E_RESERVED", `Invalid checksumAlgorithm: expected 0..2, got ${algorithm}`);
  });

  it.each([3, 255])("rejects a PUT checksumAlgorithm of %i", (algorithm) => {
    const bytes = patched(PUT_BYTES, (v) => v.setUint8(14, algorithm));
    expectDecodeError(bytes, "E_RESERVED", `Invalid checksumAlgorithm: expected 0..2, got ${algorithm}`);
  });

  it.each([3, 255])("rejects an END checksumAlgorithm of %i", (algorithm) => {
    const bytes = patched(END_BYTES, (v) => v.setUint8(6, algorithm));
    expectDecodeError(bytes, "E_RESERVED", `Invalid checksumAlgorithm: expected 0..2, got ${algorithm}`);
  });
});

describe("E_TOO_LARGE", () => {
  it("accepts a DATA of exactly the default 64 MiB and rejects one byte more", () => {
    const ok = encodeData(1, 0, 64 * 1024 * 1024);
    expect(decodeMessage(ok)).toMatchObject({ payloadByteLength: 67108864 });
    expectDecodeError(
      encodeData(1, 0, 64 * 1024 * 1024 + 1),
      "E_TOO_LARGE",
      "Chunk too large: expected at most 67108864 bytes, got 67108865",
    );
  });

  it("accepts a range of exactly the default 2 GiB and rejects one byte more", () => {
    expect(decodeMessage(encodeArrayHeader(headerOf("uint8", [2 ** 31])))).toMatchObject({ rangeByteEnd: 2 ** 31 });
    expectDecodeError(
      encodeArrayHeader(headerOf("uint8", [2 ** 31 + 1])),
      "E_TOO_LARGE",
      "Array too large: expected at most 2147483648 bytes, got 2147483649",
    );
  });

  it("limits the range a stream carries, not the whole array", () => {
    const huge = headerOf("float64", [2 ** 40], {
      rangeByteStart: 2 ** 42,
      rangeByteEnd: 2 ** 42 + 1024,
      firstByteOffset: 2 ** 42,
    });
    expect(decodeMessage(encodeArrayHeader(huge))).toEqual(huge);
  });

  it("applies a custom maxTotalByteLength to the range", () => {
    // The fixture's range [8, 32) is 24 bytes.
    expect(decodeMessage(ARRAY_HEADER_BYTES, { maxTotalByteLength: 24 })).toEqual(ARRAY_HEADER_MESSAGE);
    expectDecodeError(ARRAY_HEADER_BYTES, "E_TOO_LARGE", "Array too large: expected at most 23 bytes, got 24", {
      maxTotalByteLength: 23,
    });
  });

  it("accepts a DATA of exactly a custom maxChunkByteLength", () => {
    expect(decodeMessage(DATA_BYTES, { maxChunkByteLength: 4096 })).toEqual(DATA_MESSAGE);
  });
});

describe("E_HEADER_TOO_LARGE", () => {
  /** A REQUEST of exactly `byteLength` bytes: 64 fixed + name "a" + padded params. */
  function requestOfByteLength(byteLength: number): Uint8Array {
    const padding = byteLength - 64 - 1 - '{"p":""}'.length;
    const bytes = encodeRequest(request({ params: { p: "x".repeat(padding) } }));
    expect(bytes.byteLength).toBe(byteLength);
    return bytes;
  }

  it("accepts a control message of exactly the default 64 KiB", () => {
    expect(decodeMessage(requestOfByteLength(65536))).toMatchObject({ type: "REQUEST" });
  });

  it("rejects a control message one byte over the default 64 KiB", () => {
    expectDecodeError(
      requestOfByteLength(65537),
      "E_HEADER_TOO_LARGE",
      "Control message too large: expected at most 65536 bytes, got 65537",
    );
  });

  it("checks the size before anything else, even the magic", () => {
    expectDecodeError(
      new Uint8Array(100_000),
      "E_HEADER_TOO_LARGE",
      "Control message too large: expected at most 65536 bytes, got 100000",
    );
  });

  it("accepts a message of exactly a custom maxControlByteLength", () => {
    expect(decodeMessage(ARRAY_HEADER_BYTES, { maxControlByteLength: 65 })).toEqual(ARRAY_HEADER_MESSAGE);
  });
});

describe("E_BAD_TEXT", () => {
  it.each([
    ["a lone continuation byte", [0x80]],
    ["an overlong encoding of '/'", [0xc0, 0xaf]],
    ["an encoded UTF-16 surrogate", [0xed, 0xa0, 0x80]],
    ["a code point past U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["a multi-byte character cut short", [0x61, 0xc3]],
  ])("rejects a REQUEST name with %s", (_, nameBytes) => {
    const bytes = encodeRequest(request({ name: "n".repeat(nameBytes.length) }));
    bytes.set(nameBytes, 64); // the name starts right after the 64 fixed bytes
    expectDecodeError(bytes, "E_BAD_TEXT", "Invalid name: not valid UTF-8");
  });

  it("rejects a name whose last character continues into the params", () => {
    // Name "xé" is 3 bytes; declaring 2 leaves the name ending in a lead byte.
    const bytes = encodeRequest(request({ name: "xé", params: null }));
    const view = new DataView(bytes.buffer);
    view.setUint16(12, 2, true); // nameByteLength 2
    view.setUint32(16, 1, true); // paramsByteLength 1
    expectDecodeError(bytes, "E_BAD_TEXT", "Invalid name: not valid UTF-8");
  });

  it("rejects REQUEST params that are not UTF-8", () => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint8(70, 0xff)); // inside {"n":1}
    expectDecodeError(bytes, "E_BAD_TEXT", "Invalid params: not valid UTF-8");
  });

  it("rejects ARRAY_HEADER meta that is not UTF-8", () => {
    const bytes = patched(PUT_BYTES, (v) => v.setUint8(60, 0xfe)); // inside {"u":"m"}
    expectDecodeError(bytes, "E_BAD_TEXT", "Invalid meta: not valid UTF-8");
  });

  it("rejects an ERROR code that is not UTF-8", () => {
    const bytes = patched(ERROR_BYTES, (v) => v.setUint8(16, 0xff));
    expectDecodeError(bytes, "E_BAD_TEXT", "Invalid error code: not valid UTF-8");
  });

  it.each([
    ["lower case", "e_gone", '"e_gone"'],
    ["a space", "E GONE", '"E GONE"'],
    ["a hyphen", "E-GONE", '"E-GONE"'],
    ["non-ASCII letters", "É_ONE", '"É_ONE"'],
  ])("rejects an ERROR code with %s", (_, code, quoted) => {
    const codeBytes = utf8(code);
    const bytes = concat(ERROR_BYTES.subarray(0, 16), codeBytes, utf8("bye"));
    bytes[6] = codeBytes.byteLength;
    expectDecodeError(bytes, "E_BAD_TEXT", `Invalid error code: expected [A-Z0-9_]+, got ${quoted}`);
  });

  it("rejects an ERROR message that is not UTF-8", () => {
    const bytes = patched(ERROR_BYTES, (v) => v.setUint8(23, 0xc0));
    expectDecodeError(bytes, "E_BAD_TEXT", "Invalid error message: not valid UTF-8");
  });

  it("keeps the UTF-8 error as the cause", () => {
    const error = expectDecodeError(
      patched(ARRAY_HEADER_BYTES, (v) => v.setUint8(64, 0xff)),
      "E_BAD_TEXT",
      "Invalid name: not valid UTF-8",
    );
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it("decodes a valid message right after rejecting bad UTF-8", () => {
    // The decoder keeps no state between messages (its TextDecoder is shared and fatal).
    const bad = concat(REQUEST_BYTES.subarray(0, 64), [0x78, 0xc3], REQUEST_BYTES.subarray(66));
    expectDecodeError(bad, "E_BAD_TEXT", "Invalid name: not valid UTF-8");
    expect(decodeMessage(REQUEST_BYTES)).toEqual(REQUEST_MESSAGE);
    expect(decodeMessage(PUT_BYTES)).toEqual(PUT_MESSAGE);
  });
});

describe("E_BAD_JSON", () => {
  /** REQUEST_MESSAGE with `params` replaced by the raw `text`. */
  function requestWithParamsText(text: string): Uint8Array {
    const params = utf8(text);
    const bytes = concat(REQUEST_BYTES.subarray(0, 66), params);
    new DataView(bytes.buffer).setUint32(16, params.byteLength, true);
    return bytes;
  }

  /** ARRAY_HEADER_MESSAGE with `meta` set to the raw `text`. */
  function headerWithMetaText(text: string): Uint8Array {
    const meta = utf8(text);
    const bytes = concat(ARRAY_HEADER_BYTES, meta);
    new DataView(bytes.buffer).setUint32(16, meta.byteLength, true);
    return bytes;
  }

  it("rejects REQUEST params with a duplicate key", () => {
    expectDecodeError(requestWithParamsText('{"n":1,"n":2}'), "E_BAD_JSON", 'Invalid params: duplicate key "n"');
  });

  it('rejects REQUEST params with a "__proto__" key', () => {
    expectDecodeError(
      requestWithParamsText('{"__proto__":{"isAdmin":true}}'),
      "E_BAD_JSON",
      'Invalid params: forbidden key "__proto__"',
    );
  });

  it("rejects REQUEST params whose top level is an array", () => {
    expectDecodeError(
      requestWithParamsText("[1,2]"),
      "E_BAD_JSON",
      "Invalid params: expected a JSON object, got an array",
    );
  });

  it('rejects REQUEST params spelled "null" (no params is a length of 0)', () => {
    expectDecodeError(requestWithParamsText("null"), "E_BAD_JSON", "Invalid params: expected a JSON object, got null");
  });

  it("rejects REQUEST params that are a number", () => {
    expectDecodeError(requestWithParamsText("42"), "E_BAD_JSON", "Invalid params: expected a JSON object, got number");
  });

  it("rejects ARRAY_HEADER meta with a duplicate nested key", () => {
    expectDecodeError(headerWithMetaText('{"a":{"b":1,"b":1}}'), "E_BAD_JSON", 'Invalid meta: duplicate key "b"');
  });

  it('rejects ARRAY_HEADER meta with a "constructor" key', () => {
    expectDecodeError(
      headerWithMetaText('{"constructor":1}'),
      "E_BAD_JSON",
      'Invalid meta: forbidden key "constructor"',
    );
  });

  it("rejects ARRAY_HEADER meta that is a string", () => {
    expectDecodeError(headerWithMetaText('"meta"'), "E_BAD_JSON", "Invalid meta: expected a JSON object, got string");
  });

  it("rejects ARRAY_HEADER meta that is not JSON, keeping the SyntaxError as cause", () => {
    const error = expectDecodeError(headerWithMetaText("{unit:m}"), "E_BAD_JSON", /^Invalid meta: not JSON \(.+\)$/);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });
});

// ---------------------------------------------------------------------------------------------
// Encoder: caller bugs throw RangeError synchronously (never ProtocolError).
// ---------------------------------------------------------------------------------------------

describe("encoders reject caller bugs", () => {
  const BAD_U64 = [
    [-1, "-1"],
    [1.5, "1.5"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [2 ** 53, "9007199254740992"],
  ] as const;

  it.each(BAD_U64)("rejects a dim of %d", (dim, shown) => {
    expectCallerError(
      () => encodeArrayHeader(header({ shape: [2, dim] })),
      RangeError,
      `Invalid shape[1]: expected a non-negative safe integer, got ${shown}`,
    );
  });

  it("rejects 33 dims", () => {
    expectCallerError(
      () => encodeArrayHeader(header({ shape: Array(33).fill(1), totalByteLength: 8 })),
      RangeError,
      "Invalid shape: expected at most 32 dims, got 33",
    );
  });

  it.each(["totalByteLength", "rangeByteStart", "rangeByteEnd", "firstByteOffset"] as const)(
    "rejects an ARRAY_HEADER %s that is not a non-negative safe integer",
    (field) => {
      for (const [value, shown] of BAD_U64) {
        expectCallerError(
          () => encodeArrayHeader(header({ [field]: value })),
          RangeError,
          `Invalid ${field}: expected a non-negative safe integer, got ${shown}`,
        );
      }
    },
  );

  it.each([
    ["an empty name", "", 0],
    ["a 1025-byte ASCII name", "a".repeat(1025), 1025],
    ["342 three-byte characters (1026 bytes)", "€".repeat(342), 1026],
  ])("rejects %s in an ARRAY_HEADER and a REQUEST", (_, name, byteLength) => {
    const message = `Invalid name: expected 1..1024 UTF-8 bytes, got ${byteLength}`;
    expectCallerError(() => encodeArrayHeader(header({ name })), RangeError, message);
    expectCallerError(() => encodeRequest(request({ name })), RangeError, message);
  });

  it.each([
    ["an empty code", "", '""'],
    ["lower case", "e_gone", '"e_gone"'],
    ["a hyphen", "E-GONE", '"E-GONE"'],
    ["a space", "E GONE", '"E GONE"'],
    ["non-ASCII letters", "É", '"É"'],
    ["65 characters", "E".repeat(65), `"${"E".repeat(65)}"`],
  ])("rejects an ERROR code with %s", (_, code, quoted) => {
    expectCallerError(
      () => encodeError(1, code, "m"),
      RangeError,
      `Invalid error code: expected 1..64 of [A-Z0-9_], got ${quoted}`,
    );
  });

  it.each([
    [-1, "-1"],
    [1.5, "1.5"],
    [2 ** 32, "4294967296"],
    [Number.NaN, "NaN"],
  ] as const)("rejects stream id %d in every encoder", (streamId, shown) => {
    const message = `Invalid streamId: expected a u32, got ${shown}`;
    expectCallerError(() => encodeRequest(request({ streamId })), RangeError, message);
    expectCallerError(() => encodeCredit(streamId, 1), RangeError, message);
    expectCallerError(() => encodeCancel(streamId), RangeError, message);
    expectCallerError(() => encodeArrayHeader(header({ streamId })), RangeError, message);
    expectCallerError(() => encodeData(streamId, 0, 1), RangeError, message);
    expectCallerError(
      () => encodeEnd({ streamId, byteLength: 0, checksumAlgorithm: "none", checksum: 0 }),
      RangeError,
      message,
    );
    expectCallerError(() => encodeError(streamId, "E_X", ""), RangeError, message);
  });

  it.each(["elementStart", "elementEnd"] as const)("rejects a REQUEST range %s that is not a safe integer", (field) => {
    for (const [value, shown] of BAD_U64) {
      const range = { elementStart: 0, elementEnd: 10, [field]: value };
      expectCallerError(
        () => encodeRequest(request({ range })),
        RangeError,
        `Invalid ${field}: expected a non-negative safe integer, got ${shown}`,
      );
    }
  });

  it.each(["resumeByteOffset", "creditByteLength"] as const)(
    "rejects a REQUEST %s that is not a safe integer",
    (field) => {
      for (const [value, shown] of BAD_U64) {
        expectCallerError(
          () => encodeRequest(request({ [field]: value })),
          RangeError,
          `Invalid ${field}: expected a non-negative safe integer, got ${shown}`,
        );
      }
    },
  );

  it.each([
    [
      "a REQUEST chunkByteLength",
      (value: number) => encodeRequest(request({ chunkByteLength: value })),
      "chunkByteLength",
    ],
    [
      "a REQUEST expectedGeneration",
      (value: number) => encodeRequest(request({ expectedGeneration: value })),
      "expectedGeneration",
    ],
    ["an ARRAY_HEADER generation", (value: number) => encodeArrayHeader(header({ generation: value })), "generation"],
  ] as const)("rejects %s that is not a u32 instead of wrapping it", (_, encode, field) => {
    for (const [value, shown] of [
      [-1, "-1"],
      [2 ** 32, "4294967296"],
      [1.5, "1.5"],
      [Number.NaN, "NaN"],
    ] as const) {
      expectCallerError(() => encode(value), RangeError, `Invalid ${field}: expected a u32, got ${shown}`);
    }
  });

  it.each([
    [0, "0"],
    [-5, "-5"],
  ])("rejects a CREDIT grant of %d bytes", (grantByteLength, shown) => {
    expectCallerError(
      () => encodeCredit(1, grantByteLength),
      RangeError,
      `Invalid grantByteLength: expected > 0, got ${shown}`,
    );
  });

  it.each([
    [1.5, "1.5"],
    [Number.NaN, "NaN"],
    [2 ** 53, "9007199254740992"],
  ])("rejects a CREDIT grant of %d bytes as not a safe integer", (grantByteLength, shown) => {
    expectCallerError(
      () => encodeCredit(1, grantByteLength),
      RangeError,
      `Invalid grantByteLength: expected a non-negative safe integer, got ${shown}`,
    );
  });

  it.each([
    [0, "0"],
    [-1, "-1"],
    [1.5, "1.5"],
    [2 ** 32, "4294967296"],
    [Number.NaN, "NaN"],
  ])("rejects a DATA payload of %d bytes", (payloadByteLength, shown) => {
    expectCallerError(
      () => encodeData(1, 0, payloadByteLength),
      RangeError,
      `Invalid payloadByteLength: expected 1..2^32-1, got ${shown}`,
    );
  });

  it.each(BAD_U64)("rejects a DATA byteOffset of %d", (byteOffset, shown) => {
    expectCallerError(
      () => encodeData(1, byteOffset, 1),
      RangeError,
      `Invalid byteOffset: expected a non-negative safe integer, got ${shown}`,
    );
  });

  it.each([
    ["a name no one defined", "md5", '"md5"'],
    ["the former boolean true", true, "true"],
    ["the former boolean false", false, "false"],
    ["missing", undefined, "undefined"],
  ] as const)("rejects a checksum algorithm that is %s in a REQUEST, an ARRAY_HEADER and an END", (_, value, shown) => {
    const message = `Invalid checksumAlgorithm: expected one of none, crc32c, xxh32, got ${shown}`;
    const algorithm = value as unknown as ChecksumAlgorithm;
    expectCallerError(() => encodeRequest(request({ checksum: algorithm })), TypeError, message);
    expectCallerError(() => encodeArrayHeader(header({ checksumAlgorithm: algorithm })), TypeError, message);
    expectCallerError(
      () => encodeEnd({ streamId: 1, byteLength: 0, checksumAlgorithm: algorithm, checksum: 0 }),
      TypeError,
      message,
    );
  });

  it.each(["byteLength", "checksum"] as const)("rejects an END %s that is not a safe integer", (field) => {
    for (const [value, shown] of BAD_U64) {
      const end = { streamId: 1, byteLength: 0, checksumAlgorithm: "crc32c" as const, checksum: 0, [field]: value };
      expectCallerError(
        () => encodeEnd(end),
        RangeError,
        `Invalid ${field}: expected a non-negative safe integer, got ${shown}`,
      );
    }
  });
});
