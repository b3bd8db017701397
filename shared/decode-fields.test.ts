/**
 * The decoder's field checks, one describe per ProtocolError code: shapes, sizes, ranges, u64
 * fields at and past 2^53, reserved bytes and flags, the size limits, UTF-8 text and JSON parts.
 */
import { describe, expect, it } from "vitest";
import { decodeMessage } from "./decode.ts";
import { encodeArrayHeader, encodeData, encodeRequest } from "./encode.ts";
import type { ProtocolErrorCode } from "./errors.ts";
import {
  ARRAY_HEADER_BYTES,
  ARRAY_HEADER_MESSAGE,
  CANCEL_BYTES,
  CREDIT_BYTES,
  concat,
  DATA_BYTES,
  DATA_MESSAGE,
  END_BYTES,
  ERROR_BYTES,
  expectDecodeError,
  header,
  headerOf,
  PUT_BYTES,
  PUT_MESSAGE,
  patched,
  REQUEST_BYTES,
  REQUEST_MESSAGE,
  request,
  setU64,
  utf8,
} from "./test-helpers.ts";

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
    ["REQUEST", "REQUEST reserved", [[60, 4]], REQUEST_BYTES],
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
    [0x0020, "0x20"], // the first bit above SUBSCRIBE
    [0x0100, "0x100"],
    [0x8000, "0x8000"],
    [0xffe4, "0xffe4"], // every unknown bit
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

  it.each([
    [0x02, "0x2"],
    [0x80, "0x80"],
    [0xff, "0xfe"], // zstd's bit is known: only the others are reported
  ])("rejects REQUEST codecs byte %i (unknown codec bits)", (bits, hex) => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint8(15, bits));
    expectDecodeError(bytes, "E_RESERVED", `Invalid REQUEST codecs: unknown bits ${hex}`);
  });

  it("decodes REQUEST codecs byte 1 as zstd, and 0 as no codecs (the field left out)", () => {
    const zstd = decodeMessage(patched(REQUEST_BYTES, (v) => v.setUint8(15, 1)));
    expect(zstd).toMatchObject({ type: "REQUEST", codecs: ["zstd"] });
    expect(decodeMessage(REQUEST_BYTES)).not.toHaveProperty("codecs");
  });

  it("checks a REQUEST's flags, then its codecs byte 15, then the algorithm, then reserved bytes 60..63", () => {
    const bad = (flags: boolean, reserved8: boolean, algorithm: boolean, reserved32: boolean) =>
      patched(REQUEST_BYTES, (v) => {
        if (flags) v.setUint16(6, 0x03 | 0x40, true);
        if (reserved8) v.setUint8(15, 7);
        if (algorithm) v.setUint8(14, 9);
        if (reserved32) v.setUint32(60, 1, true);
      });
    expectDecodeError(bad(true, true, true, true), "E_RESERVED", "Invalid REQUEST flags: unknown bits 0x40");
    expectDecodeError(bad(false, true, true, true), "E_RESERVED", "Invalid REQUEST codecs: unknown bits 0x6");
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
