import { describe, expect, it } from "vitest";
import { checkArrayInfo } from "./discovery.ts";
import { ProtocolError } from "./errors.ts";
import { catchError } from "./test-helpers.ts";

const MINIMAL = { name: "a", kind: "source", live: false, generation: 3 };

describe("checkArrayInfo", () => {
  it("keeps the fields it knows and drops the others", () => {
    expect(
      checkArrayInfo({
        ...MINIMAL,
        kind: "live",
        live: true,
        dtype: "int16",
        shape: [2, 3],
        byteLength: 12,
        meta: { unit: "mV" },
        params: { type: "object" },
        maxLength: 100,
        closed: false,
        extra: { anything: 1 },
      }),
    ).toEqual({
      name: "a",
      kind: "live",
      live: true,
      generation: 3,
      dtype: "int16",
      shape: [2, 3],
      byteLength: 12,
      meta: { unit: "mV" },
      params: { type: "object" },
      maxLength: 100,
      closed: false,
    });
  });

  it("accepts the four required fields alone, and a null meta", () => {
    expect(checkArrayInfo(MINIMAL)).toEqual(MINIMAL);
    expect(checkArrayInfo({ ...MINIMAL, meta: null })).toEqual({ ...MINIMAL, meta: null });
  });

  it.each([
    [null, "expected an object"],
    [[MINIMAL], "expected an object"],
    [{ ...MINIMAL, name: "" }, "expected a non-empty name"],
    [{ ...MINIMAL, kind: "file" }, 'unknown kind "file"'],
    [{ ...MINIMAL, live: "yes" }, "expected live to be a boolean"],
    [{ ...MINIMAL, generation: -1 }, "expected generation to be a non-negative integer"],
    [{ ...MINIMAL, generation: 2 ** 53 }, "expected generation to be a non-negative integer"],
    [{ ...MINIMAL, dtype: "float128" }, 'unknown dtype "float128"'],
    [{ ...MINIMAL, shape: [1.5] }, "expected shape to be at most 32 non-negative integers"],
    [{ ...MINIMAL, shape: Array(33).fill(1) }, "expected shape to be at most 32 non-negative integers"],
    [{ ...MINIMAL, byteLength: "8" }, "expected byteLength to be a non-negative integer"],
    [{ ...MINIMAL, meta: [1] }, "expected meta to be an object or null"],
    [{ ...MINIMAL, params: null }, "expected params to be an object"],
    [{ ...MINIMAL, maxLength: -2 }, "expected maxLength to be a non-negative integer"],
    [{ ...MINIMAL, closed: 0 }, "expected closed to be a boolean"],
  ])("refuses %j with E_BAD_JSON", (value, why) => {
    const error = catchError(() => checkArrayInfo(value));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: "E_BAD_JSON", message: `Invalid ArrayInfo: ${why}` });
  });

  it("accepts a shape of exactly 32 dimensions and a generation of 2^53 - 1", () => {
    const info = checkArrayInfo({ ...MINIMAL, shape: Array(32).fill(1), generation: 2 ** 53 - 1 });
    expect(info.shape).toHaveLength(32);
  });
});
