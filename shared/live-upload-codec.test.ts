/**
 * The messages and flags of uploads, live arrays and discovery (docs/PROTOCOL.md §5.12, §5.13,
 * §16-§18): GROW, ACCEPT, the HEADER_ONLY and SUBSCRIBE flags of REQUEST, and the PUT helpers.
 * Literal bytes with one comment per field, round trips, truncation at every byte, odd byte
 * offsets, and one test per error code with class, code and message.
 */
import { describe, expect, it } from "vitest";
import { decodeMessage } from "./decode.ts";
import { encodeAccept, encodeArrayHeader, encodeGrow, encodeRequest } from "./encode.ts";
import { StreamError } from "./errors.ts";
import { REQUEST_FLAG_HEADER_ONLY, REQUEST_FLAG_SUBSCRIBE } from "./protocol.ts";
import {
  catchError,
  expectCallerError,
  expectDecodeError,
  header,
  patched,
  placeAt,
  request,
  setU64,
} from "./test-helpers.ts";
import { encodePut, readPutFields } from "./upload-wire.ts";

// biome-ignore format: one field per line, as in the layout table
const GROW_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, //  0 magic
  0x01,                   //  4 version
  0x15,                   //  5 type GROW
  0x00, 0x00,             //  6 reserved
  0x07, 0x00, 0x00, 0x00, //  8 streamId 7
  0x00, 0x00, 0x00, 0x00, // 12 reserved
  0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 16 totalByteLength 4096
  0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, // 24 maxTotalByteLength 1 MiB
]);

// biome-ignore format: one field per line, as in the layout table
const ACCEPT_BYTES = Uint8Array.from([
  0x41, 0x52, 0x57, 0x52, //  0 magic
  0x01,                   //  4 version
  0x16,                   //  5 type ACCEPT
  0x00, 0x00,             //  6 reserved
  0x03, 0x00, 0x00, 0x00, //  8 streamId 3
  0xef, 0xbe, 0xad, 0xde, // 12 uploadId 0xdeadbeef
  0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, // 16 firstByteOffset 2 MiB
  0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, // 24 creditByteLength 8 MiB
  0x00, 0x00, 0x10, 0x00, // 32 maxPayloadByteLength 1 MiB
  0x00, 0x00, 0x00, 0x00, // 36 reserved
]);

const GROW = { type: "GROW", streamId: 7, totalByteLength: 4096, maxTotalByteLength: 1 << 20 } as const;
const ACCEPT = {
  type: "ACCEPT",
  streamId: 3,
  uploadId: 0xdeadbeef,
  firstByteOffset: 2 << 20,
  creditByteLength: 8 << 20,
  maxPayloadByteLength: 1 << 20,
} as const;

describe("GROW", () => {
  it("encodes to the documented bytes and decodes back", () => {
    expect([...encodeGrow(GROW)]).toEqual([...GROW_BYTES]);
    expect(decodeMessage(GROW_BYTES)).toEqual(GROW);
  });

  it("decodes from an odd byteOffset inside a larger buffer", () => {
    expect(decodeMessage(placeAt(GROW_BYTES, 5))).toEqual(GROW);
  });

  it("refuses every truncation and a trailing byte", () => {
    for (let n = 12; n < GROW_BYTES.byteLength; n++) {
      expectDecodeError(GROW_BYTES.subarray(0, n), "E_SHORT_MESSAGE", `Invalid GROW: expected 32 bytes, got ${n}`);
    }
    const longer = new Uint8Array(33);
    longer.set(GROW_BYTES);
    expectDecodeError(longer, "E_BAD_LENGTH", "Invalid GROW: expected 32 bytes, got 33");
  });

  it("refuses non-zero reserved fields, the u16 at 6 first", () => {
    expectDecodeError(
      patched(GROW_BYTES, (v) => {
        v.setUint16(6, 1, true);
        v.setUint32(12, 1, true);
      }),
      "E_RESERVED",
      "Invalid GROW reserved: reserved, expected 0, got 1",
    );
    expectDecodeError(
      patched(GROW_BYTES, (v) => v.setUint32(12, 9, true)),
      "E_RESERVED",
      "Invalid GROW reserved: reserved, expected 0, got 9",
    );
  });

  it("refuses a totalByteLength above 2^53 - 1 (E_BAD_RANGE) and a maximum above it (E_TOO_LARGE)", () => {
    expectDecodeError(
      patched(GROW_BYTES, (v) => setU64(v, 16, 0x200000, 0)),
      "E_BAD_RANGE",
      "Invalid totalByteLength: expected at most Number.MAX_SAFE_INTEGER, got 0x0020000000000000",
    );
    expectDecodeError(
      patched(GROW_BYTES, (v) => setU64(v, 24, 0x200000, 0)),
      "E_TOO_LARGE",
      "Invalid maxTotalByteLength: expected at most Number.MAX_SAFE_INTEGER, got 0x0020000000000000",
    );
  });

  it("accepts a total equal to the maximum and refuses one byte more", () => {
    const full = patched(GROW_BYTES, (v) => setU64(v, 16, 0, 1 << 20));
    expect(decodeMessage(full)).toMatchObject({ totalByteLength: 1 << 20 });
    expectDecodeError(
      patched(GROW_BYTES, (v) => setU64(v, 16, 0, (1 << 20) + 1)),
      "E_BAD_RANGE",
      "Invalid GROW: expected totalByteLength <= maxTotalByteLength (1048576), got 1048577",
    );
  });

  it("refuses to encode a total over the maximum (a caller bug)", () => {
    expectCallerError(
      () => encodeGrow({ streamId: 1, totalByteLength: 9, maxTotalByteLength: 8 }),
      RangeError,
      "Invalid GROW: expected totalByteLength <= maxTotalByteLength (8), got 9",
    );
  });
});

