/**
 * Progressive use (onChunk) and SharedArrayBuffer targets (`shared`, `into` over a SAB), on both
 * transports against a real ArrayServer, and on the BYOB path (browsers' HTTP path) over Node's
 * web streams, which detach a BYOB read's buffer as browsers do. The browser side (a SAB in a
 * cross-origin isolated page, the worker helper) runs in e2e/worker.spec.ts.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer } from "../server/index.ts";
import { CuttingProxy } from "../server/test-helpers.ts";
import { encodeArrayHeader, encodeEnd, HTTP_CONTENT_TYPE, xxh32 } from "../shared/index.ts";
import { byobReader } from "./byte-reader.ts";
import { type ArrayChunk, ChunkReporter } from "./chunks.ts";
import { receiveResponse } from "./http.ts";
import { fetchArray } from "./index.ts";
import { resolveFetchOptions, resolveResume } from "./resolve-options.ts";
import { receiveWithResume } from "./resume.ts";

const MiB = 1024 * 1024;
/** Odd: the last chunk is short, and 1 MiB chunks end mid-element for float32x3-sized steps. */
const LENGTH = 1_000_003;
/** a[i] = i + 1, so that an element not yet written (0) never passes for a received one. */
const SOURCE = Float64Array.from({ length: LENGTH }, (_, i) => i + 1);
const MIDDLE: [number, number] = [250_001, 750_003];

let http: Server;
let server: ArrayServer;
let url = "";

