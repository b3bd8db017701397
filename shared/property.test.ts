/**
 * Property tests (fast-check): every valid header and request survives encode -> decode, and every
 * valid stream (any supported dtype, up to 8 dims, up to 1 MiB, any chunk size, any checksum) fed
 * through the real client Assembler yields the source bytes. Checksums of the END trailers come
 * from independent implementations (xxhash-wasm, and a table-driven CRC-32C written from the
 * spec), not from shared/. Seeded: set PROPERTY_SEED to replay another run.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import xxhash from "xxhash-wasm";
import { Assembler } from "../client/assembler.ts";
import { bytesOf, encodeStream, fillPseudoRandom, sameBytes } from "../client/test-helpers.ts";
import { decodeMessage } from "./decode.ts";
import { DTYPE_BYTES_PER_ELEMENT, DTYPES, type Dtype, isDtypeSupported, typedArrayConstructor } from "./dtype.ts";
import {
  encodeArrayHeader,
  encodeCancel,
  encodeCredit,
  encodeData,
  encodeEnd,
  encodeError,
  encodeRequest,
} from "./encode.ts";
import type { JsonObject } from "./json.ts";
import type { ArrayHeaderMessage, RequestMessage } from "./message-types.ts";
import type { ChecksumAlgorithm } from "./protocol.ts";

const SEED = Number(process.env.PROPERTY_SEED ?? 0x0a77a1);
/** fast-check parameters: fixed seed, and the seed printed with any failure. */
function params(numRuns: number): fc.Parameters<unknown> {
  return {
    seed: SEED,
    numRuns,
    reporter: (details) => {
      if (details.failed) {
        throw new Error(`${fc.defaultReportMessage(details)}\n(PROPERTY_SEED=${SEED} replays this run)`);
      }
    },
  };
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MiB = 1024 * 1024;
const utf8Length = (text: string) => new TextEncoder().encode(text).byteLength;

// ---------------------------------------------------------------------------------------------
// Independent checksums.
// ---------------------------------------------------------------------------------------------

/** CRC-32C (Castagnoli, reflected 0x82F63B78), table-driven, from docs/PROTOCOL.md section 7. */
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});
function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = (CRC_TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

let h32Raw: (bytes: Uint8Array, seed?: number) => number;
beforeAll(async () => {
  h32Raw = (await xxhash()).h32Raw;
  // The spec's check values, so that a broken reference cannot pass silently.
  expect(referenceCrc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
  expect(h32Raw(new Uint8Array(0), 0) >>> 0).toBe(0x02cc5d05);
});

function referenceChecksum(algorithm: ChecksumAlgorithm, bytes: Uint8Array): number {
  if (algorithm === "xxh32") return h32Raw(bytes, 0) >>> 0;
  return algorithm === "crc32c" ? referenceCrc32c(bytes) : 0;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries.
// ---------------------------------------------------------------------------------------------

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const checksumArb = fc.constantFrom<ChecksumAlgorithm>("none", "crc32c", "xxh32");

/** Any name of 1..1024 UTF-8 bytes: any code point (BOM included), and the longest names. */
const nameArb = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 200, maxLength: 256 }) },
  { weight: 1, arbitrary: fc.constantFrom("\ufeffname", "x".repeat(1024), "é".repeat(512), "𝔸".repeat(256)) },
);

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);
function hasForbiddenKey(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  return Object.keys(value).some((k) => FORBIDDEN.has(k) || hasForbiddenKey((value as Record<string, unknown>)[k]));
}

/** Any JSON object the protocol accepts (no forbidden keys; -0 is written as 0, so normalised). */
const jsonObjectArb: fc.Arbitrary<JsonObject> = fc
  .dictionary(fc.string({ unit: "binary", maxLength: 8 }), fc.jsonValue({ maxDepth: 3, stringUnit: "binary" }), {
    maxKeys: 6,
  })
  .map((o) => JSON.parse(JSON.stringify(o)) as JsonObject)
  .filter((o) => !hasForbiddenKey(o));
const metaArb = fc.option(jsonObjectArb, { nil: null, freq: 3 });

const dimArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 64 }) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 1 << 20 }) },
  { weight: 2, arbitrary: fc.maxSafeNat() },
);

/** Clamps dims left to right so that product(dims) <= maxElements (a 0 dim empties the array). */
function clampShape(dims: number[], maxElements: number): number[] {
  let product = 1;
  return dims.map((dim) => {
    const room = product === 0 ? dim : Math.floor(maxElements / product);
    const clamped = Math.min(dim, room);
    product *= clamped;
    return clamped;
  });
}

