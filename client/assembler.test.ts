/**
 * Assembler#window / #commit: the in-place path a reader that never transfers its views takes
 * (Node's socket reader), window after window over the rest of a range in the middle of an array.
 */
import { describe, expect, it } from "vitest";
import { xxh32 } from "../shared/index.ts";
import { Assembler } from "./assembler.ts";
import { bytesOf, fillPseudoRandom } from "./test-helpers.ts";

const TOTAL = 1000; // float64 elements
const RANGE = { start: 123, end: 877 };
const RANGE_BYTES = (RANGE.end - RANGE.start) * 8;
const SOURCE = fillPseudoRandom(new Uint8Array(TOTAL * 8), 9);

function assembler(into?: Float64Array, held = 0): Assembler {
  return new Assembler(
    {
      type: "ARRAY_HEADER",
      streamId: 1,
      name: "a",
      checksumAlgorithm: "xxh32",
      dtype: "float64",
      shape: [TOTAL],
      totalByteLength: TOTAL * 8,
      rangeByteStart: RANGE.start * 8,
      rangeByteEnd: RANGE.end * 8,
      firstByteOffset: RANGE.start * 8 + held,
      generation: 1,
      meta: null,
    },
    into,
    held,
  );
}

function end(): Parameters<Assembler["finish"]>[0] {
  return {
    type: "END",
    streamId: 1,
    byteLength: RANGE_BYTES,
    checksumAlgorithm: "xxh32",
    checksum: xxh32(SOURCE.subarray(RANGE.start * 8, RANGE.end * 8)),
  };
}

describe("Assembler in place", () => {
  it("takes the rest of the range window by window, hashes it, and finishes with the caller's array", () => {
    const into = new Float64Array(RANGE.end - RANGE.start + 5).fill(-1);
    const a = assembler(into);
    const rest = a.window(Number.POSITIVE_INFINITY);
    expect(rest.byteLength).toBe(RANGE_BYTES);
    for (let offset = 0; offset < RANGE_BYTES; offset += 1001) {
      const view = rest.subarray(offset, offset + 1001);
      view.set(SOURCE.subarray(RANGE.start * 8 + offset, RANGE.start * 8 + offset + view.byteLength));
      a.commit(view);
      expect(a.receivedByteLength).toBe(offset + view.byteLength);
    }
    const result = a.finish(end());
    expect(result.array.buffer).toBe(into.buffer);
    expect(Buffer.compare(bytesOf(result.array), SOURCE.subarray(RANGE.start * 8, RANGE.end * 8))).toBe(0);
  });

  it("refuses a view one byte before or after the next byte, of another buffer, or past the range", () => {
    // A caller's array longer than the range: its buffer goes on past the target.
    const a = assembler(new Float64Array(RANGE.end - RANGE.start + 2));
    const rest = a.window(Number.POSITIVE_INFINITY);
    a.commit(rest.subarray(0, 16));
    const target = new Uint8Array(rest.buffer, rest.byteOffset, RANGE_BYTES);
    expect(() => a.commit(target.subarray(15, 20))).toThrow(RangeError);
    expect(() => a.commit(target.subarray(17, 20))).toThrow(RangeError);
    expect(() => a.commit(new Uint8Array(8))).toThrow(RangeError);
    const past = new Uint8Array(target.buffer, target.byteOffset + 16, RANGE_BYTES - 16 + 1);
    expect(() => a.commit(past)).toThrow(/commit: expected a view at byte 16 of the 6032-byte target/);
    expect(a.receivedByteLength).toBe(16); // nothing counted by a refused commit
    a.commit(target.subarray(16, RANGE_BYTES)); // exactly the rest is fine
    expect(a.receivedByteLength).toBe(RANGE_BYTES);
  });

  it("hands out windows from the held bytes on, capped at the range", () => {
    const into = new Float64Array(RANGE.end - RANGE.start);
    const a = assembler(into, 800);
    expect(a.window(100).byteOffset).toBe(800);
    expect(a.window(100).byteLength).toBe(100);
    expect(a.window(RANGE_BYTES).byteLength).toBe(RANGE_BYTES - 800);
  });
});
