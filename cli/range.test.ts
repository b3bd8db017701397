/**
 * `--range a:b` (cli/range.ts): parsing, and the rows and flat elements it selects, with both
 * sides of every bound (an end at -rows and rows is taken, one past either is refused).
 */
import { describe, expect, it } from "vitest";
import { CommandError, UsageError } from "./errors.ts";
import { parseRowRange, selectRows } from "./range.ts";

describe("parseRowRange", () => {
  it.each([
    ["3:7", { start: 3, end: 7 }],
    ["3:", { start: 3, end: null }],
    [":7", { start: null, end: 7 }],
    [":", { start: null, end: null }],
    ["-10:-2", { start: -10, end: -2 }],
    [" 1 : 2 ", { start: 1, end: 2 }],
  ])("parses %j", (text, expected) => {
    expect(parseRowRange(text)).toEqual(expected);
  });

  it.each(["", "5", "1:2:3", "a:b", "1.5:2", "1e3:", "9007199254740993:"])("refuses %j with a UsageError", (text) => {
    expect(() => parseRowRange(text)).toThrow(UsageError);
    expect(() => parseRowRange(text)).toThrow(`--range: expected a:b`);
  });
});

describe("selectRows", () => {
  it("selects rows in the middle of a 3-d array as flat elements, keeping the trailing shape", () => {
    expect(selectRows({ start: 2, end: 5 }, [10, 3, 4])).toEqual({
      rowStart: 2,
      rowEnd: 5,
      elementRange: [24, 60],
      shape: [3, 3, 4],
    });
  });

  it("selects elements of a 1-d array, negative ends counted from the end", () => {
    expect(selectRows({ start: -30, end: -10 }, [100])).toMatchObject({ elementRange: [70, 90], shape: [20] });
    expect(selectRows({ start: null, end: null }, [100])).toMatchObject({ elementRange: [0, 100], shape: [100] });
  });

  it("takes ends at -rows and rows and refuses one past either", () => {
    expect(selectRows({ start: -100, end: 100 }, [100, 2])).toMatchObject({ elementRange: [0, 200] });
    expect(() => selectRows({ start: -101, end: null }, [100, 2])).toThrow(
      "--range: expected start from -100 to 100 (the array has 100 rows), got -101",
    );
    expect(() => selectRows({ start: null, end: 101 }, [100, 2])).toThrow(
      "--range: expected end from -100 to 100 (the array has 100 rows), got 101",
    );
  });

  it("takes an empty range (start = end) and refuses start after end", () => {
    expect(selectRows({ start: 7, end: 7 }, [10])).toMatchObject({ elementRange: [7, 7], shape: [0] });
    const err = (() => {
      try {
        selectRows({ start: 8, end: 7 }, [10]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ code: "E_BAD_RANGE", message: "--range: expected start <= end, got rows 8 to 7" });
  });

  it("refuses a range of a 0-d array", () => {
    expect(() => selectRows({ start: 0, end: 1 }, [])).toThrow("--range: a 0-d array has no rows to select");
  });
});