/** A value in [lo, hi] picked by `pick` (a maxSafeNat), exact for safe integers. */
const within = (lo: number, hi: number, pick: number) => lo + (pick % (hi - lo + 1));

/** An ARRAY_HEADER (or PUT) with any valid fields: shapes up to 8 dims, any size up to 2^53 - 1. */
const headerArb = fc
  .record({
    type: fc.constantFrom<"ARRAY_HEADER" | "PUT">("ARRAY_HEADER", "ARRAY_HEADER", "PUT"),
    streamId: u32,
    dtype: fc.constantFrom(...DTYPES),
    dims: fc.array(dimArb, { maxLength: 8 }),
    picks: fc.tuple(fc.maxSafeNat(), fc.maxSafeNat(), fc.maxSafeNat()),
    generation: u32,
    checksumAlgorithm: checksumArb,
    name: nameArb,
    meta: metaArb,
  })
  .filter((r) => utf8Length(r.name) <= 1024)
  .map(({ dims, picks, dtype, ...rest }): ArrayHeaderMessage => {
    const itemsize = DTYPE_BYTES_PER_ELEMENT[dtype];
    const shape = clampShape(dims, Math.floor(MAX_SAFE / itemsize));
    const elements = shape.reduce((a, b) => a * b, 1);
    const a = within(0, elements, picks[0]);
    const b = within(a, elements, picks[1]);
    const rangeByteStart = a * itemsize;
    const rangeByteEnd = b * itemsize;
    return {
      ...rest,
      dtype,
      shape,
      totalByteLength: elements * itemsize,
      rangeByteStart,
      rangeByteEnd,
      firstByteOffset: within(rangeByteStart, rangeByteEnd, picks[2]),
    };
  });

const requestArb: fc.Arbitrary<Omit<RequestMessage, "type">> = fc
  .record({
    streamId: u32,
    name: nameArb,
    params: fc.option(jsonObjectArb, { nil: null }),
    chunkByteLength: u32,
    range: fc.option(
      fc
        .tuple(fc.maxSafeNat(), fc.maxSafeNat())
        .map(([x, y]) => ({ elementStart: Math.min(x, y), elementEnd: Math.max(x, y) })),
      { nil: null },
    ),
    resumeByteOffset: fc.oneof(fc.nat(), fc.maxSafeNat()),
    creditByteLength: fc.oneof(fc.constant(0), fc.nat(), fc.maxSafeNat()),
    expectedGeneration: fc.option(u32, { nil: null }),
    checksum: checksumArb,
  })
  .filter((r) => utf8Length(r.name) <= 1024);

