/**
 * The HTTP transport in Node (client/http-node.ts over the raw socket reader), through the real
 * client (fetchArray) over real sockets: a scripted server writes whole responses (HTTP head,
 * ARRAY_HEADER, the range, END) in pieces, cut wherever a test says. Cuts at every boundary of
 * the HTTP head, the header, the body's windows and the trailer; resume continues exactly after
 * the last byte that arrived, a window that was partly filled included; malformed heads and
 * chunked framing fail as E_PROTOCOL and are never retried; random responses (framing, splits,
 * ranges, cuts) for float64 and biguint64 arrays; no body byte is copied in userland.
 */
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Dtype,
  encodeArrayHeader,
  encodeEnd,
  HTTP_CONTENT_TYPE,
  StreamError,
  typedArrayConstructor,
  xxh32,
} from "../shared/index.ts";
import { FILL_WINDOW_BYTE_LENGTH } from "./http.ts";
import { type FetchArrayOptions, fetchArray } from "./index.ts";
import {
  concat,
  encodeChunked,
  latin1,
  nextTurn,
  patternBytes,
  type RawServer,
  responseHead,
  startRawServer,
  writePieces,
} from "./test-fixtures/test-helpers.ts";
import { bytesOf, spyOnAllocations } from "./test-helpers.ts";

const W = FILL_WINDOW_BYTE_LENGTH;
let server: RawServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

/** How one attempt is answered. */
interface Answer {
  /** Bytes of the whole response (head included) written before the connection ends; null: all. */
  cutAt?: number | null;
  /** End the cut connection with a reset instead of a clean close. */
  reset?: boolean;
  framing?: "length" | "chunked" | "close";
  /** Sizes of the pieces the response is written in, one write per turn (the last size repeats). */
  pieces?: number[];
  /** Replace the END's checksum. */
  checksum?: number;
}

interface ArraySource {
  dtype: Dtype;
  /** The whole array's bytes. */
  bytes: Uint8Array;
  elementCount: number;
}

function source(dtype: Dtype, elementCount: number, seed: number): ArraySource {
  const itemsize = typedArrayConstructor(dtype).BYTES_PER_ELEMENT;
  return { dtype, elementCount, bytes: patternBytes(elementCount * itemsize, seed) };
}

/** The response an arraywire server sends for `requestHead` (its query: start, end, resume). */
function response(
  array: ArraySource,
  requestHead: string,
  answer: Answer,
): { bytes: Uint8Array; headByteLength: number } {
  const query = new URL(requestHead.split(" ")[1] ?? "/", "http://x").searchParams;
  const itemsize = array.bytes.byteLength / array.elementCount;
  const start = Number(query.get("start") ?? 0) * itemsize;
  const end = query.has("end") ? Number(query.get("end")) * itemsize : array.bytes.byteLength;
  const first = start + Number(query.get("resume") ?? 0);
  const header = encodeArrayHeader({
    streamId: 1,
    name: "a",
    checksumAlgorithm: "xxh32",
    dtype: array.dtype,
    shape: [array.elementCount],
    totalByteLength: array.bytes.byteLength,
    rangeByteStart: start,
    rangeByteEnd: end,
    firstByteOffset: first,
    generation: 7,
    meta: null,
  });
  const trailer = encodeEnd({
    streamId: 1,
    byteLength: end - first,
    checksumAlgorithm: "xxh32",
    checksum: answer.checksum ?? xxh32(array.bytes.subarray(start, end)),
  });
  const body = concat(header, array.bytes.subarray(first, end), trailer);
  const framing = answer.framing ?? "length";
  const fields = [`Content-Type: ${HTTP_CONTENT_TYPE}`];
  if (framing === "length") fields.push(`Content-Length: ${body.byteLength}`);
  if (framing === "chunked") fields.push("Transfer-Encoding: chunked");
  const head = responseHead("HTTP/1.1 200 OK", fields);
  const encoded = framing === "chunked" ? encodeChunked(body, [100_003, 7, 300_000]) : body;
  return { bytes: concat(head, encoded), headByteLength: head.byteLength };
}

async function writeAnswer(socket: Socket, bytes: Uint8Array, answer: Answer): Promise<void> {
  const cut = answer.cutAt ?? null;
  const sent = cut === null ? bytes : bytes.subarray(0, cut);
  const sizes = answer.pieces ?? [sent.byteLength || 1];
  const pieces: Uint8Array[] = [];
  for (let offset = 0, i = 0; offset < sent.byteLength; i++) {
    const n = sizes[Math.min(i, sizes.length - 1)] as number;
    pieces.push(sent.subarray(offset, offset + n));
    offset += n;
  }
  await writePieces(socket, pieces);
  if (cut !== null && answer.reset) {
    await nextTurn();
    socket.resetAndDestroy();
  } else socket.end();
}

