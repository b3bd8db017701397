import { describe, expect, it } from "vitest";
import { byteWindow, forEachByteWindow, MAX_BYTE_WINDOW_LENGTH } from "./byte-windows.ts";

describe("byteWindow", () => {
  // A view in the middle of its buffer, so a window that forgot view.byteOffset shows.
  const buffer = new ArrayBuffer(64);
  new Uint8Array(buffer).forEach((_, i, a) => {
    a[i] = i;
  });
  const view = new Float64Array(buffer, 16, 4); // bytes 16..47 of the buffer

  it("views bytes of the view's own window, sharing its memory", () => {
    const w = byteWindow(view, 8, 16);
    expect(w.byteOffset).toBe(24);
    expect([...w]).toEqual(Array.from({ length: 16 }, (_, i) => 24 + i));
    w[0] = 200;
    expect(new Uint8Array(buffer)[24]).toBe(200);
  });

  it("accepts a window ending exactly at the view's end and an empty one there", () => {
    expect(byteWindow(view, 31, 1)[0]).toBe(47);
    expect(byteWindow(view, 32, 0).byteLength).toBe(0);
  });

  it.each([
    ["one byte past the end", 31, 2, "[31, 33)"],
    ["a start past the end", 33, 0, "[33, 33)"],
    ["a negative start", -1, 1, "[-1, 0)"],
    ["a negative length", 4, -1, "[4, 3)"],
    ["a fractional start", 0.5, 1, "[0.5, 1.5)"],
  ])("refuses %s with a RangeError", (_, start, length, shown) => {
    expect(() => byteWindow(view, start, length)).toThrow(
      new RangeError(`byteWindow: expected a window inside the view's 32 bytes, got ${shown}`),
    );
  });
});

describe("forEachByteWindow", () => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);

  it("tiles a range in the middle with windows of at most maxByteLength, in order", () => {
    const seen: [number, number, number][] = [];
    forEachByteWindow(bytes, 10, 45, (w, offset) => seen.push([offset, w.byteLength, w[0] as number]), 16);
    expect(seen).toEqual([
      [10, 16, 10],
      [26, 16, 26],
      [42, 3, 42],
    ]);
  });

  it("calls nothing for an empty range and refuses a reversed one", () => {
    let calls = 0;
    forEachByteWindow(bytes, 7, 7, () => calls++);
    expect(calls).toBe(0);
    expect(() => forEachByteWindow(bytes, 8, 7, () => {})).toThrow(
      new RangeError("forEachByteWindow: expected byteStart <= byteEnd, got [8, 7)"),
    );
    expect(() => forEachByteWindow(bytes, 0, 1, () => {}, 0)).toThrow(RangeError);
  });

  it("defaults to 1 GiB windows, below Node 20's 2^32-element cap on typed arrays", () => {
    expect(MAX_BYTE_WINDOW_LENGTH).toBe(2 ** 30);
    const seen: number[] = [];
    forEachByteWindow(bytes, 0, 100, (w) => seen.push(w.byteLength));
    expect(seen).toEqual([100]);
  });

  it("views an array of 4 GiB + 8 bytes (2^29 + 1 float64) that no single Uint8Array can span on Node 20", () => {
    // A sparse 4 GiB allocation: untouched pages cost no memory. Node 20 refuses the whole view;
    // the windows reach every byte, including the ones on both sides of 2^32.
    const big = new Float64Array(2 ** 29 + 1);
    big[2 ** 29 - 1] = 1.5; // bytes [2^32 - 8, 2^32)
    big[2 ** 29] = -2.25; // bytes [2^32, 2^32 + 8)
    const windows: [number, number][] = [];
    forEachByteWindow(big, 0, big.byteLength, (w, offset) => windows.push([offset, w.byteLength]));
    expect(windows).toEqual([
      [0, 2 ** 30],
      [2 ** 30, 2 ** 30],
      [2 ** 31, 2 ** 30],
      [3 * 2 ** 30, 2 ** 30],
      [2 ** 32, 8],
    ]);
    const around = byteWindow(big, 2 ** 32 - 8, 16);
    expect(around.byteOffset).toBe(2 ** 32 - 8);
    expect([...new Float64Array(around.buffer, around.byteOffset, 2)]).toEqual([1.5, -2.25]);
  });
});
