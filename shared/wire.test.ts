import { describe, expect, it } from "vitest";
import { encodeCancel, encodeData } from "./encode.ts";
import { hasDataType, peekStreamId } from "./wire.ts";

describe("peeking at a message that did not decode", () => {
  it("reads the stream id at bytes 8..11, little-endian, from any view", () => {
    const data = encodeData(0x01020304, 0, 8);
    data[0] = 0; // a bad magic does not matter
    const shifted = new Uint8Array(data.byteLength + 3);
    shifted.set(data, 3);
    expect(peekStreamId(data)).toBe(0x01020304);
    expect(peekStreamId(shifted.subarray(3))).toBe(0x01020304);
  });

  it("gives stream 0 for a message too short to name one", () => {
    expect(peekStreamId(encodeCancel(9).subarray(0, 11))).toBe(0);
    expect(peekStreamId(encodeCancel(9).subarray(0, 12))).toBe(9);
  });

  it("tells a DATA type byte apart from the others, only once the prefix is complete", () => {
    expect(hasDataType(encodeData(1, 0, 8))).toBe(true);
    expect(hasDataType(encodeCancel(1))).toBe(false);
    expect(hasDataType(encodeData(1, 0, 8).subarray(0, 11))).toBe(false);
  });
});
