/**
 * encode -> decode round trips: every dtype and checksum algorithm, every message type, the
 * extremes of every field (safe-integer u64s, u32 ids, 1024-byte names, 4096-byte messages).
 */
import { describe, expect, it } from "vitest";
import { decodeMessage } from "./decode.ts";
import { DTYPES } from "./dtype.ts";
import {
  encodeArrayHeader,
  encodeCancel,
  encodeCredit,
  encodeData,
  encodeEnd,
  encodeError,
  encodeRequest,
} from "./encode.ts";
import type { Message } from "./message-types.ts";
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from "./protocol.ts";
import {
  ALL_DTYPES,
  CHECKSUM_CODE,
  CHECKSUMS,
  encodeMessage,
  expectDecodeError,
  header,
  headerOf,
  ITEMSIZE,
  MAX_SAFE,
  product,
  request,
  utf8,
  WIRE_CODE,
} from "./test-helpers.ts";

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
