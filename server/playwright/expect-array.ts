/**
 * expectArray: assertions on an array that stays in the page. Each matcher waits (for a transfer
 * key) until the page's transfer has ended, computes its answer in the page (page-checks.ts) and
 * fails with an {@link ArrayAssertionError} whose message says where and how the array differs:
 * the matcher, what was expected, what the page holds (dtype and shape), and for element checks
 * the first differing indices with both values.
 */
import { test } from "@playwright/test";
import { type Dtype, forEachByteWindow, Xxh32 } from "../../shared/index.ts";
import { type ArrayRef, describeRef, inspect, type PageLike, waitUntilSettled } from "./inspect.ts";
import { type Check, encodeValue, type InspectResult, type Mismatch } from "./page-checks.ts";

/** Most elements toEqualArray sends to the page; compare larger arrays by checksum or samples. */
export const MAX_EQUAL_ELEMENTS = 100_000;
/** Most indices toHaveValuesAt checks at once. */
export const MAX_SAMPLED_INDICES = 10_000;
/** Differing elements a message lists. */
const LISTED_MISMATCHES = 5;

/** Thrown (rejected with) by a failed {@link expectArray} matcher. */
export class ArrayAssertionError extends Error {
  override readonly name = "ArrayAssertionError";
  /** "toHaveChecksum", "toEqualArray", ... */
  readonly matcher: string;
  constructor(matcher: string, message: string) {
    super(message);
    this.matcher = matcher;
  }
}

/** Options of {@link expectArray}. */
export interface ExpectArrayOptions {
  /**
   * How long a matcher waits for the page's transfer to end, in ms (a transfer key only). Defaults
   * to 5_000, Playwright's default expect timeout; wait with waitForArray first for a large
   * transfer, or pass a longer timeout.
   */
  timeout?: number;
}

/** The matchers {@link expectArray} returns; each resolves, or rejects with an ArrayAssertionError. */
export interface ArrayAssertions {
  /** The XXH32 (seed 0) of the array's bytes equals `expected`, or {@link arrayChecksum} of an array given. */
  toHaveChecksum(expected: number | ArrayBufferView): Promise<void>;
  /** The array has `length` elements. */
  toHaveLength(length: number): Promise<void>;
  /** The shape the fetch resolved with (`[length]` for a bare typed array). */
  toHaveShape(shape: readonly number[]): Promise<void>;
  /** The array's dtype: "float64", "int32", "biguint64", ... */
  toHaveDtype(dtype: Dtype): Promise<void>;
  /**
   * Elements at sampled indices (`{ 0: 0, 1_000_000: 1e6 }`, or a Map), at most 10,000. Values
   * compare as in {@link toEqualArray}; an index past the end differs.
   */
  toHaveValuesAt(
    values: Readonly<Record<number, number | bigint>> | ReadonlyMap<number, number | bigint>,
  ): Promise<void>;
  /**
   * Element-wise equality with a small array (at most 100,000 elements): same length, and each
   * element equal (NaN equals NaN, -0 equals 0; float32 and float16 arrays compare with the
   * expected values rounded to their dtype). A typed array must also have the same dtype.
   */
  toEqualArray(expected: ArrayLike<number | bigint>): Promise<void>;
}

