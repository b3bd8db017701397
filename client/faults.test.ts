import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import {
  crc32c,
  createChecksum,
  decodeMessage,
  encodeArrayHeader,
  encodeData,
  encodeEnd,
  HTTP_CONTENT_TYPE,
  type RequestMessage,
  StreamError,
} from "../shared/index.ts";
import { ArrayClient, fetchArray } from "./index.ts";

type Send = (m: Uint8Array | string) => void;
/** What the fake server does for one REQUEST. */
type Script = (send: Send, request: RequestMessage) => void;

/** A WebSocket server that answers each REQUEST by running `script`: a hostile or broken peer. */
async function fakeServer(script: Script): Promise<{ url: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const m = decodeMessage(data as Buffer);
      if (m.type === "REQUEST") script((b) => ws.send(b), m);
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/arraywire`,
    close: () => new Promise((r) => wss.close(() => r())),
  };
}

/** A float64 array of `n` values 0..n-1 as bytes. */
function bytesOf(n: number): Uint8Array {
  return new Uint8Array(Float64Array.from({ length: n }, (_, i) => i).buffer);
}

/** What a header echoes from its request: the stream, the name asked for and the checksum wanted. */
type Asked = Pick<RequestMessage, "streamId" | "name" | "checksum">;

function header(req: Asked, n: number, extra: Partial<Parameters<typeof encodeArrayHeader>[0]> = {}) {
  return encodeArrayHeader({
    streamId: req.streamId,
    name: req.name,
    checksumAlgorithm: req.checksum,
    dtype: "float64",
    shape: [n],
    totalByteLength: n * 8,
    rangeByteStart: 0,
    rangeByteEnd: n * 8,
    firstByteOffset: 0,
    generation: 1,
    meta: null,
    ...extra,
  });
}

/** A correct stream of `n` float64 values in chunks of `chunk` bytes, with the checksum asked for. */
function sendGood(send: Send, req: Asked, n: number, chunk = 64) {
  const { streamId } = req;
  const bytes = bytesOf(n);
  send(header(req, n));
  for (let o = 0; o < bytes.byteLength; o += chunk) {
    const payload = bytes.subarray(o, Math.min(o + chunk, bytes.byteLength));
    send(encodeData(streamId, o, payload.byteLength));
    send(payload);
  }
  const checksum = createChecksum(req.checksum);
  checksum?.update(bytes);
  send(
    encodeEnd({
      streamId,
      byteLength: bytes.byteLength,
      checksumAlgorithm: req.checksum,
      checksum: checksum?.digest() ?? 0,
    }),
  );
}

const quiet = { onWarning: () => {} };

describe("a client facing a broken or hostile server", () => {
  let close: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await close?.();
    close = null;
  });

  /** Runs `bad` for the stream named "bad" and a correct stream for "good" on the same connection. */
  async function expectFailureIsolated(bad: Script, code: string, causeCode?: string) {
    const fake = await fakeServer((send, request) => {
      if (request.name === "bad") bad(send, request);
      else sendGood(send, request, 100);
    });
    close = fake.close;
    const client = await ArrayClient.connect(fake.url, quiet);
    try {
      const [badResult, goodResult] = await Promise.allSettled([client.fetch("bad"), client.fetch("good")]);
      expect(badResult.status).toBe("rejected");
      const err = (badResult as PromiseRejectedResult).reason;
      expect(err).toBeInstanceOf(StreamError);
      expect(err.code).toBe(code);
      if (causeCode) expect(err.cause?.code).toBe(causeCode);
      expect(goodResult.status).toBe("fulfilled");
      const good = (goodResult as PromiseFulfilledResult<{ array: Float64Array }>).value;
      expect(good.array[99]).toBe(99);
      // The connection still serves new requests, and another client is unaffected.
      expect(((await client.fetch("good")).array as Float64Array)[99]).toBe(99);
      expect(((await fetchArray(fake.url, "good", { ...quiet, transport: "ws" })).array as Float64Array)[50]).toBe(50);
    } finally {
      client.close();
    }
  }

  it("rejects a chunk that crosses the end of the range", () =>
    expectFailureIsolated(
      (send, req) => {
        const { streamId } = req;
        send(header(req, 4));
        send(encodeData(streamId, 24, 16));
        send(new Uint8Array(16));
      },
      "E_PROTOCOL",
      "E_BAD_RANGE",
    ));

  it("rejects extra bytes past the length (a chunk after the last byte)", () =>
    expectFailureIsolated(
      (send, req) => {
        const { streamId } = req;
        send(header(req, 2));
        send(encodeData(streamId, 0, 16));
        send(bytesOf(2));
        send(encodeData(streamId, 16, 8));
        send(new Uint8Array(8));
      },
      "E_PROTOCOL",
      "E_BAD_RANGE",
    ));

  it.each([
    ["a gap", [0, 16]],
    ["an overlap", [0, 4]],
    ["out of order", [8, 0]],
  ])("rejects chunks with %s", (_, offsets) =>
    expectFailureIsolated(
      (send, req) => {
        const { streamId } = req;
        send(header(req, 4));
        for (const o of offsets as number[]) {
          send(encodeData(streamId, o, 8));
          send(new Uint8Array(8));
        }
      },
      "E_PROTOCOL",
      "E_BAD_RANGE",
    ),
  );

  it("rejects a payload whose length differs from its DATA", () =>
    expectFailureIsolated(
      (send, req) => {
        const { streamId } = req;
        send(header(req, 4));
        send(encodeData(streamId, 0, 16));
        send(new Uint8Array(15));
      },
      "E_PROTOCOL",
      "E_BAD_LENGTH",
    ));

  it("survives a flood of zero-length chunks: the stream fails, warnings stay bounded", async () => {
    const warnings: string[] = [];
    const fake = await fakeServer((send, request) => {
      if (request.name !== "bad") return sendGood(send, request, 100);
      send(header(request, 4));
      const zero = encodeData(request.streamId, 0, 1);
      zero[12] = 0; // payloadByteLength 0
      for (let i = 0; i < 10_000; i++) {
        send(zero);
        send(new Uint8Array(0));
      }
    });
    close = fake.close;
    const client = await ArrayClient.connect(fake.url, { onWarning: (w) => warnings.push(w) });
    try {
      await expect(client.fetch("bad")).rejects.toMatchObject({ code: "E_PROTOCOL" });
      const good = await client.fetch("good");
      expect((good.array as Float64Array)[99]).toBe(99);
      expect(warnings.length).toBeLessThanOrEqual(10);
    } finally {
      client.close();
    }
  });

  it("rejects an END before every byte arrived (E_INCOMPLETE), never resolving a partial array", () =>
    expectFailureIsolated((send, req) => {
      const { streamId } = req;
      send(header(req, 4));
      send(encodeData(streamId, 0, 8));
      send(new Uint8Array(8));
      send(encodeEnd({ streamId, byteLength: 32, checksumAlgorithm: "none", checksum: 0 }));
    }, "E_INCOMPLETE"));

  it("rejects a wrong checksum (E_CHECKSUM)", () =>
    expectFailureIsolated((send, req) => {
      const { streamId } = req;
      send(header(req, 2, { checksumAlgorithm: "crc32c" }));
      send(encodeData(streamId, 0, 16));
      send(bytesOf(2));
      send(
        encodeEnd({ streamId, byteLength: 16, checksumAlgorithm: "crc32c", checksum: (crc32c(bytesOf(2)) ^ 1) >>> 0 }),
      );
    }, "E_CHECKSUM"));

  it("rejects a second header on an active stream (E_PROTOCOL)", () =>
    expectFailureIsolated(
      (send, req) => {
        send(header(req, 4));
        send(header(req, 4));
      },
      "E_PROTOCOL",
      "E_UNEXPECTED_MESSAGE",
    ));

  it("rejects a header naming another array (E_PROTOCOL)", () =>
    expectFailureIsolated(
      (send, req) => send(header({ ...req, name: "other" }, 4)),
      "E_PROTOCOL",
      "E_UNEXPECTED_MESSAGE",
    ));

  it("rejects a header announcing no checksum when verify asked for one (E_CHECKSUM), and accepts it with verify: false", async () => {
    await expectFailureIsolated((send, req) => sendGood(send, { ...req, checksum: "none" }, 4), "E_CHECKSUM");
    const fake = await fakeServer((send, req) => sendGood(send, { ...req, checksum: "none" }, 4));
    const unverified = await fetchArray(fake.url, "a", { ...quiet, transport: "ws", verify: false });
    expect(Array.from(unverified.array as Float64Array)).toEqual([0, 1, 2, 3]);
    await fake.close();
  });

  it("refuses a header over maxBytes before allocating (a 1 PB array)", () =>
    expectFailureIsolated((send, req) => {
      const n = 125_000_000_000_000; // 1e15 bytes of float64
      send(header(req, n));
    }, "E_TOO_LARGE"));

  it("ignores data, headers and trailers for unknown stream ids and for streams already ended", async () => {
    const fake = await fakeServer((send, req) => {
      const { streamId } = req;
      send(header({ ...req, streamId: req.streamId + 1000 }, 4));
      send(encodeData(streamId + 1000, 0, 8));
      send(new Uint8Array(8));
      sendGood(send, req, 10);
      send(encodeData(streamId, 0, 8)); // a chunk after END
      send(new Uint8Array(8));
      send(encodeEnd({ streamId, byteLength: 80, checksumAlgorithm: "none", checksum: 0 }));
    });
    close = fake.close;
    const client = await ArrayClient.connect(fake.url, quiet);
    try {
      const first = await client.fetch("a");
      expect(Array.from(first.array as Float64Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const second = await client.fetch("a");
      expect((second.array as Float64Array)[9]).toBe(9);
    } finally {
      client.close();
    }
  });

  it("fails every stream with E_PROTOCOL on a text frame and closes with 4002 (a code browsers allow)", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((r) => wss.once("listening", r));
    close = () => new Promise((r) => wss.close(() => r()));
    const closeCode = new Promise<number>((resolve) => {
      wss.on("connection", (ws) => {
        ws.on("close", (code) => resolve(code));
        ws.on("message", (data) => {
          const m = decodeMessage(data as Buffer);
          if (m.type !== "REQUEST") return;
          ws.send(header(m, 4));
          ws.send("not binary");
        });
      });
    });
    const client = await ArrayClient.connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/arraywire`, quiet);
    const [first, second] = await Promise.allSettled([client.fetch("a"), client.fetch("b")]);
    for (const outcome of [first, second]) {
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({
        name: "StreamError",
        code: "E_PROTOCOL",
        cause: { code: "E_TEXT_FRAME" },
      });
    }
    // 1003 would throw InvalidAccessError in a browser and leave the socket open.
    expect(await closeCode).toBe(4002);
    expect(client.connected).toBe(false);
    await expect(client.fetch("a")).rejects.toMatchObject({ code: "E_CONNECTION_CLOSED" });
  });
});