describe("ACCEPT", () => {
  it("encodes to the documented bytes and decodes back", () => {
    expect([...encodeAccept(ACCEPT)]).toEqual([...ACCEPT_BYTES]);
    expect(decodeMessage(ACCEPT_BYTES)).toEqual(ACCEPT);
    expect(decodeMessage(placeAt(ACCEPT_BYTES, 3))).toEqual(ACCEPT);
  });

  it("refuses every truncation and a trailing byte", () => {
    for (let n = 12; n < ACCEPT_BYTES.byteLength; n++) {
      expectDecodeError(ACCEPT_BYTES.subarray(0, n), "E_SHORT_MESSAGE", `Invalid ACCEPT: expected 40 bytes, got ${n}`);
    }
    const longer = new Uint8Array(41);
    longer.set(ACCEPT_BYTES);
    expectDecodeError(longer, "E_BAD_LENGTH", "Invalid ACCEPT: expected 40 bytes, got 41");
  });

  it("refuses reserved fields, uploadId 0, zero lengths and u64s above 2^53 - 1", () => {
    expectDecodeError(
      patched(ACCEPT_BYTES, (v) => v.setUint16(6, 2, true)),
      "E_RESERVED",
      "Invalid ACCEPT reserved: reserved, expected 0, got 2",
    );
    expectDecodeError(
      patched(ACCEPT_BYTES, (v) => v.setUint32(36, 4, true)),
      "E_RESERVED",
      "Invalid ACCEPT reserved: reserved, expected 0, got 4",
    );
    expectDecodeError(
      patched(ACCEPT_BYTES, (v) => v.setUint32(12, 0, true)),
      "E_RESERVED",
      "Invalid ACCEPT: uploadId 0 is reserved",
    );
    expectDecodeError(
      patched(ACCEPT_BYTES, (v) => setU64(v, 16, 0xffffffff, 0)),
      "E_BAD_RANGE",
      "Invalid firstByteOffset: expected at most Number.MAX_SAFE_INTEGER, got 0xffffffff00000000",
    );
    expectDecodeError(
      patched(ACCEPT_BYTES, (v) => setU64(v, 24, 0x200000, 0)),
      "E_TOO_LARGE",
      "Invalid creditByteLength: expected at most Number.MAX_SAFE_INTEGER, got 0x0020000000000000",
    );
    expectDecodeError(
      patched(ACCEPT_BYTES, (v) => setU64(v, 24, 0, 0)),
      "E_BAD_LENGTH",
      "Invalid ACCEPT: expected creditByteLength and maxPayloadByteLength > 0, got 0 and 1048576",
    );
    expectDecodeError(
      patched(ACCEPT_BYTES, (v) => v.setUint32(32, 0, true)),
      "E_BAD_LENGTH",
      "Invalid ACCEPT: expected creditByteLength and maxPayloadByteLength > 0, got 8388608 and 0",
    );
  });

  it("refuses to encode an uploadId of 0, no credit or no payload size", () => {
    expectCallerError(
      () => encodeAccept({ ...ACCEPT, uploadId: 0 }),
      RangeError,
      "Invalid uploadId: expected 1..2^32-1, got 0",
    );
    expectCallerError(
      () => encodeAccept({ ...ACCEPT, creditByteLength: 0 }),
      RangeError,
      "Invalid creditByteLength: expected > 0, got 0",
    );
    expectCallerError(
      () => encodeAccept({ ...ACCEPT, maxPayloadByteLength: 0 }),
      RangeError,
      "Invalid maxPayloadByteLength: expected > 0, got 0",
    );
  });
});