/** XXH32 (seed 0) of a typed array's bytes: the value {@link ArrayAssertions.toHaveChecksum} compares. */
export function arrayChecksum(array: ArrayBufferView): number {
  // Window by window: past 4 GiB no single Uint8Array spans the array on Node 20.
  const hash = new Xxh32();
  forEachByteWindow(array, 0, array.byteLength, (window) => hash.update(window));
  return hash.digest();
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

function described(r: Extract<InspectResult, { status: "ok" }>): string {
  return `${r.dtype} [${r.shape.join(", ")}]`;
}

function shown(value: string | null): string {
  return value === null ? "nothing (out of bounds)" : value;
}

function listed(mismatches: Mismatch[]): string {
  return mismatches.map((m) => `at ${m.index} expected ${m.expected}, got ${shown(m.actual)}`).join("; ");
}

function dtypeOfView(view: ArrayLike<unknown>): string | null {
  const tag = ArrayBuffer.isView(view) ? Object.prototype.toString.call(view).slice(8, -1) : "";
  return tag.endsWith("Array") && tag !== "DataView" ? tag.slice(0, -"Array".length).toLowerCase() : null;
}

/** The message for a page answer that is not an array (or a transfer that has not ended). */
function statusProblem(r: Exclude<InspectResult, { status: "ok" }>, ref: ArrayRef, timeoutMs: number): string {
  switch (r.status) {
    case "no-registry":
      return "this page has no arraywire registry: use `test` from arraywire/playwright (it installs one in every page), or call installArrayRegistry(context) before the page loads";
    case "missing":
      return `expected a transfer ${describeRef(ref)} in this page, got none (it has ${
        r.keys.length === 0 ? "none" : r.keys.map((k) => JSON.stringify(k)).join(", ")
      }); a fetch is recorded under its track option, else the array's name`;
    case "pending":
      return `timed out after ${timeoutMs} ms waiting for the transfer to end (${r.receivedByteLength} of ${
        r.totalByteLength ?? "?"
      } bytes received)`;
    case "failed":
      return `expected a completed transfer, got a failed one: ${r.error.name}${r.error.code ? ` ${r.error.code}` : ""}: ${r.error.message}`;
    case "not-an-array":
      return `expected a typed array (or an object whose \`array\` is one), got ${r.what}`;
  }
}

/** Default wait of a matcher for a transfer, in ms: Playwright's default expect timeout. */
export const DEFAULT_EXPECT_TIMEOUT_MS = 5000;

/**
 * Assertions on an array in the page, computed there: nothing but the answer crosses the DevTools
 * protocol. `ref` is a transfer key (the fetch's `track` option, else the array's name: the
 * matcher first waits until that transfer has ended), a JSHandle to a typed array or an
 * ArrayResult, or a function evaluated in the page that returns one.
 * ```ts
 * await expectArray(page, "prices").toHaveChecksum(arrayChecksum(prices));
 * await expectArray(page, () => window.app.series).toHaveValuesAt({ 0: 0.5, 999_999: 42 });
 * ```
 * @throws {TypeError} / {@link RangeError} (rejects) for a bad expected value (a non-integer
 *   length, more than 100,000 elements to compare...).
 * @throws {@link ArrayAssertionError} (rejects) when the array differs, the transfer failed or did
 *   not end in time, or there is no such array.
 */
export function expectArray(page: PageLike, ref: ArrayRef, options: ExpectArrayOptions = {}): ArrayAssertions {
  const label = `expectArray(${describeRef(ref)})`;

  async function assert(
    matcher: string,
    argument: string,
    check: Check,
    judge: (r: Extract<InspectResult, { status: "ok" }>) => string | null,
  ): Promise<void> {
    const body = async () => {
      const timeoutMs = options.timeout ?? DEFAULT_EXPECT_TIMEOUT_MS;
      if (typeof ref === "string") await waitUntilSettled(page, ref, timeoutMs);
      const r = await inspect(page, ref, check);
      const problem = r.status === "ok" ? judge(r) : statusProblem(r, ref, timeoutMs);
      if (problem !== null) throw new ArrayAssertionError(matcher, `${label}.${matcher}(${argument}): ${problem}`);
    };
    let inTest = true;
    try {
      test.info();
    } catch {
      inTest = false;
    }
    // A boxed step: the report shows the assertion, and a failure points at the caller's line.
    if (inTest) await test.step(`${label}.${matcher}(${argument})`, body, { box: true });
    else await body();
  }

  return {
    toHaveChecksum(expected) {
      const want = typeof expected === "number" ? expected : arrayChecksum(expected);
      if (!Number.isInteger(want) || want < 0 || want > 0xffffffff) {
        return Promise.reject(new RangeError(`toHaveChecksum: expected a u32 or a typed array, got ${expected}`));
      }
      return assert("toHaveChecksum", hex(want), { kind: "checksum" }, (r) =>
        r.checksum === want
          ? null
          : `expected XXH32 ${hex(want)}, got ${hex(r.checksum as number)} (${described(r)}, ${r.byteLength} bytes)`,
      );
    },

    toHaveLength(length) {
      if (!Number.isSafeInteger(length) || length < 0) {
        return Promise.reject(new RangeError(`toHaveLength: expected a non-negative integer, got ${length}`));
      }
      return assert("toHaveLength", String(length), { kind: "describe" }, (r) =>
        r.length === length ? null : `expected ${length} elements, got ${r.length} (${described(r)})`,
      );
    },

    toHaveShape(shape) {
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        return Promise.reject(new TypeError(`toHaveShape: expected an array of non-negative integers, got ${shape}`));
      }
      const want = `[${shape.join(", ")}]`;
      return assert("toHaveShape", want, { kind: "describe" }, (r) =>
        r.shape.length === shape.length && r.shape.every((d, i) => d === shape[i])
          ? null
          : `expected shape ${want}, got [${r.shape.join(", ")}] (${r.dtype})`,
      );
    },

    toHaveDtype(dtype) {
      return assert("toHaveDtype", JSON.stringify(dtype), { kind: "describe" }, (r) =>
        r.dtype === dtype ? null : `expected dtype ${dtype}, got ${r.dtype} ([${r.shape.join(", ")}])`,
      );
    },

    toHaveValuesAt(values) {
      const entries: [number, number | bigint][] =
        values instanceof Map
          ? [...values.entries()]
          : Object.entries(values as Record<string, number | bigint>).map(([k, v]) => [Number(k), v]);
      if (entries.length === 0 || entries.length > MAX_SAMPLED_INDICES) {
        return Promise.reject(
          new RangeError(`toHaveValuesAt: expected 1 to ${MAX_SAMPLED_INDICES} indices, got ${entries.length}`),
        );
      }
      for (const [index, value] of entries) {
        if (!Number.isSafeInteger(index) || index < 0 || (typeof value !== "number" && typeof value !== "bigint")) {
          return Promise.reject(
            new TypeError(`toHaveValuesAt: expected { index: number | bigint }, got ${index}: ${String(value)}`),
          );
        }
      }
      const argument = `{ ${entries
        .slice(0, 3)
        .map(([i, v]) => `${i}: ${encodeValue(v)}`)
        .join(", ")}${entries.length > 3 ? ", ..." : ""} }`;
      const indices = entries.map(([i]) => i);
      const expected = entries.map(([, v]) => encodeValue(v));
      const check: Check = { kind: "values", indices, expected, maxMismatches: LISTED_MISMATCHES };
      return assert("toHaveValuesAt", argument, check, (r) => {
        const count = r.mismatchCount ?? 0;
        if (count === 0) return null;
        return `${count} of ${entries.length} indices differ (${described(r)}): ${listed(r.mismatches ?? [])}${
          count > LISTED_MISMATCHES ? "; ..." : ""
        }`;
      });
    },

    toEqualArray(expected) {
      if (expected === null || typeof expected !== "object" || typeof expected.length !== "number") {
        return Promise.reject(new TypeError(`toEqualArray: expected an array or a typed array, got ${expected}`));
      }
      if (expected.length > MAX_EQUAL_ELEMENTS) {
        return Promise.reject(
          new RangeError(
            `toEqualArray: expected at most ${MAX_EQUAL_ELEMENTS} elements (compare larger arrays with toHaveChecksum or toHaveValuesAt), got ${expected.length}`,
          ),
        );
      }
      const encoded = Array.from(expected, (v) => encodeValue(v as number | bigint));
      const wantDtype = dtypeOfView(expected);
      const argument = `${wantDtype ?? "array"} [${expected.length}]`;
      return assert(
        "toEqualArray",
        argument,
        { kind: "equal", expected: encoded, maxMismatches: LISTED_MISMATCHES },
        (r) => {
          if (wantDtype !== null && wantDtype !== r.dtype) {
            return `expected dtype ${wantDtype} (the expected array's), got ${r.dtype} (${described(r)})`;
          }
          const count = r.mismatchCount ?? 0;
          const lengthProblem =
            r.length === expected.length
              ? ""
              : `expected ${expected.length} elements, got ${r.length} (${described(r)})`;
          if (count === 0) return lengthProblem === "" ? null : lengthProblem;
          const [first, ...more] = r.mismatches ?? [];
          const m = first as Mismatch;
          const compared = Math.min(r.length, expected.length);
          return `${lengthProblem === "" ? "" : `${lengthProblem}; and `}${count} of ${compared} elements differ (${described(r)}): first at index ${m.index}: expected ${m.expected}, got ${shown(m.actual)}${
            more.length > 0 ? `; then ${listed(more)}` : ""
          }${count > LISTED_MISMATCHES ? "; ..." : ""}`;
        },
      );
    },
  };
}
