import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArrayClient, fetchArray } from "../client/index.ts";
import { decodeMessage, encodeData, encodeRequest, type JsonObject, StreamError } from "../shared/index.ts";
import { ArrayServer, arange } from "./index.ts";
import { RawClient } from "./test-helpers.ts";

function request(streamId: number, name: string, creditByteLength = 0, params: JsonObject | null = null) {
  return encodeRequest({
    streamId,
    name,
    params,
    chunkByteLength: 64 * 1024,
    range: null,
    resumeByteOffset: 0,
    creditByteLength,
    expectedGeneration: null,
    checksum: "none",
  });
}

describe("a server facing buggy sources and odd clients", () => {
  let server: ArrayServer;
  const logs: string[] = [];

  beforeEach(async () => {
    logs.length = 0;
    server = new ArrayServer({ port: 0, log: (m) => logs.push(m) });
    await server.listen();
    server.publish("arange", arange());
    server.publish("bad-code", {
      open: () => {
        throw new StreamError("bad-params", "a source with a code outside [A-Z0-9_]");
      },
    });
    const one = new Uint8Array(1);
    const read = (o: number, n: number) => one.subarray(o, o + n);
    server.publish("too-many-dims", { open: () => ({ dtype: "uint8", shape: new Array(33).fill(1), read }) });
    server.publish("huge-meta", {
      open: () => ({ dtype: "uint8", shape: [1], meta: { text: "x".repeat(70_000) }, read }),
    });
    server.publish("refusing", {
      open: () => {
        throw new StreamError("E_BAD_REQUEST", "this source wants params");
      },
    });
  });

  afterEach(async () => {
    await server.close();
  });

  it.each(["ws", "http"] as const)(
    "answers a source's bug with E_INTERNAL, logs it, and keeps serving (%s)",
    async (transport) => {
      for (const name of ["bad-code", "too-many-dims", "huge-meta"]) {
        await expect(fetchArray(server.url, name, { transport }), name).rejects.toMatchObject({
          code: "E_INTERNAL",
          message: "The array source failed; see the server log",
        });
      }
      expect(logs.filter((l) => l.includes("failed"))).toHaveLength(3);
      await expect(fetchArray(server.url, "refusing", { transport })).rejects.toMatchObject({
        code: "E_BAD_REQUEST",
        message: "this source wants params",
      });
      const ok = await fetchArray(server.url, "arange", { transport, params: { length: 3 } });
      expect(Array.from(ok.array as Float64Array)).toEqual([0, 1, 2]);
    },
  );

  it("refuses at publish time a name over 1024 bytes and a shape over 32 dims", () => {
    expect(() => server.publish("n".repeat(1025), new Uint8Array(1))).toThrow(TypeError);
    expect(() => server.publish("dims", new Uint8Array(1), { shape: new Array(33).fill(1) })).toThrow(
      "Invalid shape: expected at most 32 dims, got 33",
    );
  });

  it.each(["ws", "http"] as const)(
    "never resolves names against the file system: paths of real files are unknown names (%s)",
    async (transport) => {
      const here = new URL(import.meta.url).pathname;
      for (const name of [
        "package.json",
        "./package.json",
        "../main/package.json",
        here,
        `file://${here}`,
        "../../../../etc/passwd",
      ]) {
        await expect(fetchArray(server.url, name, { transport }), name).rejects.toMatchObject({
          code: "E_UNKNOWN_NAME",
          message: `Unknown array: ${JSON.stringify(name)} is not published`,
        });
      }
    },
  );

  it("refuses an over-long name in an HTTP request with E_BAD_REQUEST", async () => {
    // Sent by hand: the client refuses such a name itself (a RangeError) before any request.
    const url = new URL(server.url.replace(/^ws/, "http"));
    url.searchParams.set("name", "n".repeat(2000));
    const response = await fetch(url);
    expect(response.status).toBe(400);
    const message = decodeMessage(new Uint8Array(await response.arrayBuffer()));
    expect(message).toMatchObject({
      type: "ERROR",
      code: "E_BAD_REQUEST",
      message: "Invalid name: expected 1..1024 UTF-8 bytes, got 2000",
    });
  });

  it("makes the client refuse an over-long name before sending anything", async () => {
    await expect(fetchArray(server.url, "n".repeat(2000), { transport: "http" })).rejects.toThrow(RangeError);
  });

  it("ends a running stream when a message naming it fails to decode", async () => {
    const raw = await RawClient.connect(server.url);
    raw.send(request(1, "arange", 64 * 1024, { length: 1_000_000 }));
    expect((await raw.nextMessage()).type).toBe("ARRAY_HEADER");
    expect((await raw.nextMessage()).type).toBe("DATA");
    await raw.next();
    const badCredit = new Uint8Array(24);
    badCredit.set(request(1, "x").subarray(0, 12)); // a valid prefix naming stream 1 ...
    badCredit[5] = 0x02; // ... as a CREDIT with a zero grant
    raw.send(badCredit);
    expect(await raw.nextMessage()).toMatchObject({ type: "ERROR", streamId: 1, code: "E_BAD_LENGTH" });
    await new Promise((r) => setTimeout(r, 50));
    expect(server.stats().streamCount).toBe(0);
    expect(raw.queuedCount).toBe(0);
    raw.close();
  });

  it("ends both requests when a stream id is reused while running (E_STREAM_EXISTS)", async () => {
    const raw = await RawClient.connect(server.url);
    raw.send(request(7, "arange", 64 * 1024, { length: 1_000_000 }));
    expect((await raw.nextMessage()).type).toBe("ARRAY_HEADER");
    raw.send(request(7, "arange", 0, { length: 4 }));
    let m = await raw.nextMessage();
    while (m.type === "DATA") {
      await raw.next();
      m = await raw.nextMessage();
    }
    expect(m).toMatchObject({ type: "ERROR", streamId: 7, code: "E_STREAM_EXISTS" });
    expect(server.stats().streamCount).toBe(0);
    raw.close();
  });

  it("answers a client's DATA once with E_UNEXPECTED_MESSAGE and drops its payload", async () => {
    const raw = await RawClient.connect(server.url);
    raw.send(encodeData(3, 0, 8));
    raw.send(new Uint8Array(8)); // would decode as a bad control message if it were not skipped
    raw.send(request(4, "arange", 0, { length: 2 }));
    expect(await raw.nextMessage()).toMatchObject({ type: "ERROR", streamId: 3, code: "E_UNEXPECTED_MESSAGE" });
    expect(await raw.nextMessage()).toMatchObject({ type: "ARRAY_HEADER", streamId: 4 });
    raw.close();
  });

  it("cuts HTTP streams in flight on close() instead of waiting for them", async () => {
    const controller = new AbortController();
    let started!: () => void;
    const onStart = new Promise<void>((r) => {
      started = r;
    });
    const pending = fetchArray(server.url, "arange", {
      transport: "http",
      params: { length: 30_000_000 }, // 240 MB, under arange's default cap of 256 MiB
      verify: false,
      signal: controller.signal,
      onProgress: () => started(),
    }).catch((e: unknown) => e);
    await onStart;
    const t0 = performance.now();
    await server.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    const err = await pending;
    expect(err).toBeInstanceOf(StreamError);
    expect(["E_CONNECTION_CLOSED", "E_INCOMPLETE"]).toContain((err as StreamError).code);
    server = new ArrayServer({ port: 0 }); // for afterEach
    await server.listen();
  });

  it("tells whether a client is connected", async () => {
    const client = await ArrayClient.connect(server.url, { protocols: "arraywire.token.x" });
    expect(client.connected).toBe(true);
    client.close();
    expect(client.connected).toBe(false);
    await expect(client.fetch("arange")).rejects.toMatchObject({ code: "E_CONNECTION_CLOSED" });
  });
});

