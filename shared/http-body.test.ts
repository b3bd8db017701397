import { describe, expect, it } from "vitest";
import { encodeArrayHeader, encodeEnd } from "./encode.ts";
import { ProtocolError } from "./errors.ts";
import { headerByteLength } from "./http-body.ts";
import { HEADER_FIXED_BYTE_LENGTH } from "./protocol.ts";

const header = encodeArrayHeader({
  streamId: 1,
  dtype: "float64",
  shape: [2, 3],
  totalByteLength: 48,
  rangeByteStart: 0,
  rangeByteEnd: 48,
  firstByteOffset: 0,
  generation: 1,
  checksumAlgorithm: "none",
  name: "abc",
  meta: { unit: "m" },
});

describe("headerByteLength", () => {
  it("reads the whole header's length from its fixed part alone", () => {
    expect(headerByteLength(header.subarray(0, HEADER_FIXED_BYTE_LENGTH), 65_536)).toBe(header.byteLength);
    expect(header.byteLength).toBe(56 + 2 * 8 + 3 + '{"unit":"m"}'.length);
  });

  it("reads from a subarray at an odd byteOffset", () => {
    const shifted = new Uint8Array(HEADER_FIXED_BYTE_LENGTH + 3);
    shifted.set(header.subarray(0, HEADER_FIXED_BYTE_LENGTH), 3);
    expect(headerByteLength(shifted.subarray(3), 65_536)).toBe(header.byteLength);
  });

  it("refuses a header longer than the cap before it is read", () => {
    expect(() => headerByteLength(header, header.byteLength - 1)).toThrow(
      new ProtocolError(
        "E_HEADER_TOO_LARGE",
        `Control message too large: expected at most ${header.byteLength - 1} bytes, got ${header.byteLength}`,
      ),
    );
  });

  it("refuses fewer bytes than the fixed part, a body that is not an ARRAY_HEADER, and bad magic", () => {
    expect(() => headerByteLength(header.subarray(0, 55), 65_536)).toThrow(
      new ProtocolError("E_SHORT_MESSAGE", "Invalid ARRAY_HEADER: expected at least 56 bytes, got 55"),
    );
    const end = new Uint8Array(HEADER_FIXED_BYTE_LENGTH);
    end.set(encodeEnd({ streamId: 1, byteLength: 0, checksumAlgorithm: "none", checksum: 0 }));
    expect(() => headerByteLength(end, 65_536)).toThrow(
      new ProtocolError("E_UNKNOWN_TYPE", "Invalid body: expected ARRAY_HEADER (0x10), got 0x12"),
    );
    const html = new TextEncoder().encode("<!doctype html><html><head></head><body>hello</body></html>");
    expect(() => headerByteLength(html, 65_536)).toThrow(expect.objectContaining({ code: "E_BAD_MAGIC" }));
  });
});
