/**
 * The encoders: the literal wire fixtures byte for byte, and caller bugs (bad ids, lengths,
 * offsets, names, codes, algorithms) refused with a RangeError or TypeError, never a
 * ProtocolError and never wrapped into a valid-looking message.
 */
import { describe, expect, it } from "vitest";
import { decodeMessage } from "./decode.ts";
import {
  encodeArrayHeader,
  encodeCancel,
  encodeCredit,
  encodeData,
  encodeEnd,
  encodeError,
  encodeRequest,
} from "./encode.ts";
import type { ChecksumAlgorithm } from "./protocol.ts";
import {
  ARRAY_HEADER_BYTES,
  ARRAY_HEADER_MESSAGE,
  CHECKSUM_CODE,
  CHECKSUMS,
  encodeMessage,
  expectCallerError,
  FIXTURES,
  header,
  PUT_MESSAGE,
  patched,
  REQUEST_BYTES,
  REQUEST_MESSAGE,
  request,
} from "./test-helpers.ts";

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

  it("rejects a name that is not a string in an ARRAY_HEADER and a REQUEST", () => {
    const name = 42 as unknown as string;
    const message = "Invalid name: expected a string, got number";
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
