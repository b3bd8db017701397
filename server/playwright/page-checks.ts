/**
 * What expectArray and waitForArray run inside the page: find the array (a transfer in the page's
 * registry, or the object of a JSHandle), and compute a small answer there (its dtype, length and
 * shape; the XXH32 of its bytes; the values at some indices; where it differs from a small
 * expected array), so that a 400 MB array never travels through the DevTools protocol.
 *
 * {@link inspectInPage} runs in the browser: Playwright sends it as source text, so it references
 * nothing outside its own body (its XXH32 is a copy of shared/xxh32.ts's; a test holds the two
 * equal). Values cross as strings (see {@link encodeValue}), so that NaN, -0 and BigInts survive
 * any serializer.
 */

/** What to compute. */
export type Check =
  | { kind: "describe" }
  | { kind: "checksum" }
  | { kind: "values"; indices: number[]; expected: string[]; maxMismatches: number }
  | { kind: "equal"; expected: string[]; maxMismatches: number };

/** The question sent to the page. */
export interface InspectRequest {
  /** `Symbol.for` key of the page registry. */
  registryKey: string;
  /** The transfer's key in the registry; null when `target` is the array. */
  key: string | null;
  /** A handle's object: a typed array, or an object whose `array` is one (an ArrayResult). */
  target?: unknown;
  check: Check;
}

/** An element that differs. */
export interface Mismatch {
  index: number;
  expected: string;
  actual: string | null;
}

/** The page's answer. */
export type InspectResult =
  | { status: "no-registry" }
  | { status: "missing"; keys: string[] }
  | { status: "pending"; receivedByteLength: number; totalByteLength: number | null }
  | { status: "failed"; error: { name: string; code: string | null; message: string } }
  | { status: "not-an-array"; what: string }
  | {
      status: "ok";
      dtype: string;
      length: number;
      byteLength: number;
      shape: number[];
      checksum?: number;
      /** "values" and "equal": how many elements differ, and the first few. */
      mismatchCount?: number;
      mismatches?: Mismatch[];
    };

/** A value as it crosses: "-0", "NaN", "Infinity", "1.5", or "123n" for a BigInt. */
export function encodeValue(value: number | bigint): string {
  if (typeof value === "bigint") return `${value}n`;
  return Object.is(value, -0) ? "-0" : String(value);
}