/** A server answering attempt i with answers[i] (the last repeats); records the response head lengths. */
async function serve(array: ArraySource, answers: Answer[]): Promise<{ url: string; headByteLengths: number[] }> {
  const headByteLengths: number[] = [];
  let attempt = 0;
  server = await startRawServer(async (socket, requestHead) => {
    const answer = answers[Math.min(attempt++, answers.length - 1)] as Answer;
    const { bytes, headByteLength } = response(array, requestHead, answer);
    headByteLengths.push(headByteLength);
    await writeAnswer(socket, bytes, answer);
  });
  return { url: `ws://127.0.0.1:${server.url.port}/arraywire`, headByteLengths };
}

/** The `resume` parameter of each request (0 when absent). */
function resumes(): number[] {
  return (server?.requests ?? []).map((r) =>
    Number(new URL(r.split(" ")[1] ?? "/", "http://x").searchParams.get("resume") ?? 0),
  );
}

function expectSameElements(array: ArraySource, got: ArrayBufferView, range: [number, number]): void {
  const itemsize = array.bytes.byteLength / array.elementCount;
  expect(got.byteLength).toBe((range[1] - range[0]) * itemsize);
  const expected = array.bytes.subarray(range[0] * itemsize, range[1] * itemsize);
  expect(Buffer.compare(bytesOf(got), expected)).toBe(0);
}

const HTTP: FetchArrayOptions = { transport: "http", idleTimeoutMs: 10_000 };
/** 3 whole windows and a part of a fourth, plus odd elements either side: a range in the middle. */
const N = (3 * W + 12_345 * 8) / 8 + 200;
const RANGE: [number, number] = [97, N - 103];
const RANGE_BYTES = (RANGE[1] - RANGE[0]) * 8;

describe("Node HTTP: a response cut at every boundary", () => {
  const array = source("float64", N, 1);
  const headerByteLength = 56 + 8 + 1; // fixed part + one dimension + name "a"

  /** Offsets in the whole response (head + body) around every boundary, for a head of `h` bytes. */
  function cuts(h: number): number[] {
    const body = h + headerByteLength;
    const points = [0, 1, 7, h - 3, h - 1, h, h + 1, h + 30, body - 1, body, body + 1];
    for (let k = 1; k <= 3; k++) points.push(body + k * W - 1, body + k * W, body + k * W + 1);
    points.push(body + W + 12_345, body + RANGE_BYTES - 1, body + RANGE_BYTES, body + RANGE_BYTES + 1);
    points.push(body + RANGE_BYTES + 31);
    return points;
  }
  const probe = response(array, `GET /?start=${RANGE[0]}&end=${RANGE[1]} HTTP/1.1`, {});
  const h = probe.headByteLength;

  it(`fails without resume: E_CONNECTION_CLOSED in the HTTP head, E_INCOMPLETE after it (${cuts(h).length} cuts)`, async () => {
    for (const cut of cuts(h)) {
      const s = await serve(array, [{ cutAt: cut, pieces: [4096, 65_536] }]);
      const err = await fetchArray(s.url, "a", { ...HTTP, range: RANGE }).catch((e: unknown) => e);
      expect(err, `cut at ${cut}`).toBeInstanceOf(StreamError);
      expect((err as StreamError).code, `cut at ${cut}: ${(err as Error).message}`).toBe(
        cut < h ? "E_CONNECTION_CLOSED" : "E_INCOMPLETE",
      );
      await server?.close();
    }
  });

  it("resumes exactly after the last byte that arrived, a partly filled window included", async () => {
    for (const cut of cuts(h)) {
      const s = await serve(array, [{ cutAt: cut, pieces: [4096, 65_536] }, {}]);
      const result = await fetchArray(s.url, "a", { ...HTTP, range: RANGE, resume: { initialDelayMs: 1 } });
      expectSameElements(array, result.array, RANGE);
      const held = Math.min(RANGE_BYTES, Math.max(0, cut - h - headerByteLength));
      // Before the header was whole there is nothing to resume from: the second request starts over.
      expect(resumes(), `cut at ${cut}`).toEqual([0, cut < h + headerByteLength ? 0 : held]);
      await server?.close();
    }
  });

  it("resumes at or before the cut after a reset mid-window, and the result is exact", async () => {
    const cut = h + headerByteLength + 2 * W + 77_777;
    // The first request (no resume) and the first attempt of the second are reset.
    const s = await serve(array, [{ cutAt: cut, reset: true }, { cutAt: cut, reset: true }, {}]);
    const err = await fetchArray(s.url, "a", { ...HTTP, range: RANGE }).catch((e: unknown) => e);
    // A reset reaches the reader as ECONNRESET, or as a close when the kernel saw the end first:
    // both retryable.
    expect(err).toBeInstanceOf(StreamError);
    expect(["E_CONNECTION_CLOSED", "E_INCOMPLETE"]).toContain((err as StreamError).code);
    const result = await fetchArray(s.url, "a", { ...HTTP, range: RANGE, resume: { initialDelayMs: 1 } });
    expectSameElements(array, result.array, RANGE);
    // A reset may drop bytes the kernel held: never resume past what arrived.
    expect(resumes()).toHaveLength(3);
    expect(resumes()[2]).toBeLessThanOrEqual(cut - h - headerByteLength);
  });

  it("reports progress once per window, in order, ending at the total", async () => {
    const s = await serve(array, [{}]);
    const seen: number[] = [];
    await fetchArray(s.url, "a", {
      ...HTTP,
      range: RANGE,
      progressIntervalMs: 0,
      onProgress: (p) => seen.push(p.receivedByteLength),
    });
    const windows = Math.ceil(RANGE_BYTES / W);
    // The header's report (0), one per window, and the final one at the total.
    expect(seen).toHaveLength(windows + 2);
    expect(seen.slice(1, -1)).toEqual(Array.from({ length: windows }, (_, i) => Math.min((i + 1) * W, RANGE_BYTES)));
    expect(seen.at(-1)).toBe(RANGE_BYTES);
  });
});

