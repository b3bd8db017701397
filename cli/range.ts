/**
 * `--range a:b` of `arraywire get`: rows a (included) to b (excluded) along the first axis, like
 * numpy's `array[a:b]` (elements of a 1-d array). Either end may be left out ("100:", ":50") and
 * a negative end counts from the last row ("-10:"). Unlike numpy, an end past the array is an
 * error (E_BAD_RANGE), not clipped: a script that asks for rows it does not get should know.
 */
import { CommandError, UsageError } from "./errors.ts";

/** A parsed `--range`: null ends are the array's. */
export interface RowRange {
  readonly start: number | null;
  readonly end: number | null;
}

/** What a range selects of an array: its rows, as flat elements, and the shape written. */
export interface RangeSelection {
  readonly rowStart: number;
  readonly rowEnd: number;
  /** [elementStart, elementEnd) of the flattened array. */
  readonly elementRange: [number, number];
  /** Shape of the selection: [rowEnd - rowStart, ...shape.slice(1)]. */
  readonly shape: number[];
}

const END = /^-?\d+$/;

/**
 * Parses "a:b", "a:", ":b" or ":" (a and b integers, possibly negative).
 * @throws {@link UsageError} for anything else.
 */
export function parseRowRange(text: string): RowRange {
  const colon = text.indexOf(":");
  const parts = colon < 0 ? null : [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
  if (!parts?.every((p) => p === "" || (END.test(p) && Number.isSafeInteger(Number(p))))) {
    throw new UsageError(
      `--range: expected a:b (rows a to b, b excluded; either may be left out), got ${JSON.stringify(text)}`,
    );
  }
  const [a, b] = parts as [string, string];
  return { start: a === "" ? null : Number(a), end: b === "" ? null : Number(b) };
}

/**
 * The rows and elements `range` selects of an array of `shape`.
 * @throws {@link CommandError} E_BAD_RANGE for a 0-d array, an end outside [-rows, rows], or
 *   start after end.
 */
export function selectRows(range: RowRange, shape: readonly number[]): RangeSelection {
  if (shape.length === 0) throw new CommandError("E_BAD_RANGE", "--range: a 0-d array has no rows to select");
  const rows = shape[0] as number;
  const resolve = (end: number | null, fallback: number, which: string): number => {
    if (end === null) return fallback;
    if (end < -rows || end > rows) {
      throw new CommandError(
        "E_BAD_RANGE",
        `--range: expected ${which} from ${-rows} to ${rows} (the array has ${rows} rows), got ${end}`,
      );
    }
    return end < 0 ? rows + end : end;
  };
  const rowStart = resolve(range.start, 0, "start");
  const rowEnd = resolve(range.end, rows, "end");
  if (rowStart > rowEnd) {
    throw new CommandError("E_BAD_RANGE", `--range: expected start <= end, got rows ${rowStart} to ${rowEnd}`);
  }
  const rowElements = shape.slice(1).reduce((a, b) => a * b, 1);
  return {
    rowStart,
    rowEnd,
    elementRange: [rowStart * rowElements, rowEnd * rowElements],
    shape: [rowEnd - rowStart, ...shape.slice(1)],
  };
}
