/**
 * The page side of arraywire/playwright, run here in Node (both functions are plain JavaScript
 * that Playwright sends to the page as source): the registry the client records into, and the
 * checks expectArray runs on arrays where they are. Chromium runs them in e2e/fixture.spec.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { REGISTRY_KEY as CLIENT_REGISTRY_KEY, startTracking } from "../../client/track.ts";
import { xxh32 } from "../../shared/index.ts";
import { arrayChecksum } from "./expect-array.ts";
import { type Check, encodeValue, type InspectResult, inspectInPage } from "./page-checks.ts";
import { installRegistryInPage, REGISTRY_KEY } from "./page-registry.ts";

const globals = globalThis as Record<symbol, unknown>;

afterEach(() => {
  delete globals[Symbol.for(REGISTRY_KEY)];
});

function check(target: unknown, c: Check): InspectResult {
  return inspectInPage({ registryKey: REGISTRY_KEY, key: null, target, check: c });
}

function ok(r: InspectResult): Extract<InspectResult, { status: "ok" }> {
  if (r.status !== "ok") throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r;
}

describe("the page registry", () => {
  it("is where the client looks for it", () => {
    expect(REGISTRY_KEY).toBe(CLIENT_REGISTRY_KEY);
  });

  it("records what the client reports, and ignores reports of a transfer a later one of the same key replaced", () => {
    installRegistryInPage(REGISTRY_KEY);
    const first = startTracking({ key: "a", name: "a", url: "http://x/arraywire", thread: "main" });
    expect(first).not.toBeNull();
    first?.progress({ receivedByteLength: 8, totalByteLength: 80, bytesPerSecond: 1, elapsedMs: 1 });
    expect(inspectInPage({ registryKey: REGISTRY_KEY, key: "a", check: { kind: "describe" } })).toEqual({
      status: "pending",
      receivedByteLength: 8,
      totalByteLength: 80,
    });
    const second = startTracking({ key: "a", name: "a", url: "http://x/arraywire", thread: "worker" });
    first?.done({ array: new Float64Array(10) } as never);
    expect(inspectInPage({ registryKey: REGISTRY_KEY, key: "a", check: { kind: "describe" } }).status).toBe("pending");
    second?.done({ array: new Float64Array(3), shape: [3] } as never);
    expect(inspectInPage({ registryKey: REGISTRY_KEY, key: "a", check: { kind: "describe" } })).toMatchObject({
      status: "ok",
      dtype: "float64",
      length: 3,
      shape: [3],
    });
  });

  it("records a failure's name, code and message", () => {
    installRegistryInPage(REGISTRY_KEY);
    const recorder = startTracking({ key: "b", name: "b", url: "u", thread: "main" });
    recorder?.fail(Object.assign(new Error("gone"), { name: "StreamError", code: "E_GONE" }));
    expect(inspectInPage({ registryKey: REGISTRY_KEY, key: "b", check: { kind: "describe" } })).toEqual({
      status: "failed",
      error: { name: "StreamError", code: "E_GONE", message: "gone" },
    });
  });

  it("answers no-registry without one, and missing (with the keys it has) for an unknown key", () => {
    expect(inspectInPage({ registryKey: REGISTRY_KEY, key: "a", check: { kind: "describe" } })).toEqual({
      status: "no-registry",
    });
    installRegistryInPage(REGISTRY_KEY);
    startTracking({ key: "x", name: "x", url: "u", thread: "main" });
    expect(inspectInPage({ registryKey: REGISTRY_KEY, key: "a", check: { kind: "describe" } })).toEqual({
      status: "missing",
      keys: ["x"],
    });
  });

  it("installs once: a second install keeps the transfers", () => {
    installRegistryInPage(REGISTRY_KEY);
    startTracking({ key: "x", name: "x", url: "u", thread: "main" });
    installRegistryInPage(REGISTRY_KEY);
    expect(inspectInPage({ registryKey: REGISTRY_KEY, key: "x", check: { kind: "describe" } }).status).toBe("pending");
  });
});

describe("inspectInPage", () => {
  it("computes shared/xxh32's XXH32 for every length 0..70 and at odd byte offsets", () => {
    const bytes = Uint8Array.from({ length: 200 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let offset = 0; offset < 4; offset++) {
      for (let length = 0; length <= 70; length++) {
        const view = bytes.subarray(offset, offset + length);
        expect(ok(check(view, { kind: "checksum" })).checksum, `${offset}+${length}`).toBe(xxh32(view));
      }
    }
  });

  it("computes the XXH32 of a typed array's own window of a larger buffer (8 MB float64)", () => {
    const big = Float64Array.from({ length: 1_000_010 }, (_, i) => Math.sin(i));
    const window = big.subarray(5, 1_000_005);
    const bytes = new Uint8Array(window.buffer, window.byteOffset, window.byteLength);
    expect(ok(check(window, { kind: "checksum" })).checksum).toBe(xxh32(bytes));
    expect(ok(check(window, { kind: "checksum" })).checksum).not.toBe(ok(check(big, { kind: "checksum" })).checksum);
  });

  it("computes the XXH32 of 4 GiB + 8 bytes as shared/xxh32 does (no 32-bit length or index arithmetic)", {
    timeout: 120_000,
  }, () => {
    // A sparse 2^29 + 1 float64 (untouched pages cost no memory) with values on both sides of
    // byte 2^32 and at the end. `length >>> 2` and `i >>> 2` wrap there: the words past 2^32
    // would read as undefined.
    const big = new Float64Array(2 ** 29 + 1);
    big[0] = 1;
    big[2 ** 29 - 1] = -2.5;
    big[2 ** 29] = 3.25;
    const expected = arrayChecksum(big);
    expect(ok(check(big, { kind: "checksum" })).checksum).toBe(expected);
    big[2 ** 29] = 3.5; // only the last element past 2^32 changes: so must the checksum
    expect(ok(check(big, { kind: "checksum" })).checksum).not.toBe(expected);
  });

  it("describes a typed array or an object with one, and refuses anything else", () => {
    expect(check(new BigInt64Array(4), { kind: "describe" })).toMatchObject({ dtype: "bigint64", shape: [4] });
    expect(check(new Uint8ClampedArray(2), { kind: "describe" })).toMatchObject({ dtype: "uint8clamped" });
    expect(check({ array: new Int32Array(6), shape: [2, 3] }, { kind: "describe" })).toMatchObject({
      dtype: "int32",
      length: 6,
      byteLength: 24,
      shape: [2, 3],
    });
    expect(check(new DataView(new ArrayBuffer(8)), { kind: "describe" })).toEqual({
      status: "not-an-array",
      what: "DataView",
    });
    expect(check([1, 2], { kind: "describe" })).toEqual({ status: "not-an-array", what: "Array" });
    expect(check(null, { kind: "describe" })).toEqual({ status: "not-an-array", what: "null" });
  });

  const values = (target: unknown, entries: [number, number | bigint][], max = 5) =>
    ok(
      check(target, {
        kind: "values",
        indices: entries.map(([i]) => i),
        expected: entries.map(([, v]) => encodeValue(v)),
        maxMismatches: max,
      }),
    );

  it("compares sampled values: NaN equals NaN, -0 equals 0, float32 rounds the expected value", () => {
    const a = Float32Array.from([0.1, Number.NaN, -0, 3]);
    expect(
      values(a, [
        [0, 0.1],
        [1, Number.NaN],
        [2, 0],
        [3, 3],
      ]).mismatchCount,
    ).toBe(0);
    expect(values(a, [[3, 3.001]]).mismatches).toEqual([{ index: 3, expected: "3.001", actual: "3" }]);
    expect(values(new Float64Array([0.1]), [[0, Math.fround(0.1)]]).mismatchCount).toBe(1);
  });

  it("treats the last index as in bounds and the length as out of bounds", () => {
    const a = new Int16Array([5, 6, 7]);
    expect(values(a, [[2, 7]]).mismatchCount).toBe(0);
    expect(values(a, [[3, 7]]).mismatches).toEqual([{ index: 3, expected: "7", actual: null }]);
    expect(values(a, [[-1, 5]]).mismatches).toEqual([{ index: -1, expected: "5", actual: null }]);
  });

  it("compares BigInt arrays as BigInts: a number expected works, a fraction never equals", () => {
    const a = BigUint64Array.from([2n ** 64n - 1n, 3n]);
    expect(
      values(a, [
        [0, 2n ** 64n - 1n],
        [1, 3],
      ]).mismatchCount,
    ).toBe(0);
    expect(values(a, [[1, 3.5]]).mismatches).toEqual([{ index: 1, expected: "3.5", actual: "3n" }]);
  });

  it("counts every mismatch of a whole-array comparison but lists at most maxMismatches", () => {
    const a = new Uint8Array(100);
    const expected = Array.from({ length: 100 }, (_, i) => encodeValue(i % 10 === 0 ? 0 : 1));
    const r = ok(check(a, { kind: "equal", expected, maxMismatches: 2 }));
    expect(r.mismatchCount).toBe(90);
    expect(r.mismatches).toEqual([
      { index: 1, expected: "1", actual: "0" },
      { index: 2, expected: "1", actual: "0" },
    ]);
  });

  it("encodes values so that NaN, -0, Infinity and BigInts survive", () => {
    expect([Number.NaN, -0, 0, Number.POSITIVE_INFINITY, 1.5, 7n].map(encodeValue)).toEqual([
      "NaN",
      "-0",
      "0",
      "Infinity",
      "1.5",
      "7n",
    ]);
  });
});
