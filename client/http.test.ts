/**
 * The HTTP transport's BYOB paths, which browsers take (Node's own path is a raw socket), run here
 * on Node's web streams, which implement the same transfer semantics (a BYOB read detaches the
 * buffer of the view it fills; a failed read never gives it back): bodies from a scripted byte
 * stream, and from real fetch (undici) through a proxy that cuts the connection. The browser
 * grid (e2e/grid.spec.ts) runs the same paths in Chromium.
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer } from "../server/index.ts";
import { CuttingProxy } from "../server/test-helpers.ts";
import { encodeArrayHeader, encodeEnd, HTTP_CONTENT_TYPE, StreamError, xxh32 } from "../shared/index.ts";
import type { ArrayResult } from "./assembler.ts";
import { byobReader } from "./byte-reader.ts";
import { openWithFetch, receiveHttp, receiveResponse } from "./http.ts";
import type { FetchOptions } from "./options.ts";
import type { ReceiveStream } from "./receive-stream.ts";
import { resolveFetchOptions, resolveResume } from "./resolve-options.ts";
import { receiveWithResume } from "./resume.ts";
import { type Allocation, bytesOf, fillPseudoRandom, sameBytes, spyOnAllocations } from "./test-helpers.ts";

const LENGTH = 500_000; // 4 MB of float64
const SOURCE = fillPseudoRandom(new Uint8Array(LENGTH * 8), 0x5eed);
/** Odd, so reads end mid-element and mid-window. */
const PIECE = 100_003;

/** Captured before any test spies on them: building bodies is not the client's copying or allocating. */
const rawSet = Uint8Array.prototype.set;
const RawUint8Array = Uint8Array;

/** The body the server would send for `range`, resuming `from` bytes into it. */
function body(range: [number, number] | null, from = 0): Uint8Array {
  const [start, end] = range ? [range[0] * 8, range[1] * 8] : [0, SOURCE.byteLength];
  const header = encodeArrayHeader({
    streamId: 1,
    name: "a",
    checksumAlgorithm: "xxh32",
    dtype: "float64",
    shape: [LENGTH],
    totalByteLength: SOURCE.byteLength,
    rangeByteStart: start,
    rangeByteEnd: end,
    firstByteOffset: start + from,
    generation: 5,
    meta: null,
  });
  const trailer = encodeEnd({
    streamId: 1,
    byteLength: end - start - from,
    checksumAlgorithm: "xxh32",
    checksum: xxh32(SOURCE.subarray(start, end)),
  });
  const out = new RawUint8Array(header.byteLength + end - start - from + trailer.byteLength);
  rawSet.call(out, header);
  rawSet.call(out, SOURCE.subarray(start + from, end), header.byteLength);
  rawSet.call(out, trailer, out.byteLength - trailer.byteLength);
  return out;
}

/** A byte stream serving `bytes` in pieces; errors (a lost connection) when it reaches `failAt`. */
function byteStream(bytes: Uint8Array, failAt = Number.POSITIVE_INFINITY): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (offset >= failAt) {
        controller.error(new TypeError("network error"));
        return;
      }
      if (offset >= bytes.byteLength) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const end = Math.min(bytes.byteLength, offset + PIECE, failAt);
      controller.enqueue(bytes.slice(offset, end)); // enqueue transfers its chunk: a copy
      offset = end;
    },
  });
}

/**
 * Bytes copied by Uint8Array#set while `run` runs (the client's copies: the stream's own are
 * native), and allocations of 512 KiB or more (the scripted stream's pieces are smaller).
 */
async function countCopies<T>(run: () => Promise<T>): Promise<{ value: T; copied: number; allocated: Allocation[] }> {
  const original = Uint8Array.prototype.set;
  let copied = 0;
  const spy = spyOnAllocations(512 * 1024);
  Uint8Array.prototype.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
    copied += source.length;
    return original.call(this, source, offset);
  } as typeof original;
  try {
    return { value: await run(), copied, allocated: [...spy.big] };
  } finally {
    Uint8Array.prototype.set = original;
    spy.restore();
  }
}

/**
 * Receives through the BYOB reader of scripted bodies: attempt i gets `bodies(i, resumeByteOffset)`
 * and fails at `failAt(i)`. Returns the result and the resume offset each attempt asked for.
 */