/** Runs in the page (see the module comment). */
export function inspectInPage(request: InspectRequest): InspectResult {
  type Typed = ArrayLike<number | bigint> & ArrayBufferView & { subarray(a: number, b?: number): Typed };
  const tagOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)
    ?.get as (this: unknown) => string | undefined;
  const typedName = (value: unknown): string | undefined =>
    value !== null && typeof value === "object" ? tagOf.call(value) : undefined;

  let source: unknown = request.target;
  if (request.key !== null) {
    const registry = (globalThis as unknown as Record<symbol, unknown>)[Symbol.for(request.registryKey)] as
      | {
          transfers: Map<
            string,
            {
              state: string;
              result: unknown;
              error: unknown;
              receivedByteLength: number;
              totalByteLength: number | null;
            }
          >;
        }
      | undefined;
    if (registry === undefined) return { status: "no-registry" };
    const entry = registry.transfers.get(request.key);
    if (entry === undefined) return { status: "missing", keys: [...registry.transfers.keys()] };
    if (entry.state === "pending") {
      return {
        status: "pending",
        receivedByteLength: entry.receivedByteLength,
        totalByteLength: entry.totalByteLength,
      };
    }
    if (entry.state === "error") {
      return { status: "failed", error: entry.error as { name: string; code: string | null; message: string } };
    }
    source = entry.result;
  }
  let array: Typed;
  let shape: number[] | null = null;
  if (typedName(source) !== undefined) array = source as Typed;
  else if (source !== null && typeof source === "object" && typedName((source as { array?: unknown }).array)) {
    array = (source as { array: Typed }).array;
    const s = (source as { shape?: unknown }).shape;
    if (Array.isArray(s) && s.every((d) => typeof d === "number")) shape = s as number[];
  } else {
    const what =
      source === null
        ? "null"
        : typeof source === "object"
          ? (source?.constructor?.name ?? "an object")
          : typeof source;
    return { status: "not-an-array", what };
  }
  const name = typedName(array) as string;
  const dtype = name.slice(0, -"Array".length).toLowerCase();
  const base = {
    status: "ok" as const,
    dtype,
    length: array.length,
    byteLength: array.byteLength,
    shape: shape ?? [array.length],
  };
  const encode = (v: number | bigint): string =>
    typeof v === "bigint" ? `${v}n` : Object.is(v, -0) ? "-0" : String(v);
  const check = request.check;

  if (check.kind === "describe") return base;

  if (check.kind === "values" || check.kind === "equal") {
    // Equality: NaN equals NaN, -0 equals 0; float32 / float16 expected values are first rounded
    // to the dtype; BigInt arrays compare as BigInts (a non-integer expected value never equals).
    const big = dtype.startsWith("big");
    const round =
      dtype === "float32"
        ? Math.fround
        : dtype === "float16"
          ? (Math as unknown as { f16round?: (x: number) => number }).f16round
          : undefined;
    const decode = (s: string): number | bigint | null => {
      const text = s.endsWith("n") ? s.slice(0, -1) : s;
      if (!big) {
        const n = Number(text);
        return round ? round(n) : n;
      }
      try {
        return BigInt(text);
      } catch {
        return null;
      }
    };
    let mismatchCount = 0;
    const mismatches: Mismatch[] = [];
    const compare = (index: number, expectedText: string): void => {
      const inBounds = Number.isSafeInteger(index) && index >= 0 && index < array.length;
      const actual = inBounds ? (array[index] as number | bigint) : undefined;
      const expected = decode(expectedText);
      const equal =
        actual !== undefined &&
        (expected === actual ||
          (typeof expected === "number" &&
            typeof actual === "number" &&
            Number.isNaN(expected) &&
            Number.isNaN(actual)));
      if (!equal && mismatchCount++ < check.maxMismatches) {
        mismatches.push({ index, expected: expectedText, actual: actual === undefined ? null : encode(actual) });
      }
    };
    if (check.kind === "values") {
      for (let j = 0; j < check.indices.length; j++) compare(check.indices[j] as number, check.expected[j] as string);
    } else {
      for (let i = 0; i < Math.min(array.length, check.expected.length); i++) compare(i, check.expected[i] as string);
    }
    return { ...base, mismatchCount, mismatches };
  }

  // XXH32, seed 0, of the array's bytes (github.com/Cyan4973/xxHash, doc/xxhash_spec.md).
  const P1 = 0x9e3779b1 | 0;
  const P2 = 0x85ebca77 | 0;
  const P3 = 0xc2b2ae3d | 0;
  const P4 = 0x27d4eb2f | 0;
  const P5 = 0x165667b1 | 0;
  const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
  // Lengths and offsets are plain Numbers: `length >>> 2` or `i >>> 2` would wrap past 4 GiB, and
  // no Uint8Array over the whole array is made (Node 20 has none past 2^32 elements).
  const length = array.byteLength;
  const view = new DataView(array.buffer, array.byteOffset, length);
  const words =
    array.byteOffset % 4 === 0 ? new Uint32Array(array.buffer, array.byteOffset, Math.floor(length / 4)) : null;
  const word = words ? (i: number) => words[i / 4] as number : (i: number) => view.getUint32(i, true);
  let i = 0;
  let acc: number;
  if (length >= 16) {
    let v1 = (P1 + P2) | 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = -P1 | 0;
    const limit = length - 16;
    for (; i <= limit; i += 16) {
      v1 = Math.imul(rotl((v1 + Math.imul(word(i), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(word(i + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(word(i + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(word(i + 12), P2)) | 0, 13), P1);
    }
    acc = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    acc = P5;
  }
  acc = (acc + length) | 0;
  for (; i + 4 <= length; i += 4) acc = Math.imul(rotl((acc + Math.imul(word(i), P3)) | 0, 17), P4);
  for (; i < length; i++) acc = Math.imul(rotl((acc + Math.imul(view.getUint8(i), P5)) | 0, 11), P1);
  acc ^= acc >>> 15;
  acc = Math.imul(acc, P2);
  acc ^= acc >>> 13;
  acc = Math.imul(acc, P3);
  acc ^= acc >>> 16;
  return { ...base, checksum: acc >>> 0 };
}
