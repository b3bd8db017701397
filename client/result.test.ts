/**
 * What a fetch resolves with, the same on both transports: `shape` (what was received),
 * `arrayShape` (the whole array), `range` (elements of the flattened array received); and the
 * header check that the range the server sends is the one asked for.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { ArrayServer } from "../server/index.ts";
import { decodeMessage, encodeArrayHeader, HTTP_CONTENT_TYPE } from "../shared/index.ts";
import { ArrayClient, fetchArray } from "./index.ts";

const ROWS = 1000;
const COLS = 1000;
let server: ArrayServer;

beforeAll(async () => {
  server = new ArrayServer({ port: 0, log: () => {} });
  await server.listen();
  server.publish(
    "grid",
    Float64Array.from({ length: ROWS * COLS }, (_, i) => i * 0.5),
    { shape: [ROWS, COLS] },
  );
});

afterAll(() => server.close());

describe("ArrayResult", () => {
  for (const transport of ["ws", "http"] as const) {
    it(`tells the whole array's shape and the range for a whole 2-d array (${transport})`, async () => {
      const r = await fetchArray<Float64Array>(server.url, "grid", { transport });
      expect(r.shape).toEqual([ROWS, COLS]);
      expect(r.arrayShape).toEqual([ROWS, COLS]);
      expect(r.range).toEqual([0, ROWS * COLS]);
      expect(r.array.length).toBe(ROWS * COLS);
      expect(r.array[ROWS * COLS - 1]).toBe((ROWS * COLS - 1) * 0.5);
    });

    it(`tells the whole array's shape and the range for a range in the middle (${transport})`, async () => {
      const [start, end] = [123_457, 654_321] as const;
      const r = await fetchArray<Float64Array>(server.url, "grid", { transport, range: [start, end] });
      expect(r.shape).toEqual([end - start]);
      expect(r.arrayShape).toEqual([ROWS, COLS]);
      expect(r.range).toEqual([start, end]);
      expect(r.array.length).toBe(end - start);
      expect(r.array[0]).toBe(start * 0.5);
      expect(r.array[end - start - 1]).toBe((end - 1) * 0.5);
    });

    it(`an empty range resolves with an empty array and says where it was (${transport})`, async () => {
      const r = await fetchArray(server.url, "grid", { transport, range: [500, 500] });
      expect(r).toMatchObject({ shape: [0], arrayShape: [ROWS, COLS], range: [500, 500] });
      expect(r.array.length).toBe(0);
    });

    it(`a larger into: the result is a view of its first elements, with the range's shape (${transport})`, async () => {
      const into = new Float64Array(20).fill(-1);
      const r = await fetchArray<Float64Array>(server.url, "grid", { transport, into, range: [10, 20] });
      expect(r.array.buffer).toBe(into.buffer);
      expect(r).toMatchObject({ shape: [10], arrayShape: [ROWS, COLS], range: [10, 20] });
      expect(Array.from(into.subarray(0, 11))).toEqual([5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9.5, -1]);
    });
  }

  it("both transports resolve with the same fields for the same request", async () => {
    const ws = await fetchArray<Float64Array>(server.url, "grid", { transport: "ws", range: [999, 1999] });
    const http = await fetchArray<Float64Array>(server.url, "grid", { transport: "http", range: [999, 1999] });
    const { array: a, ...wsFields } = ws;
    const { array: b, ...httpFields } = http;
    expect(httpFields).toEqual(wsFields);
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it("a range past the array's end fails with the same code on both transports", async () => {
    const errors = await Promise.all(
      (["ws", "http"] as const).map((transport) =>
        fetchArray(server.url, "grid", { transport, range: [5, ROWS * COLS + 1] }).catch((e: unknown) => e),
      ),
    );
    expect(errors[0]).toMatchObject({ name: "StreamError" });
    expect((errors[1] as { code: string }).code).toBe((errors[0] as { code: string }).code);
  });
});

describe("a header for another range than the one asked for", () => {
  const headerFor = (streamId: number, start: number, end: number) =>
    encodeArrayHeader({
      streamId,
      name: "a",
      checksumAlgorithm: "xxh32",
      dtype: "float64",
      shape: [100],
      totalByteLength: 800,
      rangeByteStart: start * 8,
      rangeByteEnd: end * 8,
      firstByteOffset: start * 8,
      generation: 1,
      meta: null,
    });

  it("is E_PROTOCOL (cause E_BAD_RANGE) over ws, and the stream is cancelled", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((r) => wss.once("listening", r));
    const received: string[] = [];
    wss.on("connection", (ws) =>
      ws.on("message", (data) => {
        const m = decodeMessage(data as Buffer);
        received.push(m.type);
        if (m.type === "REQUEST") ws.send(headerFor(m.streamId, 0, 100)); // the whole array, not [10, 20)
      }),
    );
    const client = await ArrayClient.connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/x`);
    try {
      const err = await client.fetch("a", { range: [10, 20] }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        name: "StreamError",
        code: "E_PROTOCOL",
        message: "Invalid ARRAY_HEADER: expected bytes [80, 160) (the range asked for), got [0, 800)",
        cause: { code: "E_BAD_RANGE" },
      });
      await expect.poll(() => received).toEqual(["REQUEST", "CANCEL"]);
    } finally {
      client.close();
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });

  it("is E_PROTOCOL (cause E_BAD_RANGE) over http, and a whole-array request refuses a part", async () => {
    const http = createServer((req, res) => {
      const ranged = new URL(req.url ?? "/", "http://x").searchParams.has("start");
      res.writeHead(200, { "content-type": HTTP_CONTENT_TYPE });
      res.end(ranged ? headerFor(1, 0, 100) : headerFor(1, 10, 20));
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/x`;
    try {
      await expect(fetchArray(url, "a", { transport: "http", range: [10, 20] })).rejects.toMatchObject({
        code: "E_PROTOCOL",
        message: "Invalid ARRAY_HEADER: expected bytes [80, 160) (the range asked for), got [0, 800)",
        cause: { code: "E_BAD_RANGE" },
      });
      await expect(fetchArray(url, "a", { transport: "http" })).rejects.toMatchObject({
        code: "E_PROTOCOL",
        message: "Invalid ARRAY_HEADER: expected bytes [0, 800) (the range asked for), got [80, 160)",
      });
    } finally {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});