describe("edge cases found in review", () => {
  it("rejects a connection attempt when the signal aborts during a stalled handshake", async () => {
    const server = new ArrayServer({ port: 0, log: () => {}, authenticate: () => new Promise(() => {}) });
    await server.listen();
    try {
      const controller = new AbortController();
      const pending = fetchArray(server.url, "a", { transport: "ws", signal: controller.signal }).catch(
        (e: unknown) => e,
      );
      setTimeout(() => controller.abort(new Error("gave up")), 100);
      const t0 = performance.now();
      const err = await pending;
      expect(err).toMatchObject({ message: "gave up" });
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      await server.close();
    }
  });

  it("throws a caller's bad request synchronously and registers nothing", async () => {
    const server = new ArrayServer({ port: 0, log: () => {} });
    await server.listen();
    const client = await ArrayClient.connect(server.url);
    try {
      expect(() => client.fetch("n".repeat(2000))).toThrow(RangeError);
      expect(client.streamCount).toBe(0);
    } finally {
      client.close();
      await server.close();
    }
  });

  it("accepts a Node Buffer as the target of a uint8 array (typed-array subclasses)", async () => {
    const server = new ArrayServer({ port: 0, log: () => {} });
    await server.listen();
    server.publish("arange", arange());
    try {
      const into = Buffer.alloc(300);
      const result = await fetchArray(server.url, "arange", { params: { length: 256, dtype: "uint8" }, into });
      expect(result.array.buffer).toBe(into.buffer);
      expect(into[255]).toBe(255);
    } finally {
      await server.close();
    }
  });

  it("does not count an HTTP client that left while authentication ran", async () => {
    const server = new ArrayServer({
      port: 0,
      log: () => {},
      maxConnectionsPerIp: 1,
      authenticate: () => new Promise((resolve) => setTimeout(() => resolve(true), 200)),
    });
    await server.listen();
    server.publish("arange", arange());
    try {
      const controller = new AbortController();
      const gone = fetchArray(server.url, "arange", {
        transport: "http",
        params: { length: 4 },
        signal: controller.signal,
      }).catch((e: unknown) => e);
      setTimeout(() => controller.abort(), 50);
      await gone;
      await new Promise((r) => setTimeout(r, 300));
      expect(server.stats().httpStreamCount).toBe(0);
      const ok = await fetchArray(server.url, "arange", { transport: "http", params: { length: 4 } });
      expect((ok.array as Float64Array)[3]).toBe(3);
    } finally {
      await server.close();
    }
  });

  it("answers new HTTP streams with 503 E_SHUTDOWN after close() on an attached server", async () => {
    const { createServer } = await import("node:http");
    const http = createServer((req, res) => {
      if (!arrays.handleRequest(req, res)) res.writeHead(404).end();
    });
    const arrays = new ArrayServer({ server: http, log: () => {} });
    arrays.publish("arange", arange());
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    const { port } = http.address() as import("node:net").AddressInfo;
    try {
      await arrays.close();
      const response = await fetch(
        `http://127.0.0.1:${port}/arraywire?name=arange&params=${encodeURIComponent('{"length":1}')}`,
      );
      expect(response.status).toBe(503);
      expect(decodeMessage(new Uint8Array(await response.arrayBuffer()))).toMatchObject({ code: "E_SHUTDOWN" });
    } finally {
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});