beforeAll(async () => {
  // keepAliveTimeout 0: Node's server may close an idle keep-alive socket just as node:http's
  // agent reuses it (ECONNRESET, seen here after the ws tests); not what these tests are about.
  http = createServer((req, res) => {
    if (!server.handleRequest(req, res)) res.writeHead(404).end();
  });
  http.keepAliveTimeout = 0;
  server = new ArrayServer({ server: http, chunkByteLength: MiB, log: () => {} });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", () => resolve()));
  url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/arraywire`;
  server.publish("a", SOURCE);
});

afterAll(async () => {
  await server.close();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

interface Seen {
  chunks: Omit<ArrayChunk, "array" | "values">[];
  /** Elements of a report that did not hold their final value when it was made. */
  wrong: number;
  /** Reports whose `array` was not the first report's, or whose `values` was not its view. */
  otherArray: number;
  arrays: Set<unknown>;
}

/** An onChunk that checks, inside the call, that every element it reports is final. */
function recorder(offset: number): { seen: Seen; onChunk: (chunk: ArrayChunk) => void } {
  const seen: Seen = { chunks: [], wrong: 0, otherArray: 0, arrays: new Set() };
  const onChunk = (chunk: ArrayChunk) => {
    const { array, values, ...bounds } = chunk;
    seen.chunks.push(bounds);
    seen.arrays.add(array);
    if (values.buffer !== array.buffer || values.byteOffset !== array.byteOffset + bounds.byteStart) seen.otherArray++;
    const v = values as Float64Array;
    for (let j = 0; j < v.length; j++) if (v[j] !== offset + bounds.elementStart + j + 1) seen.wrong++;
  };
  return { seen, onChunk };
}

/** The reports tile [0, length) in order: no gap, no overlap, each non-empty, bytes = elements x 8. */
function expectTiling(seen: Seen, length: number): void {
  expect(seen.chunks.length).toBeGreaterThan(1);
  let next = 0;
  for (const c of seen.chunks) {
    expect(c.elementStart).toBe(next);
    expect(c.elementEnd).toBeGreaterThan(c.elementStart);
    expect(c.byteStart).toBe(c.elementStart * 8);
    expect(c.byteEnd).toBe(c.elementEnd * 8);
    next = c.elementEnd;
  }
  expect(next).toBe(length);
  expect(seen.wrong).toBe(0);
  expect(seen.otherArray).toBe(0);
}

describe("ChunkReporter", () => {
  const array = new Float64Array(10);

  it("reports nothing until a whole element arrived, then exactly that element", () => {
    const r = new ChunkReporter(0);
    expect(r.next(array, 0)).toBeNull();
    expect(r.next(array, 7)).toBeNull();
    expect(r.next(array, 8)).toMatchObject({ elementStart: 0, elementEnd: 1, byteStart: 0, byteEnd: 8 });
  });

  it("reports an element split across reads with the read that completes it", () => {
    const r = new ChunkReporter(0);
    expect(r.next(array, 13)).toMatchObject({ elementStart: 0, elementEnd: 1 });
    expect(r.next(array, 15)).toBeNull();
    expect(r.next(array, 16)).toMatchObject({ elementStart: 1, elementEnd: 2 });
    expect(r.next(array, 80)).toMatchObject({ elementStart: 2, elementEnd: 10, byteEnd: 80 });
    expect(r.next(array, 80)).toBeNull();
  });

  it("starts after the elements held before the fetch (resumeFrom), never reporting them", () => {
    const r = new ChunkReporter(3);
    expect(r.next(array, 24)).toBeNull();
    expect(r.next(array, 31)).toBeNull();
    const chunk = r.next(array, 40);
    expect(chunk).toMatchObject({ elementStart: 3, elementEnd: 5, byteStart: 24, byteEnd: 40 });
    expect(chunk?.values.length).toBe(2);
    expect(chunk?.values.byteOffset).toBe(24);
  });
});

describe("onChunk", () => {
  for (const transport of ["ws", "http"] as const) {
    it(`reports final elements in order, tiling the whole array, on the array the fetch resolves with (${transport})`, async () => {
      const { seen, onChunk } = recorder(0);
      const result = await fetchArray<Float64Array>(url, "a", { transport, chunkByteLength: MiB, onChunk });
      expectTiling(seen, LENGTH);
      expect([...seen.arrays]).toEqual([result.array]);
      expect(seen.arrays.has(result.array)).toBe(true);
    });

    it(`reports a range in the middle by indices into the received array (${transport})`, async () => {
      const { seen, onChunk } = recorder(MIDDLE[0]);
      const result = await fetchArray<Float64Array>(url, "a", {
        transport,
        chunkByteLength: MiB,
        range: MIDDLE,
        onChunk,
      });
      expectTiling(seen, MIDDLE[1] - MIDDLE[0]);
      expect(result.array[0]).toBe(MIDDLE[0] + 1);
      expect(seen.arrays.has(result.array)).toBe(true);
    });

    it(`reports into the caller's array with \`into\` (${transport})`, async () => {
      const into = new Float64Array(LENGTH + 5).fill(-1);
      const { seen, onChunk } = recorder(0);
      const result = await fetchArray<Float64Array>(url, "a", { transport, chunkByteLength: MiB, into, onChunk });
      expectTiling(seen, LENGTH);
      expect(result.array.buffer).toBe(into.buffer);
      expect([...seen.arrays][0]).toBe(result.array);
    });

    it(`rejects with the callback's own error, never retried, when onChunk throws on its second call (${transport})`, async () => {
      const mine = new Error("mine");
      let calls = 0;
      const err = await fetchArray(url, "a", {
        transport,
        resume: { initialDelayMs: 1 },
        onChunk: () => {
          if (++calls === 2) throw mine;
        },
      }).catch((e: unknown) => e);
      expect(err).toBe(mine);
      await new Promise((r) => setTimeout(r, 50));
      expect(calls).toBe(2);
    });

    it(`rejects with the reason of an async onChunk that rejects (${transport})`, async () => {
      const mine = new RangeError("async");
      const err = await fetchArray(url, "a", {
        transport,
        chunkByteLength: MiB,
        onChunk: async () => Promise.reject(mine),
      }).catch((e: unknown) => e);
      expect(err).toBe(mine);
    });

    it(`reports each element exactly once across a resumed cut, mid-element (${transport})`, async () => {
      // Mid-stream and not on an element boundary: 3 MB + 3 bytes into the body.
      const proxy = await CuttingProxy.start(Number(new URL(url).port), [3_000_003]);
      try {
        const { seen, onChunk } = recorder(0);
        const result = await fetchArray<Float64Array>(`ws://127.0.0.1:${proxy.port}/arraywire`, "a", {
          transport,
          resume: { initialDelayMs: 1 },
          onChunk,
        });
        expect(proxy.connectionCount).toBe(2);
        expectTiling(seen, LENGTH);
        expect(seen.arrays.size).toBe(1);
        expect(seen.arrays.has(result.array)).toBe(true);
      } finally {
        await proxy.close();
      }
    });
  }

  it("is a TypeError when it is not a function, before any I/O", async () => {
    await expect(fetchArray(url, "a", { onChunk: 5 as never })).rejects.toThrow(
      new TypeError("Invalid onChunk: expected a function, got 5"),
    );
  });
});

