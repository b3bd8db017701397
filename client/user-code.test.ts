/**
 * Calls into user code are guarded (client/guard.ts): whatever onProgress, onWarning or a
 * caller's WebSocket throws, the fetch rejects with that very error, is never retried by resume,
 * never hangs, and nothing escapes as an uncaught exception or unhandled rejection (Vitest fails
 * the run on either).
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { ArrayServer } from "../server/index.ts";
import { decodeMessage, encodeError, StreamError } from "../shared/index.ts";
import { ArrayClient, fetchArray, type Progress } from "./index.ts";
import { encodeStream, fakeWebSocket, fillPseudoRandom } from "./test-helpers.ts";

const LENGTH = 1_000_000; // 8 MB of float64: several progress reports on both transports
let http: Server;
let arrays: ArrayServer;
let url = "";
/** GET requests and upgrades: one per attempt on either transport. */
let requests = 0;

beforeAll(async () => {
  // Counts attempts: GETs and upgrades (HTTP keep-alive reuses connections, so not those).
  http = createServer((req, res) => {
    requests++;
    if (!arrays.handleRequest(req, res)) res.writeHead(404).end();
  });
  http.on("upgrade", () => requests++);
  arrays = new ArrayServer({ server: http, log: () => {} });
  arrays.publish(
    "a",
    Float64Array.from({ length: LENGTH }, (_, i) => i),
  );
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  url = `ws://127.0.0.1:${(http.address() as { port: number }).port}/arraywire`;
});

afterAll(async () => {
  await arrays.close();
  http.closeAllConnections();
  await new Promise<void>((r) => http.close(() => r()));
});

/** Connections attempts while `run` ran (and shortly after: a retry would come within ms). */
async function countAttempts(run: () => Promise<unknown>): Promise<{ outcome: unknown; attempts: number }> {
  const before = requests;
  const outcome = await run().catch((e: unknown) => ({ rejected: e }));
  await new Promise((r) => setTimeout(r, 100));
  return { outcome, attempts: requests - before };
}

const RESUME = { initialDelayMs: 1 };

describe("a throwing onProgress", () => {
  for (const transport of ["ws", "http"] as const) {
    it(`rejects with the caller's own error on the first report, never retried (${transport}, resume on)`, async () => {
      const mine = new Error("mine");
      let calls = 0;
      const { outcome, attempts } = await countAttempts(() =>
        fetchArray(url, "a", {
          transport,
          resume: RESUME,
          onProgress: () => {
            calls++;
            throw mine;
          },
        }),
      );
      expect(outcome).toEqual({ rejected: mine });
      expect((outcome as { rejected: unknown }).rejected).toBe(mine);
      expect(calls).toBe(1);
      expect(attempts).toBe(1);
    });

    it(`rejects with the caller's error thrown at the final report, though every byte arrived (${transport})`, async () => {
      const mine = new TypeError("at the end");
      const seen: number[] = [];
      const { outcome, attempts } = await countAttempts(() =>
        fetchArray(url, "a", {
          transport,
          resume: RESUME,
          progressIntervalMs: 0,
          onProgress: (p: Progress) => {
            seen.push(p.receivedByteLength);
            if (p.receivedByteLength === p.totalByteLength) throw mine;
          },
        }),
      );
      expect((outcome as { rejected: unknown }).rejected).toBe(mine);
      expect(seen.at(-1)).toBe(LENGTH * 8);
      expect(attempts).toBe(1);
    });

    it(`rejects with what an async onProgress rejects with, no unhandled rejection (${transport})`, async () => {
      const mine = new Error("async");
      const { outcome, attempts } = await countAttempts(() =>
        fetchArray(url, "a", {
          transport,
          resume: RESUME,
          onProgress: async () => {
            await null;
            throw mine;
          },
        }),
      );
      expect((outcome as { rejected: unknown }).rejected).toBe(mine);
      expect(attempts).toBe(1);
    });

    it(`never retries the caller's error even when it looks retryable (${transport})`, async () => {
      const mine = new StreamError("E_CONNECTION_CLOSED", "thrown by the caller's onProgress");
      const { outcome, attempts } = await countAttempts(() =>
        fetchArray(url, "a", {
          transport,
          resume: RESUME,
          onProgress: () => {
            throw mine;
          },
        }),
      );
      expect((outcome as { rejected: unknown }).rejected).toBe(mine);
      expect(attempts).toBe(1);
    });

    it(`rejects with the abort reason when onProgress aborts the signal (${transport})`, async () => {
      const controller = new AbortController();
      const reason = new Error("stop");
      const { outcome, attempts } = await countAttempts(() =>
        fetchArray(url, "a", {
          transport,
          resume: RESUME,
          signal: controller.signal,
          onProgress: () => controller.abort(reason),
        }),
      );
      expect((outcome as { rejected: unknown }).rejected).toBe(reason);
      expect(attempts).toBe(1);
    });
  }

  it("fails only its own stream of a shared connection, which is cancelled; the others complete", async () => {
    const spec = (streamId: number) => ({
      streamId,
      dtype: "float64" as const,
      shape: [512],
      source: fillPseudoRandom(new Uint8Array(4096), streamId),
      range: null,
      chunkByteLength: 512,
      checksum: "xxh32" as const,
      name: streamId % 2 ? "odd" : "even",
      meta: null,
      generation: 1,
    });
    const fake = fakeWebSocket({
      onRequest: (req) => encodeStream({ ...spec(req.streamId), name: req.name }).messages,
      closeAfterReplies: false,
    });
    const client = await ArrayClient.connect("ws://fake/arraywire", { WebSocket: fake.WebSocket });
    const mine = new Error("mine");
    const [bad, good] = await Promise.allSettled([
      client.fetch("odd", {
        onProgress: () => {
          throw mine;
        },
      }),
      client.fetch("even"),
    ]);
    expect((bad as PromiseRejectedResult).reason).toBe(mine);
    expect(good.status).toBe("fulfilled");
    const sent = fake.log.sent.map((b) => decodeMessage(b));
    const badId = sent.find((m) => m.type === "REQUEST" && m.name === "odd")?.streamId;
    expect(sent.filter((m) => m.type === "CANCEL").map((m) => m.streamId)).toEqual([badId]);
    expect(fake.log.listenerErrors).toEqual([]);
    expect(client.connected).toBe(true);
    client.close();
  });
});

