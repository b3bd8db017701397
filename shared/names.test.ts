import { describe, expect, it } from "vitest";
import {
  elementRangeProblem,
  encodeName,
  isWireErrorCode,
  nameLengthProblem,
  toHttpUrl,
  toWebSocketUrl,
} from "./names.ts";
import { MAX_NAME_BYTES } from "./protocol.ts";

describe("names and shared checks", () => {
  it("accepts names of 1..MAX_NAME_BYTES UTF-8 bytes and refuses 0 and MAX_NAME_BYTES + 1", () => {
    expect(nameLengthProblem(1)).toBeNull();
    expect(nameLengthProblem(MAX_NAME_BYTES)).toBeNull();
    expect(nameLengthProblem(0)).toBe(`Invalid name: expected 1..${MAX_NAME_BYTES} UTF-8 bytes, got 0`);
    expect(nameLengthProblem(MAX_NAME_BYTES + 1)).toMatch(/got 1025$/);
  });

  it("encodes a name, counting UTF-8 bytes rather than characters", () => {
    expect(encodeName("é")).toEqual(new Uint8Array([0xc3, 0xa9]));
    // 512 two-byte characters are 1024 bytes (fits); 513 are 1026 (does not).
    expect(encodeName("é".repeat(512)).byteLength).toBe(1024);
    expect(() => encodeName("é".repeat(513))).toThrow(RangeError);
  });

  it("throws the error class the caller asks for", () => {
    class Custom extends Error {}
    expect(() => encodeName("", (m) => new Custom(m))).toThrow(Custom);
    expect(() => encodeName(42)).toThrow(/expected a string, got number/);
  });

  it("checks element ranges from both sides, and the array's length when known", () => {
    expect(elementRangeProblem(0, 0)).toBeNull();
    expect(elementRangeProblem(3, 7, 7)).toBeNull();
    expect(elementRangeProblem(3, 8, 7)).toMatch(/expected end <= 7/);
    expect(elementRangeProblem(4, 3)).toMatch(/expected start <= end/);
    expect(elementRangeProblem(1.5, 3)).toMatch(/non-negative safe integers/);
    expect(elementRangeProblem(-1, 3)).toMatch(/non-negative safe integers/);
    expect(elementRangeProblem(0, 2 ** 53)).toMatch(/non-negative safe integers/);
    expect(elementRangeProblem("1", 3)).toMatch(/non-negative safe integers/);
  });

  it("matches wire error codes exactly", () => {
    expect(isWireErrorCode("E_BUSY")).toBe(true);
    expect(isWireErrorCode("X".repeat(64))).toBe(true);
    expect(isWireErrorCode("X".repeat(65))).toBe(false);
    expect(isWireErrorCode("e_busy")).toBe(false);
    expect(isWireErrorCode("")).toBe(false);
    expect(isWireErrorCode(7)).toBe(false);
  });

  it("maps between an endpoint's ws and http URLs both ways, keeping path and query", () => {
    expect(toHttpUrl("ws://127.0.0.1:8080/arraywire?x=1").href).toBe("http://127.0.0.1:8080/arraywire?x=1");
    expect(toHttpUrl("wss://a.example/aw").href).toBe("https://a.example/aw");
    expect(toHttpUrl("http://a.example/aw").href).toBe("http://a.example/aw");
    expect(toWebSocketUrl("http://127.0.0.1:8080/arraywire").href).toBe("ws://127.0.0.1:8080/arraywire");
    expect(toWebSocketUrl("https://a.example/aw").href).toBe("wss://a.example/aw");
    expect(toWebSocketUrl("ws://a.example/aw").href).toBe("ws://a.example/aw");
  });
});