describe("SharedArrayBuffer targets", () => {
  for (const transport of ["ws", "http"] as const) {
    it(`shared: true allocates the target over a SharedArrayBuffer and fills it (${transport})`, async () => {
      const { seen, onChunk } = recorder(MIDDLE[0]);
      const result = await fetchArray<Float64Array>(url, "a", {
        transport,
        chunkByteLength: MiB,
        shared: true,
        range: MIDDLE,
        onChunk,
      });
      expect(result.array.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(result.array.length).toBe(MIDDLE[1] - MIDDLE[0]);
      expect(result.array[0]).toBe(MIDDLE[0] + 1);
      expect(result.array.at(-1)).toBe(MIDDLE[1]);
      expectTiling(seen, MIDDLE[1] - MIDDLE[0]);
    });

    it(`into over a SharedArrayBuffer ends with the data in the caller's shared memory (${transport})`, async () => {
      const into = new Float64Array(new SharedArrayBuffer(LENGTH * 8));
      const result = await fetchArray<Float64Array>(url, "a", { transport, chunkByteLength: MiB, into });
      expect(result.array).toBe(into);
      expect(into[0]).toBe(1);
      expect(into[LENGTH - 1]).toBe(LENGTH);
      expect(into.every((v, i) => v === i + 1)).toBe(true);
    });
  }

  it("allocates an ordinary ArrayBuffer by default (shared: false)", async () => {
    const result = await fetchArray(url, "a", { range: [0, 10] });
    expect(result.array.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it("shared is a TypeError when it is not a boolean", async () => {
    await expect(fetchArray(url, "a", { shared: "yes" as never })).rejects.toThrow(
      new TypeError('Invalid shared: expected a boolean, got "yes"'),
    );
  });
});

// ---- the BYOB path (what browsers run), over Node's web streams --------------------------------

/** The HTTP body of the whole of SOURCE, served in pieces of `piece` bytes through a byte stream. */
function byteStream(piece: number): ReadableStream<Uint8Array> {
  const bytes = new Uint8Array(SOURCE.buffer);
  const header = encodeArrayHeader({
    streamId: 1,
    name: "a",
    checksumAlgorithm: "xxh32",
    dtype: "float64",
    shape: [LENGTH],
    totalByteLength: bytes.byteLength,
    rangeByteStart: 0,
    rangeByteEnd: bytes.byteLength,
    firstByteOffset: 0,
    generation: 1,
    meta: null,
  });
  const end = encodeEnd({
    streamId: 1,
    byteLength: bytes.byteLength,
    checksumAlgorithm: "xxh32",
    checksum: xxh32(bytes),
  });
  const body = new Uint8Array(header.byteLength + bytes.byteLength + end.byteLength);
  body.set(header);
  body.set(bytes, header.byteLength);
  body.set(end, header.byteLength + bytes.byteLength);
  let offset = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (offset >= body.byteLength) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const next = Math.min(body.byteLength, offset + piece);
      controller.enqueue(body.slice(offset, next));
      offset = next;
    },
  });
}

async function receiveByob(options: Parameters<typeof resolveFetchOptions>[1]) {
  const request = resolveFetchOptions("a", options);
  return receiveWithResume(request, resolveResume(false), (stream) =>
    receiveResponse(
      { status: 200, contentType: HTTP_CONTENT_TYPE, reader: byobReader(byteStream(300_007)) },
      stream,
      65_536,
    ).catch((err: unknown) => stream.fail(err)),
  );
}

describe("the BYOB path", () => {
  it("keeps the target in place with onChunk: every report and the result share one live buffer", async () => {
    const { seen, onChunk } = recorder(0);
    const result = await receiveByob({ onChunk });
    expectTiling(seen, LENGTH);
    expect(seen.arrays.size).toBe(1);
    expect(seen.arrays.has(result.array)).toBe(true);
    expect(result.array.byteLength).toBe(LENGTH * 8); // never detached by a later read
  });

  it("without onChunk fills the target through the scratch buffer too: the target is its own, whole", async () => {
    const result = await receiveByob({});
    expect((result.array as Float64Array).every((v, i) => v === i + 1)).toBe(true);
    expect(result.array.byteOffset).toBe(0);
    expect(result.array.buffer.byteLength).toBe(LENGTH * 8);
  });

  it("reads a SharedArrayBuffer target through the scratch buffer (a BYOB read cannot transfer a SAB)", async () => {
    const into = new Float64Array(new SharedArrayBuffer(LENGTH * 8));
    const result = await receiveByob({ into });
    expect(result.array).toBe(into);
    expect(into.every((v, i) => v === i + 1)).toBe(true);
  });

  it("fills a shared: true target through the scratch buffer, with or without onChunk", async () => {
    const plain = await receiveByob({ shared: true });
    expect(plain.array.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect((plain.array as Float64Array).every((v, i) => v === i + 1)).toBe(true);
    const { seen, onChunk } = recorder(0);
    const reported = await receiveByob({ shared: true, onChunk });
    expect(reported.array.buffer).toBeInstanceOf(SharedArrayBuffer);
    expectTiling(seen, LENGTH);
  });
});