describe("REQUEST flags HEADER_ONLY (0x08) and SUBSCRIBE (0x10)", () => {
  it("are bits 3 and 4", () => {
    expect(REQUEST_FLAG_HEADER_ONLY).toBe(0x08);
    expect(REQUEST_FLAG_SUBSCRIBE).toBe(0x10);
  });

  it.each([
    [{ headerOnly: true }, 0x08],
    [{ subscribe: true }, 0x10],
    [{ subscribe: true, range: { elementStart: 6, elementEnd: 9 } }, 0x11],
    [{ headerOnly: true, expectedGeneration: 4 }, 0x0a],
  ] as const)("encodes %j with flags %i and decodes it back", (fields, flags) => {
    const m = request(fields);
    const bytes = encodeRequest(m);
    expect(new DataView(bytes.buffer).getUint16(6, true)).toBe(flags);
    expect(decodeMessage(bytes)).toEqual(m);
  });

  it("leaves both out of a request without them (the bytes and the decoded object)", () => {
    const bytes = encodeRequest(request({ headerOnly: false, subscribe: false }));
    expect(new DataView(bytes.buffer).getUint16(6, true)).toBe(0);
    const decoded = decodeMessage(bytes);
    expect(decoded).not.toHaveProperty("headerOnly");
    expect(decoded).not.toHaveProperty("subscribe");
  });
});

describe("PUT", () => {
  const fields = {
    streamId: 5,
    name: "up",
    dtype: "int16",
    shape: [3, 4],
    checksumAlgorithm: "xxh32",
    uploadId: 0,
    meta: { unit: "mV" },
    params: { overwrite: true },
  } as const;

  it("is an ARRAY_HEADER layout of type 0x04 over the whole array, the upload object as its JSON part", () => {
    const bytes = encodePut({ ...fields, shape: [...fields.shape] });
    expect(bytes[5]).toBe(0x04);
    const put = decodeMessage(bytes);
    expect(put).toEqual({
      type: "PUT",
      streamId: 5,
      dtype: "int16",
      shape: [3, 4],
      totalByteLength: 24,
      rangeByteStart: 0,
      rangeByteEnd: 24,
      firstByteOffset: 0,
      generation: 0,
      checksumAlgorithm: "xxh32",
      name: "up",
      meta: { meta: { unit: "mV" }, params: { overwrite: true } },
    });
    if (put.type !== "PUT") throw new Error("not a PUT");
    expect(readPutFields(put)).toEqual({ meta: { unit: "mV" }, params: { overwrite: true } });
  });

  it("sends no JSON part when there is neither meta nor params, and carries a resume's upload id", () => {
    const put = decodeMessage(encodePut({ ...fields, shape: [2], meta: null, params: null, uploadId: 77 }));
    expect(put).toMatchObject({ meta: null, generation: 77, totalByteLength: 4 });
    if (put.type !== "PUT") throw new Error("not a PUT");
    expect(readPutFields(put)).toEqual({ meta: null, params: null });
  });

  it("refuses a range other than the whole array, and a first byte other than 0", () => {
    const whole = header({ type: "PUT", shape: [4], totalByteLength: 32, rangeByteEnd: 32 });
    for (const bad of [{ rangeByteStart: 8 }, { rangeByteEnd: 24 }, { firstByteOffset: 8 }] as const) {
      const error = catchError(() => readPutFields({ ...whole, ...bad }));
      expect(error).toBeInstanceOf(StreamError);
      expect(error).toMatchObject({ code: "E_BAD_RANGE" });
    }
    expect(catchError(() => readPutFields({ ...whole, firstByteOffset: 8 }))).toHaveProperty(
      "message",
      "Invalid PUT: expected the whole array [0, 32) from byte 0, got [0, 32) from 8",
    );
    expect(readPutFields(whole)).toEqual({ meta: null, params: null });
  });

  it("refuses an upload object with another key, or a meta or params that is not an object", () => {
    const base = header({ type: "PUT", streamId: 9 });
    expect(catchError(() => readPutFields({ ...base, meta: { unit: "mV" } }))).toMatchObject({
      code: "E_BAD_REQUEST",
      streamId: 9,
      message: 'Invalid PUT: expected an upload object with "meta" and "params" only, got key "unit"',
    });
    expect(catchError(() => readPutFields({ ...base, meta: { params: [1] } }))).toMatchObject({
      code: "E_BAD_REQUEST",
      message: 'Invalid PUT: expected "params" to be a JSON object, got an array',
    });
    expect(catchError(() => readPutFields({ ...base, meta: { meta: "x" } }))).toMatchObject({
      code: "E_BAD_REQUEST",
      message: 'Invalid PUT: expected "meta" to be a JSON object, got string',
    });
  });

  it("decodes like an ARRAY_HEADER: the same checks apply to it", () => {
    const bytes = encodeArrayHeader({ ...header(), type: "PUT" });
    expectDecodeError(
      patched(bytes, (v) => v.setUint8(6, 99)),
      "E_UNKNOWN_DTYPE",
      "Unknown dtype code: expected 1..12, got 99",
    );
  });
});