async function receiveScripted(
  options: FetchOptions & { resume?: boolean },
  range: [number, number] | null,
  failAt: (attempt: number) => number = () => Number.POSITIVE_INFINITY,
): Promise<{ result: ArrayResult; asked: number[] }> {
  const request = resolveFetchOptions("a", { ...options, range: range ?? undefined });
  const asked: number[] = [];
  const result = await receiveWithResume(
    request,
    resolveResume(options.resume ? { initialDelayMs: 0 } : false),
    (stream) => {
      const from = stream.requestFields().resumeByteOffset;
      const attempt = asked.push(from) - 1;
      const response = {
        status: 200,
        contentType: HTTP_CONTENT_TYPE,
        reader: byobReader(byteStream(body(range, from), failAt(attempt))),
      };
      return receiveResponse(response, stream, 65_536).catch((err: unknown) => stream.fail(err));
    },
  );
  return { result, asked };
}

const MIDDLE: [number, number] = [123_457, 401_234];

function expectRange(result: ArrayResult, range: [number, number] | null): void {
  const [start, end] = range ? [range[0] * 8, range[1] * 8] : [0, SOURCE.byteLength];
  expect(result.array.byteLength).toBe(end - start);
  expect(sameBytes(bytesOf(result.array), SOURCE.subarray(start, end))).toBe(true);
}

describe("BYOB reads into the caller's array (into)", () => {
  for (const range of [null, MIDDLE]) {
    it(`end with the caller's data in the caller's array after many reads, one copy per byte (${range ? "range" : "whole"})`, async () => {
      const elements = range ? range[1] - range[0] : LENGTH;
      const into = new Float64Array(elements).fill(-1);
      const { value, copied, allocated } = await countCopies(() => receiveScripted({ into }, range));
      expect(value.result.array).toBe(into);
      // One scratch buffer for all the reads (no allocation per read), never a second target.
      expect(allocated).toEqual([{ what: "Uint8Array", byteLength: 1024 * 1024 }]);
      expect(into.byteLength).toBe(elements * 8); // never transferred away
      expectRange(value.result, range);
      // Each byte of the range is copied once (scratch -> into); the header and trailer are small.
      expect(copied).toBeGreaterThanOrEqual(elements * 8);
      expect(copied).toBeLessThan(elements * 8 + 1024);
    });
  }

  it("continue in the caller's array after a read failed mid-body, from the last byte held (resume)", async () => {
    const into = new Float64Array(MIDDLE[1] - MIDDLE[0]).fill(-1);
    const failAt = 1_000_000 + 7; // inside a read window, mid-element
    const { result, asked } = await receiveScripted({ into, resume: true }, MIDDLE, (i) =>
      i === 0 ? failAt : Infinity,
    );
    expect(result.array).toBe(into);
    expectRange(result, MIDDLE);
    expect(asked).toHaveLength(2);
    expect(asked[0]).toBe(0);
    expect(asked[1]).toBeGreaterThan(0);
    expect(asked[1]).toBeLessThan(failAt);
  });
});

describe("BYOB reads into a target the library allocates", () => {
  it("go through the scratch buffer without resume too, one copy per byte: the target is never transferred", async () => {
    const { value, copied, allocated } = await countCopies(() => receiveScripted({}, MIDDLE));
    const rangeByteLength = (MIDDLE[1] - MIDDLE[0]) * 8;
    expectRange(value.result, MIDDLE);
    // The target and one scratch buffer for all the reads (a transferred target would cost V8 a
    // GC every few reads: see SCRATCH_BYTE_LENGTH).
    expect(allocated).toEqual([
      { what: "Float64Array", byteLength: rangeByteLength },
      { what: "Uint8Array", byteLength: 1024 * 1024 },
    ]);
    expect(value.result.array.buffer.byteLength).toBe(rangeByteLength);
    expect(copied).toBeGreaterThanOrEqual(rangeByteLength);
    expect(copied).toBeLessThan(rangeByteLength + 1024); // plus the header's bytes
  });

  it("go through the scratch buffer with resume on, so a failed read loses only the scratch", async () => {
    const failAt = 2_500_000 + 3;
    const { value, copied, allocated } = await countCopies(() =>
      receiveScripted({ resume: true }, null, (i) => (i === 0 ? failAt : Infinity)),
    );
    const { result, asked } = value;
    // The target once; the scratch twice: the failed read took the first one with it.
    expect(allocated).toEqual([
      { what: "Float64Array", byteLength: SOURCE.byteLength },
      { what: "Uint8Array", byteLength: 1024 * 1024 },
      { what: "Uint8Array", byteLength: 1024 * 1024 },
    ]);
    expectRange(result, null);
    expect(result.array.buffer.byteLength).toBe(SOURCE.byteLength);
    // Continued from the last byte held, which is the last whole read before the failure.
    expect(asked[1]).toBeGreaterThan(failAt - 2 * 1024 * 1024);
    expect(asked[1]).toBeLessThan(failAt);
    expect(copied).toBeGreaterThanOrEqual(SOURCE.byteLength);
    expect(copied).toBeLessThan(SOURCE.byteLength + 2048);
  });

  it("without resume, a failed read fails the fetch with E_CONNECTION_CLOSED", async () => {
    await expect(receiveScripted({}, null, () => 1_000_000)).rejects.toMatchObject({
      name: "StreamError",
      code: "E_CONNECTION_CLOSED",
      cause: { name: "TypeError", message: "network error" },
    });
  });
});