describe("a client facing a broken HTTP server", () => {
  it("says that nothing arraywire is mounted there when an SPA fallback page answers", async () => {
    const http = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><html></html>");
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/arraywire`;
      const port = (http.address() as AddressInfo).port;
      await expect(fetchArray(url, "a", { transport: "http" })).rejects.toMatchObject({
        code: "E_NOT_FOUND",
        message: `No arraywire endpoint at /arraywire on http://127.0.0.1:${port} (HTTP 200 with content-type "text/html": another app answers there): check the path, or mount arrays.middleware (or handleRequest) there, or add the arraywire/vite plugin`,
      });
    } finally {
      await new Promise<void>((r) => http.close(() => r()));
    }
  });

  it.each([
    ["bytes past the END trailer", (body: Uint8Array) => Buffer.concat([body, Buffer.from([1, 2, 3])]), "E_PROTOCOL"],
    ["a body cut inside the range", (body: Uint8Array) => body.subarray(0, 100), "E_INCOMPLETE"],
    [
      "a body that is not arraywire",
      () => Buffer.from("<html>hello</html> and then some more text to fill 56 bytes"),
      "E_PROTOCOL",
    ],
  ])("rejects %s", async (_, mangle, code) => {
    const n = 20;
    const good = Buffer.concat([
      header({ streamId: 1, name: "a", checksum: "none" }, n),
      bytesOf(n),
      encodeEnd({ streamId: 1, byteLength: n * 8, checksumAlgorithm: "none", checksum: 0 }),
    ]);
    const body = mangle(good);
    const http = createServer((_req, res) => {
      res.writeHead(200, { "content-length": body.byteLength, "content-type": HTTP_CONTENT_TYPE });
      res.end(body);
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/arraywire`;
      await expect(fetchArray(url, "a", { transport: "http", verify: false })).rejects.toMatchObject({ code });
    } finally {
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});
