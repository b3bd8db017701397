/**
 * idleTimeoutMs: a stream that receives no byte for that long fails with a retryable E_TIMEOUT
 * (and resume starts), on both transports; one whose bytes keep coming, each gap shorter than the
 * timeout, does not fail however long it takes in total.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocketServer } from "ws";
import {
  decodeMessage,
  encodeArrayHeader,
  encodeData,
  encodeEnd,
  HTTP_CONTENT_TYPE,
  StreamError,
  xxh32,
} from "../shared/index.ts";
import { ArrayClient, fetchArray } from "./index.ts";
import { fakeWebSocket } from "./test-helpers.ts";

const IDLE_MS = 300;
/** Generous: a loaded 2-core machine delays timers and sockets. */
const SLACK_MS = 2000;
const N = 64; // float64 elements
const BYTES = new Uint8Array(Float64Array.from({ length: N }, (_, i) => i * 1.5).buffer);

type Closer = () => Promise<void>;
const closers: Closer[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function header(streamId: number, firstByteOffset = 0) {
  return encodeArrayHeader({
    streamId,
    name: "a",
    checksumAlgorithm: "xxh32",
    dtype: "float64",
    shape: [N],
    totalByteLength: BYTES.byteLength,
    rangeByteStart: 0,
    rangeByteEnd: BYTES.byteLength,
    firstByteOffset,
    generation: 3,
    meta: null,
  });
}

function end(streamId: number, firstByteOffset = 0) {
  return encodeEnd({
    streamId,
    byteLength: BYTES.byteLength - firstByteOffset,
    checksumAlgorithm: "xxh32",
    checksum: xxh32(BYTES),
  });
}

/**
 * How the fake serves attempt `attempt` (0 first) of a request resuming at `from`: the byte to go
 * silent at (null: serve to the end), and the gap between pieces of `pieceByteLength` bytes.
 */
interface Plan {
  silentAt: number | null;
  gapMs: number;
  pieceByteLength: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An HTTP server speaking arraywire's HTTP transport by the plan; counts requests. */
async function httpFake(plan: (attempt: number) => Plan): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server: HttpServer = createHttpServer(async (req, res) => {
    const attempt = requests.length;
    requests.push(req.url ?? "");
    const from = Number(new URL(req.url ?? "/", "http://x").searchParams.get("resume") ?? 0);
    const { silentAt, gapMs, pieceByteLength } = plan(attempt);
    res.writeHead(200, { "content-type": HTTP_CONTENT_TYPE });
    res.write(header(1, from));
    for (let o = from; o < BYTES.byteLength; o += pieceByteLength) {
      if (silentAt !== null && o >= silentAt) return; // silent from here, connection left open
      if (gapMs > 0) await sleep(gapMs);
      if (res.destroyed) return;
      res.write(BYTES.subarray(o, Math.min(o + pieceByteLength, BYTES.byteLength)));
    }
    res.end(end(1, from));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/arraywire`, requests };
}

/** A WebSocket server speaking arraywire by the plan; counts REQUESTs (and connections). */
async function wsFake(
  plan: (attempt: number) => Plan,
): Promise<{ url: string; requests: number[]; connections: () => number }> {
  const requests: number[] = [];
  let connections = 0;
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  wss.on("connection", (ws) => {
    connections++;
    ws.on("message", async (data) => {
      const m = decodeMessage(data as Buffer);
      if (m.type !== "REQUEST") return;
      const attempt = requests.length;
      requests.push(m.resumeByteOffset);
      const { silentAt, gapMs, pieceByteLength } = plan(attempt);
      const from = m.resumeByteOffset;
      ws.send(header(m.streamId, from));
      for (let o = from; o < BYTES.byteLength; o += pieceByteLength) {
        if (silentAt !== null && o >= silentAt) return;
        if (gapMs > 0) await sleep(gapMs);
        if (ws.readyState !== ws.OPEN) return;
        const piece = BYTES.subarray(o, Math.min(o + pieceByteLength, BYTES.byteLength));
        ws.send(encodeData(m.streamId, o, piece.byteLength));
        ws.send(piece);
      }
      ws.send(end(m.streamId, from));
    });
  });
  closers.push(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/arraywire`,
    requests,
    connections: () => connections,
  };
}

async function timed<T>(p: Promise<T>): Promise<{ value: T | undefined; error: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    return { value: await p, error: undefined, ms: performance.now() - t0 };
  } catch (error) {
    return { value: undefined, error, ms: performance.now() - t0 };
  }
}

const SILENT_AFTER_HALF: Plan = { silentAt: BYTES.byteLength / 2, gapMs: 0, pieceByteLength: 64 };
/** Gaps of a third of the timeout, 512 / 64 = 8 pieces: about 2.7x the timeout in total. */
const DRIP: Plan = { silentAt: null, gapMs: IDLE_MS / 3, pieceByteLength: 64 };

describe("idleTimeoutMs", () => {
  for (const transport of ["http", "ws"] as const) {
    const fake = transport === "http" ? httpFake : wsFake;

    it(`fails a stream that goes silent mid-body with a retryable E_TIMEOUT, after the timeout and not before (${transport})`, async () => {
      const { url } = await fake(() => SILENT_AFTER_HALF);
      const { error, ms } = await timed(fetchArray(url, "a", { transport, idleTimeoutMs: IDLE_MS }));
      expect(error).toBeInstanceOf(StreamError);
      expect(error).toMatchObject({
        code: "E_TIMEOUT",
        message: expect.stringMatching(
          /^Stream idle: expected a byte within 300 ms \(idleTimeoutMs\), got none for \d+ ms$/,
        ),
      });
      expect(ms).toBeGreaterThanOrEqual(IDLE_MS);
      expect(ms).toBeLessThan(IDLE_MS + SLACK_MS);
    });

    it(`does not fail while bytes keep coming, each gap under the timeout, the whole longer than it (${transport})`, async () => {
      const { url } = await fake(() => DRIP);
      const { value, error, ms } = await timed(
        fetchArray<Float64Array>(url, "a", { transport, idleTimeoutMs: IDLE_MS }),
      );
      expect(error).toBeUndefined();
      expect(ms).toBeGreaterThan(IDLE_MS * 2);
      expect(Array.from(value?.array ?? [])).toEqual(Array.from({ length: N }, (_, i) => i * 1.5));
    });

    it(`resumes after E_TIMEOUT from the last byte held (${transport})`, async () => {
      const server = await fake((attempt) =>
        attempt === 0 ? SILENT_AFTER_HALF : { silentAt: null, gapMs: 0, pieceByteLength: 64 },
      );
      const result = await fetchArray<Float64Array>(server.url, "a", {
        transport,
        idleTimeoutMs: IDLE_MS,
        resume: { initialDelayMs: 1 },
      });
      expect(result.array[N - 1]).toBe((N - 1) * 1.5);
      if ("connections" in server) {
        expect(server.requests).toEqual([0, BYTES.byteLength / 2]);
        expect(server.connections()).toBe(2);
      } else {
        expect(server.requests).toHaveLength(2);
        expect(server.requests[1]).toContain(`resume=${BYTES.byteLength / 2}&generation=3`);
      }
    });
  }

  it("fails a request that never gets a response (http)", async () => {
    const server = createHttpServer(() => {});
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/arraywire`;
    const { error, ms } = await timed(fetchArray(url, "a", { transport: "http", idleTimeoutMs: IDLE_MS }));
    expect(error).toMatchObject({ code: "E_TIMEOUT" });
    expect(ms).toBeGreaterThanOrEqual(IDLE_MS);
    expect(ms).toBeLessThan(IDLE_MS + SLACK_MS);
  });

  it("fails a WebSocket handshake that never completes, and closes the socket (ws)", async () => {
    let closed = 0;
    const tcp: TcpServer = createTcpServer((socket) => {
      socket.resume(); // read, so that the client's FIN ends (and closes) the socket
      socket.on("error", () => {});
      socket.on("close", () => closed++);
    });
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", () => r()));
    closers.push(() => new Promise<void>((r) => tcp.close(() => r())));
    const url = `ws://127.0.0.1:${(tcp.address() as { port: number }).port}/arraywire`;
    const { error, ms } = await timed(fetchArray(url, "a", { transport: "ws", idleTimeoutMs: IDLE_MS }));
    expect(error).toMatchObject({ code: "E_TIMEOUT" });
    expect(ms).toBeGreaterThanOrEqual(IDLE_MS);
    await vi.waitFor(() => expect(closed).toBe(1));
  });

  it("times out one stream of a connection and keeps the others (ws)", async () => {
    const server = await wsFake((attempt) =>
      attempt === 0 ? SILENT_AFTER_HALF : { silentAt: null, gapMs: 0, pieceByteLength: 64 },
    );
    const client = await ArrayClient.connect(server.url);
    try {
      const silent = client.fetch("a", { idleTimeoutMs: IDLE_MS });
      await vi.waitFor(() => expect(server.requests).toHaveLength(1));
      const healthy = await client.fetch<Float64Array>("a", { idleTimeoutMs: IDLE_MS });
      expect(healthy.array[N - 1]).toBe((N - 1) * 1.5);
      await expect(silent).rejects.toMatchObject({ code: "E_TIMEOUT" });
      expect(client.connected).toBe(true);
    } finally {
      client.close();
    }
  });

  it("0 turns it off: gaps twice the timeout fail the stream with it and not without it", async () => {
    const { url } = await httpFake(() => ({ silentAt: null, gapMs: IDLE_MS * 2, pieceByteLength: 256 }));
    await expect(fetchArray(url, "a", { transport: "http", idleTimeoutMs: IDLE_MS })).rejects.toMatchObject({
      code: "E_TIMEOUT",
    });
    const result = await fetchArray<Float64Array>(url, "a", { transport: "http", idleTimeoutMs: 0 });
    expect(result.array[N - 1]).toBe((N - 1) * 1.5);
  });
});

describe("idleTimeoutMs default", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is 30,000 ms: a silent stream is still open at 29,999 ms and fails at 30,000 ms", async () => {
    const fake = fakeWebSocket({ onRequest: () => [], closeAfterReplies: false });
    const client = await ArrayClient.connect("ws://fake/arraywire", { WebSocket: fake.WebSocket });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    let outcome: unknown = "pending";
    client.fetch("a").then(
      () => (outcome = "resolved"),
      (err: unknown) => (outcome = err),
    );
    await vi.advanceTimersByTimeAsync(29_999);
    expect(outcome).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toMatchObject({ code: "E_TIMEOUT" });
    client.close();
  });
});
