/**
 * arange generates each chunk on demand into the buffer it is handed. The bytes must be exactly
 * those of the materialised array (typed array stores; BigInt.asIntN for bigint dtypes), for any
 * byte range, aligned or not.
 */
import { describe, expect, it } from "vitest";
import {
  DTYPE_BYTES_PER_ELEMENT,
  DTYPES,
  type Dtype,
  isDtypeSupported,
  typedArrayConstructor,
} from "../shared/index.ts";
import { arange, fillArange, type SourceArray } from "./index.ts";
import { ScratchPool } from "./scratch-pool.ts";

const CONTEXT = { reserve: () => {}, signal: new AbortController().signal };

/** The array as the old fillArange made it: one store per element, BigInt per bigint element. */
function reference(dtype: Dtype, length: number, start: number, step: number): Uint8Array {
  const array = new (typedArrayConstructor(dtype))(length);
  for (let i = 0; i < length; i++) {
    const v = start + i * step;
    (array as unknown as { [i: number]: number | bigint })[i] =
      dtype === "bigint64" || dtype === "biguint64" ? BigInt.asIntN(64, BigInt(Math.trunc(v))) : v;
  }
  return new Uint8Array(array.buffer);
}

async function open(params: Record<string, unknown>, maxByteLength?: number): Promise<SourceArray> {
  return arange(maxByteLength === undefined ? {} : { maxByteLength }).open(params as never, CONTEXT);
}

/** Reads [offset, offset + n) through a pool scratch (aligned as the server aligns it). */
function readPooled(array: SourceArray, offset: number, n: number): Uint8Array {
  const out = array.read(offset, n, new ScratchPool(0).take(n, offset));
  return new Uint8Array(out as Uint8Array);
}

const SUPPORTED = DTYPES.filter(isDtypeSupported);

describe("arange generated on demand", () => {
  it.each(SUPPORTED)(
    "gives %s bytes identical to the materialised array for any range, aligned or not",
    async (dtype) => {
      const length = 5003;
      const cases: [number, number][] = [
        [0, 1],
        [-7.25, 0.5],
        [1e6, -3.75],
        [-(2 ** 40), 2 ** 31 + 0.5],
      ];
      for (const [start, step] of cases) {
        if ((dtype === "biguint64" && (start < 0 || step < 0)) || (dtype === "bigint64" && start < -(2 ** 60)))
          continue;
        const expected = reference(dtype, length, start, step);
        const array = await open({ length, dtype, start, step });
        const itemsize = DTYPE_BYTES_PER_ELEMENT[dtype];
        // Ranges that start and end mid-element, in the middle of the array, and the whole.
        for (const [offset, n] of [
          [0, expected.byteLength],
          [3, 1],
          [itemsize * 17 + 1, itemsize * 40 + 3],
          [expected.byteLength - 5, 5],
          [itemsize * 1000, itemsize * 2001],
        ] as [number, number][]) {
          if (offset + n > expected.byteLength) continue;
          expect(readPooled(array, offset, n), `${dtype} ${start}/${step} [${offset}, +${n})`).toEqual(
            expected.subarray(offset, offset + n),
          );
          // A scratch at an odd address (not from the pool) takes the batched path.
          const odd = new Uint8Array(new ArrayBuffer(n + 3), 3, n);
          array.read(offset, n, odd);
          expect(odd, `${dtype} odd scratch [${offset}, +${n})`).toEqual(expected.subarray(offset, offset + n));
        }
        expect(new Uint8Array(fillArange(dtype, length, start, step).buffer)).toEqual(expected);
      }
    },
  );

  it("keeps the sign of -0 (a start of -0 with a negative step begins with -0)", async () => {
    const negative = await open({ length: 2, start: -0, step: -1 });
    const positive = await open({ length: 2, start: 0, step: -1 });
    const a = new Float64Array(readPooled(negative, 0, 16).buffer, 0, 2);
    const b = new Float64Array(readPooled(positive, 0, 16).buffer, 0, 2);
    expect(Object.is(a[0], -0)).toBe(true);
    expect(Object.is(b[0], 0)).toBe(true);
  });

  it("refuses bigint aranges that overflow at either end with E_BAD_REQUEST, and accepts the extremes", async () => {
    const refused: [Record<string, unknown>, string][] = [
      [{ length: 2, dtype: "bigint64", start: 2 ** 63 }, "outside [-2^63, 2^63)"],
      [{ length: 3, dtype: "bigint64", start: 2 ** 63 - 2048, step: 1024 }, "outside [-2^63, 2^63)"],
      [{ length: 2, dtype: "bigint64", start: -(2 ** 63), step: -4096 }, "outside [-2^63, 2^63)"],
      [{ length: 3, dtype: "bigint64", start: 1e308, step: 1e308 }, "outside [-2^63, 2^63)"],
      [{ length: 1, dtype: "biguint64", start: -1 }, "outside [0, 2^64)"],
      [{ length: 3, dtype: "biguint64", start: 2 ** 64 - 4096, step: 4096 }, "outside [0, 2^64)"],
    ];
    for (const [params, text] of refused) {
      await expect(open(params), JSON.stringify(params)).rejects.toMatchObject({
        name: "StreamError",
        code: "E_BAD_REQUEST",
        message: expect.stringContaining(text),
      });
    }
    const low = await open({ length: 2, dtype: "bigint64", start: -(2 ** 63), step: 2 ** 63 - 1024 });
    expect(Array.from(new BigInt64Array(readPooled(low, 0, 16).buffer, 0, 2))).toEqual([-(2n ** 63n), -1024n]);
    const high = await open({ length: 1, dtype: "biguint64", start: 2 ** 64 - 2048 });
    expect(new BigUint64Array(readPooled(high, 0, 8).buffer, 0, 1)[0]).toBe(2n ** 64n - 2048n);
  });

  it("caps the array at maxByteLength (256 MiB by default): at the cap it opens, one element over it refuses", async () => {
    const cap = 256 * 1024 * 1024;
    await expect(open({ length: cap / 8 })).resolves.toMatchObject({ dtype: "float64", shape: [cap / 8] });
    await expect(open({ length: cap / 8 + 1 })).rejects.toMatchObject({ code: "E_BAD_REQUEST" });
    await expect(open({ length: 1001 }, 8000)).rejects.toMatchObject({
      message: "arange too large: expected at most 8000 bytes, got 8008",
    });
    await expect(open({ length: 1000 }, 8000)).resolves.toMatchObject({ shape: [1000] });
  });

  it("refuses options it does not know (cacheEntries is gone) and a bad maxByteLength at construction", () => {
    expect(() => arange({ cacheEntries: 0 } as never)).toThrow(TypeError);
    expect(() => arange({ maxByteLength: 0 })).toThrow(RangeError);
    expect(() => arange({ maxByteLength: 1.5 })).toThrow(RangeError);
  });
});