describe("Node HTTP: what the server sends that cannot be trusted", () => {
  const array = source("float64", 1000, 2);
  const body = () => response(array, "GET / HTTP/1.1", {}).bytes;
  const bodyAfterHead = () => body().subarray(response(array, "GET / HTTP/1.1", {}).headByteLength);
  const heads: [string, () => Uint8Array][] = [
    ["a status line that is not HTTP", () => latin1("HTTP/1.1 abc\r\n\r\n")],
    ["a bare LF", () => latin1(`HTTP/1.1 200 OK\nContent-Type: ${HTTP_CONTENT_TYPE}\r\n\r\n`)],
    [
      "two Content-Lengths",
      () =>
        responseHead("HTTP/1.1 200 OK", [
          `Content-Type: ${HTTP_CONTENT_TYPE}`,
          "Content-Length: 5",
          "Content-Length: 6",
        ]),
    ],
    [
      "Content-Length and Transfer-Encoding",
      () =>
        responseHead("HTTP/1.1 200 OK", [
          `Content-Type: ${HTTP_CONTENT_TYPE}`,
          "Content-Length: 5",
          "Transfer-Encoding: chunked",
        ]),
    ],
    ["a head over 64 KiB", () => responseHead("HTTP/1.1 200 OK", [`X-Pad: ${"p".repeat(65_536)}`])],
    [
      "a content coding",
      () => responseHead("HTTP/1.1 200 OK", [`Content-Type: ${HTTP_CONTENT_TYPE}`, "Content-Encoding: gzip"]),
    ],
    ["101 without an upgrade", () => responseHead("HTTP/1.1 101 Switching Protocols", [])],
  ];

  for (const [what, head] of heads) {
    it(`fails with E_PROTOCOL for ${what}, never retried`, async () => {
      server = await startRawServer(async (socket) => {
        await writePieces(socket, [head(), bodyAfterHead()]);
        socket.end();
      });
      const url = `ws://127.0.0.1:${server.url.port}/arraywire`;
      const err = await fetchArray(url, "a", { ...HTTP, resume: { initialDelayMs: 1 } }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: "StreamError", code: "E_PROTOCOL", cause: { name: "NodeSocketError" } });
      expect((err as Error).message).toMatch(/^Invalid HTTP response from http:\/\/127\.0\.0\.1:\d+: /);
      expect(server.requests).toHaveLength(1);
    });
  }

  it("fails with E_PROTOCOL for malformed chunked framing mid-body, never retried", async () => {
    server = await startRawServer((socket) => {
      const head = responseHead("HTTP/1.1 200 OK", [
        `Content-Type: ${HTTP_CONTENT_TYPE}`,
        "Transfer-Encoding: chunked",
      ]);
      const good = encodeChunked(bodyAfterHead().subarray(0, 3000), [1000]);
      return writePieces(socket, [head, good.subarray(0, good.byteLength - 5), latin1("zz\r\n")]).then(() => {
        socket.end();
      });
    });
    const url = `ws://127.0.0.1:${server.url.port}/arraywire`;
    const err = await fetchArray(url, "a", { ...HTTP, resume: { initialDelayMs: 1 } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_PROTOCOL", cause: { code: "EBADCHUNK" } });
    expect(server.requests).toHaveLength(1);
  });

  it("fails with E_CHECKSUM when the END's XXH32 does not match the bytes (hashed window by window)", async () => {
    const big = source("float64", (2 * W) / 8 + 999, 3);
    const s = await serve(big, [{ checksum: 0x1234 }]);
    await expect(fetchArray(s.url, "a", HTTP)).rejects.toMatchObject({ code: "E_CHECKSUM" });
  });

  it("refuses a header it would have to write itself with a TypeError, before connecting, never retried", async () => {
    const s = await serve(array, [{}]);
    const err = await fetchArray(s.url, "a", { ...HTTP, headers: { Connection: "keep-alive" }, resume: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toContain("Request header Connection");
    expect(server?.requests).toEqual([]);
  });

  it("rejects with the signal's reason when aborted mid-body, with reads still pending", async () => {
    const big = source("float64", (3 * W) / 8, 4);
    const controller = new AbortController();
    const reason = new Error("stop");
    let closed: Promise<void> = Promise.resolve();
    server = await startRawServer(async (socket, requestHead) => {
      closed = new Promise((resolve) => socket.once("close", () => resolve()));
      const { bytes, headByteLength } = response(big, requestHead, {});
      await writePieces(socket, [bytes.subarray(0, headByteLength + 100 + W + 5)]); // then silence
      controller.abort(reason);
    });
    const url = `ws://127.0.0.1:${server.url.port}/arraywire`;
    await expect(fetchArray(url, "a", { ...HTTP, signal: controller.signal })).rejects.toBe(reason);
    await closed; // the client closed its socket
  });
});

describe("Node HTTP: random responses through the real client", () => {
  /** xorshift32, seeded: the same cases on every run. */
  function random(seed: number): (n: number) => number {
    let x = seed >>> 0 || 1;
    return (n) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
  }

  it("deliver every element of 40 random cases (dtype, range, framing, splits, cut + resume)", async () => {
    const rand = random(0x5eed);
    for (let c = 0; c < 40; c++) {
      const dtype: Dtype = c % 2 === 0 ? "float64" : "biguint64";
      const n = 1 + rand((3 * W) / 8);
      const array = source(dtype, n, 100 + c);
      const start = rand(n);
      const range: [number, number] = [start, start + rand(n - start + 1)];
      const framing = (["length", "chunked", "close"] as const)[rand(3)];
      const pieces = [1 + rand(70_000), 1 + rand(300_000)];
      const whole = response(array, `GET /?start=${range[0]}&end=${range[1]} HTTP/1.1`, { framing }).bytes;
      const cut = rand(2) === 0 ? null : rand(whole.byteLength);
      const s = await serve(array, [
        { framing, pieces, cutAt: cut },
        { framing, pieces },
      ]);
      const into = rand(2) === 0 ? new (typedArrayConstructor(dtype))(range[1] - range[0] + rand(3)) : undefined;
      const label = `case ${c}: ${dtype} ${n} [${range}] ${framing} cut ${cut}`;
      const result = await fetchArray(s.url, "a", { ...HTTP, range, into, resume: { initialDelayMs: 1 } });
      expectSameElements(array, result.array, range);
      if (into) expect(result.array.buffer, label).toBe(into.buffer);
      expect(server?.requests.length, label).toBeLessThanOrEqual(2);
      await server?.close();
    }
  });
});

describe("Node HTTP: recv_into", () => {
  it("copies no body byte in userland and allocates nothing big but the target", async () => {
    const array = source("float64", (4 * 1024 * 1024) / 8, 5);
    // Built before the spies: the server's bytes are not the client's copies or allocations.
    const whole = response(array, "GET / HTTP/1.1", {}).bytes;
    server = await startRawServer(async (socket) => {
      const pieces: Uint8Array[] = [];
      for (let offset = 0; offset < whole.byteLength; offset += 65_536)
        pieces.push(whole.subarray(offset, offset + 65_536));
      await writePieces(socket, pieces);
      socket.end();
    });
    const s = { url: `ws://127.0.0.1:${server.url.port}/arraywire` };
    const original = Uint8Array.prototype.set;
    let copied = 0;
    const spy = spyOnAllocations(256 * 1024);
    Uint8Array.prototype.set = function (this: Uint8Array, from: ArrayLike<number>, offset?: number) {
      copied += from.length;
      return original.call(this, from, offset);
    } as typeof original;
    let result: Awaited<ReturnType<typeof fetchArray>>;
    try {
      result = await fetchArray(s.url, "a", HTTP);
    } finally {
      Uint8Array.prototype.set = original;
      spy.restore();
    }
    expectSameElements(array, result.array, [0, array.elementCount]);
    expect(spy.big).toEqual([{ what: "Float64Array", byteLength: array.bytes.byteLength }]);
    // What may be copied: body bytes read with the head (1 KiB reads) and the ARRAY_HEADER.
    expect(copied).toBeLessThan(2048);
  });
});