describe("a throwing onWarning", () => {
  it("fails the connection's streams with the caller's error, never retried (fetchArray, resume on)", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((r) => wss.once("listening", r));
    let wsConnections = 0;
    wss.on("connection", (ws) => {
      wsConnections++;
      // A connection-level ERROR: the client warns, and the caller's onWarning throws.
      ws.on("message", () => ws.send(encodeError(0, "E_BAD_REQUEST", "not for a stream")));
    });
    try {
      const mine = new Error("from onWarning");
      const err = await fetchArray(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/x`, "a", {
        transport: "ws",
        resume: RESUME,
        onWarning: () => {
          throw mine;
        },
      }).catch((e: unknown) => e);
      expect(err).toBe(mine);
      expect(wsConnections).toBe(1);
    } finally {
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });
});

describe("a caller's WebSocket that throws", () => {
  it("rejects with the constructor's own error, never retried", async () => {
    const mine = new Error("no sockets today");
    let constructed = 0;
    class Broken {
      constructor() {
        constructed++;
        throw mine;
      }
    }
    const err = await fetchArray(url, "a", { WebSocket: Broken as never, resume: RESUME }).catch((e: unknown) => e);
    expect(err).toBe(mine);
    expect(constructed).toBe(1);
  });

  it("rejects with what its send() throws, and the connection is closed", async () => {
    const mine = new Error("send failed");
    const closes: number[] = [];
    class SendThrows {
      binaryType = "";
      readyState = 1;
      addEventListener(type: string, listener: (e: object) => void) {
        if (type === "open") setImmediate(() => listener({}));
      }
      send() {
        throw mine;
      }
      close(code: number) {
        closes.push(code);
        throw new Error("close fails too"); // dropped: the outcome is decided
      }
    }
    const client = await ArrayClient.connect("ws://fake/arraywire", { WebSocket: SendThrows as never });
    await expect(client.fetch("a")).rejects.toBe(mine);
    expect(client.connected).toBe(false);
    expect(closes).toEqual([1000]);
    await expect(client.fetch("a")).rejects.toMatchObject({ code: "E_CONNECTION_CLOSED", cause: mine });
  });
});
