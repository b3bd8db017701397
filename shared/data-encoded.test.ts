/**
 * DATA_ENCODED (0x14) and REQUEST's codecs byte: round trips, and each check of the decoder on
 * both sides of its bound (payload vs raw length, raw length vs the chunk cap, codec, filter,
 * reserved bytes).
 */
import { describe, expect, it } from "vitest";
import { decodeMessage } from "./decode.ts";
import { encodeDataEncoded, encodeRequest } from "./encode.ts";
import type { DataEncodedMessage } from "./message-types.ts";
import { expectDecodeError } from "./test-helpers.ts";
import { hasDataType } from "./wire.ts";

const BASE: DataEncodedMessage = {
  type: "DATA_ENCODED",
  streamId: 7,
  payloadByteLength: 1000,
  byteOffset: 2 ** 40 + 8,
  rawByteLength: 4096,
  codec: "zstd",
  filter: "shuffle",
};

function patched(bytes: Uint8Array, edit: (v: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer));
  return copy;
}

describe("DATA_ENCODED", () => {
  it("round-trips, 32 bytes, type 0x14, and counts as a message a payload follows", () => {
    const bytes = encodeDataEncoded(BASE);
    expect(bytes.byteLength).toBe(32);
    expect(bytes[5]).toBe(0x14);
    expect(decodeMessage(bytes)).toEqual(BASE);
    expect(decodeMessage(encodeDataEncoded({ ...BASE, filter: "none" }))).toMatchObject({ filter: "none" });
    expect(hasDataType(bytes)).toBe(true);
  });

  it("accepts payloadByteLength equal to rawByteLength and refuses one more, and refuses 0", () => {
    const equal = patched(encodeDataEncoded(BASE), (v) => v.setUint32(12, 4096, true));
    expect(decodeMessage(equal)).toMatchObject({ payloadByteLength: 4096 });
    const over = patched(encodeDataEncoded(BASE), (v) => v.setUint32(12, 4097, true));
    expectDecodeError(over, "E_BAD_LENGTH", /expected 0 < payloadByteLength <= rawByteLength, got 4097 and 4096/);
    const zero = patched(encodeDataEncoded(BASE), (v) => v.setUint32(12, 0, true));
    expectDecodeError(zero, "E_BAD_LENGTH", /got 0 and 4096/);
  });

  it("accepts rawByteLength at the chunk cap and refuses one byte over it (no decompression bomb)", () => {
    const bytes = encodeDataEncoded(BASE);
    expect(decodeMessage(bytes, { maxChunkByteLength: 4096 })).toMatchObject({ rawByteLength: 4096 });
    expectDecodeError(bytes, "E_TOO_LARGE", "Chunk too large: expected at most 4095 raw bytes, got 4096", {
      maxChunkByteLength: 4095,
    });
  });

  it("refuses codec 0 and 2, filter 2, and any reserved byte", () => {
    for (const codec of [0, 2]) {
      const bytes = patched(encodeDataEncoded(BASE), (v) => v.setUint8(28, codec));
      expectDecodeError(bytes, "E_RESERVED", new RegExp(`expected codec 1 and filter 0 or 1, got ${codec} and 1`));
    }
    expectDecodeError(
      patched(encodeDataEncoded(BASE), (v) => v.setUint8(29, 2)),
      "E_RESERVED",
      /got 1 and 2/,
    );
    for (const offset of [6, 7, 30, 31]) {
      const bytes = patched(encodeDataEncoded(BASE), (v) => v.setUint8(offset, 1));
      expectDecodeError(bytes, "E_RESERVED", /Invalid DATA_ENCODED reserved: reserved, expected 0/);
    }
  });

  it("refuses a message one byte short or long", () => {
    const bytes = encodeDataEncoded(BASE);
    expectDecodeError(bytes.subarray(0, 31), "E_SHORT_MESSAGE", "Invalid DATA_ENCODED: expected 32 bytes, got 31");
    expectDecodeError(
      Uint8Array.from([...bytes, 0]),
      "E_BAD_LENGTH",
      "Invalid DATA_ENCODED: expected 32 bytes, got 33",
    );
  });

  it("refuses to encode a payload longer than its raw bytes, or empty (caller bugs)", () => {
    expect(() => encodeDataEncoded({ ...BASE, payloadByteLength: 4097 })).toThrow(RangeError);
    expect(() => encodeDataEncoded({ ...BASE, payloadByteLength: 0 })).toThrow(RangeError);
    expect(encodeDataEncoded({ ...BASE, payloadByteLength: 4096 }).byteLength).toBe(32);
  });
});

describe("REQUEST codecs (byte 15)", () => {
  const request = {
    streamId: 1,
    name: "a",
    params: null,
    chunkByteLength: 0,
    range: null,
    resumeByteOffset: 0,
    creditByteLength: 0,
    expectedGeneration: null,
    checksum: "xxh32",
  } as const;

  it("writes bit 0 for zstd and 0 for none, and decodes them back", () => {
    const zstd = encodeRequest({ ...request, codecs: ["zstd"] });
    expect(zstd[15]).toBe(1);
    expect(decodeMessage(zstd)).toMatchObject({ codecs: ["zstd"] });
    expect(encodeRequest({ ...request, codecs: [] })[15]).toBe(0);
    expect(encodeRequest(request)[15]).toBe(0);
  });

  it("refuses to encode an unknown codec (a caller bug)", () => {
    expect(() => encodeRequest({ ...request, codecs: ["lz4" as "zstd"] })).toThrow(TypeError);
  });
});