/** A copy of `bytes` at byteOffset 1 of a larger buffer. */
function atOddOffset(bytes: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(bytes.byteLength + 3).fill(0xee);
  buffer.set(bytes, 1);
  return buffer.subarray(1, 1 + bytes.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

describe("encode -> decode round trips", () => {
  it("gives back every valid ARRAY_HEADER and PUT, at any byteOffset", () => {
    fc.assert(
      fc.property(headerArb, (h) => {
        const bytes = encodeArrayHeader(h);
        const limits = { maxTotalByteLength: MAX_SAFE };
        expect(decodeMessage(bytes, limits)).toEqual(h);
        expect(decodeMessage(atOddOffset(bytes), limits)).toEqual(h);
      }),
      params(1000),
    );
  });

  it("gives back every valid REQUEST, at any byteOffset", () => {
    fc.assert(
      fc.property(requestArb, (r) => {
        const bytes = encodeRequest(r);
        expect(decodeMessage(bytes)).toEqual({ type: "REQUEST", ...r });
        expect(decodeMessage(atOddOffset(bytes))).toEqual({ type: "REQUEST", ...r });
      }),
      params(1000),
    );
  });

  it("gives back every valid DATA, END, CREDIT, CANCEL and ERROR", () => {
    const codeArb = fc.string({
      unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"),
      minLength: 1,
      maxLength: 64,
    });
    fc.assert(
      fc.property(
        u32,
        fc.integer({ min: 1, max: 64 * MiB }),
        fc.maxSafeNat(),
        checksumArb,
        u32,
        codeArb,
        fc.string({ unit: "binary", maxLength: 1000 }),
        (streamId, payloadByteLength, n, algorithm, checksum, code, message) => {
          expect(decodeMessage(encodeData(streamId, n, payloadByteLength))).toEqual({
            type: "DATA",
            streamId,
            payloadByteLength,
            byteOffset: n,
          });
          const end = {
            streamId,
            byteLength: n,
            checksumAlgorithm: algorithm,
            checksum: algorithm === "none" ? 0 : checksum,
          };
          expect(decodeMessage(encodeEnd(end))).toEqual({ type: "END", ...end });
          expect(decodeMessage(encodeCredit(streamId, n + 1 > MAX_SAFE ? n : n + 1))).toEqual({
            type: "CREDIT",
            streamId,
            grantByteLength: n + 1 > MAX_SAFE ? n : n + 1,
          });
          expect(decodeMessage(encodeCancel(streamId))).toEqual({ type: "CANCEL", streamId });
          expect(decodeMessage(encodeError(streamId, code, message))).toEqual({
            type: "ERROR",
            streamId,
            code,
            message,
          });
        },
      ),
      params(500),
    );
  });
});

const SUPPORTED: Dtype[] = DTYPES.filter(isDtypeSupported);

/**
 * A whole stream: the array (any supported dtype, up to 8 dims, up to 1 MiB), an element range
 * of it (or all of it), a chunk size of 1 byte .. 2 MiB, a checksum. The byte budget is also
 * capped at 16384 chunks, so that 1-byte chunks come with arrays of at most 16 KiB.
 */
const streamArb = fc
  .record({
    dtype: fc.constantFrom(...SUPPORTED),
    dims: fc.array(dimArb, { maxLength: 8 }),
    chunkByteLength: fc.oneof(
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 16 }) },
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 64 * 1024 }) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 2 * MiB }) },
    ),
    whole: fc.boolean(),
    picks: fc.tuple(fc.maxSafeNat(), fc.maxSafeNat()),
    checksum: checksumArb,
    name: nameArb,
    meta: metaArb,
    generation: u32,
    streamId: fc.integer({ min: 1, max: 0xffffffff }),
    seed: fc.integer(),
  })
  .filter((r) => utf8Length(r.name) <= 1024)
  .map(({ dims, picks, whole, seed, ...rest }) => {
    const itemsize = DTYPE_BYTES_PER_ELEMENT[rest.dtype];
    const budget = Math.min(MiB, rest.chunkByteLength * 16384);
    const shape = clampShape(dims, Math.floor(budget / itemsize));
    const elements = shape.reduce((a, b) => a * b, 1);
    const elementStart = within(0, elements, picks[0]);
    const range = whole ? null : { elementStart, elementEnd: within(elementStart, elements, picks[1]) };
    return { ...rest, shape, range, seed, source: new Uint8Array(elements * itemsize) };
  });

describe("a whole stream through the client Assembler", () => {
  it("yields an array byte-identical to the source range", () => {
    fc.assert(
      fc.property(streamArb, (spec) => {
        fillPseudoRandom(spec.source, spec.seed);
        const stream = encodeStream(spec, referenceChecksum);
        const header = decodeMessage(stream.header) as ArrayHeaderMessage;
        expect(header.type).toBe("ARRAY_HEADER");
        const assembler = new Assembler(header, undefined);
        expect(assembler.rangeByteLength).toBe(stream.rangeByteEnd - stream.rangeByteStart);
        // Plain checks in the loop: up to 16384 chunks, and expect() costs microseconds each.
        for (const chunk of stream.chunks) {
          const data = decodeMessage(chunk.data);
          if (data.type !== "DATA" || data.payloadByteLength !== chunk.payload.byteLength) {
            throw new Error(`DATA did not round-trip: ${JSON.stringify(data)}`);
          }
          assembler.write(data.byteOffset, chunk.payload);
          const received = data.byteOffset + data.payloadByteLength - stream.rangeByteStart;
          if (assembler.receivedByteLength !== received) {
            throw new Error(`receivedByteLength ${assembler.receivedByteLength}, expected ${received}`);
          }
        }
        const end = decodeMessage(stream.end);
        if (end.type !== "END") throw new Error(`expected END, got ${end.type}`);
        const result = assembler.finish(end);

        expect(result.array).toBeInstanceOf(typedArrayConstructor(spec.dtype));
        expect(result.array.byteLength).toBe(stream.expected.byteLength);
        expect(sameBytes(bytesOf(result.array), stream.expected)).toBe(true);
        const whole = stream.rangeByteStart === 0 && stream.rangeByteEnd === spec.source.byteLength;
        expect(result.shape).toEqual(whole ? spec.shape : [result.array.length]);
        expect(result).toMatchObject({
          dtype: spec.dtype,
          name: spec.name,
          meta: spec.meta,
          generation: spec.generation,
        });
      }),
      params(500),
    );
  });
});