describe("byobReader", () => {
  it("refuses an empty or detached window with a RangeError, never a lost connection", async () => {
    const reader = byobReader(byteStream(new Uint8Array(100)));
    await expect(reader.read(new Uint8Array(0))).rejects.toBeInstanceOf(RangeError);
    const view = new Uint8Array(10);
    structuredClone(view.buffer, { transfer: [view.buffer] }); // detaches it
    const err = await reader.read(view).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect(err).not.toBeInstanceOf(StreamError);
    expect((await reader.read(new Uint8Array(10))).byteLength).toBe(10); // still usable
  });
});

describe("the fetch path (undici's BYOB reader) through a connection cut mid-chunk", () => {
  let http: Server;
  let arrays: ArrayServer;
  let port = 0;
  const urls: string[] = [];

  beforeAll(async () => {
    http = createServer((req, res) => {
      urls.push(req.url ?? "");
      if (!arrays.handleRequest(req, res)) res.writeHead(404).end();
    });
    arrays = new ArrayServer({ server: http, log: () => {} });
    arrays.publish("a", new Float64Array(SOURCE.buffer.slice(0)));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    port = (http.address() as { port: number }).port;
  });

  afterAll(async () => {
    await arrays.close();
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  });

  async function viaFetch(
    options: FetchOptions,
    cut: number | null,
  ): Promise<{ result: ArrayResult; progress: number[] }> {
    const proxy = await CuttingProxy.start(port, cut === null ? [] : [cut]);
    const progress: number[] = [];
    try {
      const request = resolveFetchOptions("a", {
        ...options,
        progressIntervalMs: 0,
        onProgress: (p) => progress.push(p.receivedByteLength),
      });
      const url = `ws://127.0.0.1:${proxy.port}/arraywire`;
      const settings = { headers: undefined, maxControlByteLength: 65_536 };
      const result = await receiveWithResume(request, resolveResume({ initialDelayMs: 1 }), (stream: ReceiveStream) =>
        receiveHttp(url, stream, settings, openWithFetch),
      );
      return { result, progress };
    } finally {
      await proxy.close();
    }
  }

  for (const into of [false, true]) {
    it(`resumes from the last byte held, never from byte 0 (${into ? "into" : "allocated"})`, async () => {
      urls.length = 0;
      const target = into ? new Float64Array(MIDDLE[1] - MIDDLE[0]) : undefined;
      const cut = 1_048_576 + 12_345; // mid-chunk of the body
      const { result, progress } = await viaFetch({ into: target, range: MIDDLE }, cut);
      expectRange(result, MIDDLE);
      if (target) expect(result.array).toBe(target);
      expect(urls).toHaveLength(2);
      const resumedAt = Number(new URL(urls[1] as string, "http://x").searchParams.get("resume"));
      expect(resumedAt).toBeGreaterThan(0);
      expect(resumedAt).toBeLessThan(cut);
      for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1] as number);
      expect(progress.at(-1)).toBe((MIDDLE[1] - MIDDLE[0]) * 8);
    });
  }

  it("fills a caller's array over many reads without a cut", async () => {
    const into = new Float64Array(LENGTH);
    const { result } = await viaFetch({ into }, null);
    expect(result.array).toBe(into);
    expectRange(result, null);
  });
});
