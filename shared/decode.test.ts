/**
 * The decoder's structure: any view of the bytes (odd byteOffsets, windows into larger buffers),
 * every truncation, one test per ProtocolError code it can raise, and the prefix and length
 * checks (E_SHORT_MESSAGE, E_BAD_LENGTH, E_BAD_MAGIC, E_BAD_VERSION, E_UNKNOWN_TYPE,
 * E_UNKNOWN_DTYPE). decode-fields.test.ts covers the checks of single fields.
 */
import { describe, expect, it } from "vitest";
import { decodeMessage } from "./decode.ts";
import { ProtocolError, type ProtocolErrorCode } from "./errors.ts";
import type { DecodeLimits } from "./message-types.ts";
import {
  ARRAY_HEADER_BYTES,
  CANCEL_BYTES,
  CANCEL_MESSAGE,
  CREDIT_BYTES,
  catchError,
  concat,
  DATA_BYTES,
  ERROR_BYTES,
  encodeMessage,
  expectDecodeError,
  FIXTURES,
  PUT_BYTES,
  patched,
  placeAt,
  REQUEST_BYTES,
  SAMPLES,
  setU64,
  utf8,
} from "./test-helpers.ts";

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
// connection state machines in server/ and client/, not to the codec; E_BAD_ENCODING comes from
// the chunk decoder (chunk-decode.test.ts).
// ---------------------------------------------------------------------------------------------

type DecodeErrorCode = Exclude<
  ProtocolErrorCode,
  "E_UNSUPPORTED_DTYPE" | "E_UNEXPECTED_MESSAGE" | "E_TEXT_FRAME" | "E_BAD_ENCODING"
>;

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
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid name: expected 1..1024 UTF-8 bytes, got 0");
  });

  it("rejects a REQUEST whose name is declared longer than 1024 bytes", () => {
    const bytes = patched(REQUEST_BYTES, (v) => v.setUint16(12, 1025, true));
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid name: expected 1..1024 UTF-8 bytes, got 1025");
  });

  it("rejects an ARRAY_HEADER with an empty name", () => {
    const bytes = patched(ARRAY_HEADER_BYTES, (v) => v.setUint16(12, 0, true));
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid name: expected 1..1024 UTF-8 bytes, got 0");
  });

  it("rejects an ARRAY_HEADER whose name is declared longer than 1024 bytes", () => {
    const bytes = patched(ARRAY_HEADER_BYTES, (v) => v.setUint16(12, 0xffff, true));
    expectDecodeError(bytes, "E_BAD_LENGTH", "Invalid name: expected 1..1024 UTF-8 bytes, got 65535");
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
    [0x7f, "0x7f"],
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
