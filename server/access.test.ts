import type { IncomingMessage } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { fetchArray } from "../client/index.ts";
import { decodeMessage, encodeRequest } from "../shared/index.ts";
import { ArrayServer, type ArrayServerOptions, arange, isOriginAllowed, readToken } from "./index.ts";
import { RawClient } from "./test-helpers.ts";

/** Status of a refused upgrade (or 101 when it was accepted). */
function upgradeStatus(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}, protocols?: string[]) {
  return new Promise<number>((resolve) => {
    const ws = new WebSocket(url, protocols, options);
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      resolve(101);
      ws.close();
    });
    ws.on("error", () => {});
  });
}

function request(streamId: number, length: number, creditByteLength = 0) {
  return encodeRequest({
    streamId,
    name: "arange",
    params: { length },
    chunkByteLength: 64 * 1024,
    range: null,
    resumeByteOffset: 0,
    creditByteLength,
    expectedGeneration: null,
    checksum: "none",
  });
}

describe("access control and limits", () => {
  let server: ArrayServer | null = null;
  const logs: string[] = [];

  async function start(options: ArrayServerOptions = {}): Promise<ArrayServer> {
    logs.length = 0;
    server = new ArrayServer({ port: 0, log: (m) => logs.push(m), ...options });
    await server.listen();
    server.publish("arange", arange());
    return server;
  }

  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it("refuses near-miss, null and missing origins against an allowlist with 403", async () => {
    const s = await start({ allowedOrigins: ["https://app.example"] });
    expect(await upgradeStatus(s.url, { origin: "https://app.example" })).toBe(101);
    for (const origin of ["https://app.example.evil.com", "https://evilapp.example", "http://app.example", "null"]) {
      expect(await upgradeStatus(s.url, { origin }), origin).toBe(403);
    }
    expect(await upgradeStatus(s.url)).toBe(403); // missing Origin
    expect(logs.filter((l) => l.includes("E_FORBIDDEN_ORIGIN"))).toHaveLength(5);
  });

  it("allows same-origin browsers and non-browser clients by default, and refuses cross-site pages", async () => {
    const s = await start();
    const host = new URL(s.url).host;
    expect(await upgradeStatus(s.url)).toBe(101);
    expect(await upgradeStatus(s.url, { origin: `http://${host}` })).toBe(101);
    expect(await upgradeStatus(s.url, { origin: "https://evil.example" })).toBe(403);
    expect(await upgradeStatus(s.url, { origin: "null" })).toBe(403);
    const http = await fetch(`${s.url.replace("ws:", "http:")}?name=arange&params={"length":1}`, {
      headers: { origin: "https://evil.example" },
    });
    expect(http.status).toBe(403);
  });

  it("runs the authentication hook before the 101 and answers 401 without logging the token", async () => {
    const secret = "s3cr3t-token-value";
    const s = await start({ authenticate: (req) => readToken(req) === secret });
    expect(await upgradeStatus(s.url)).toBe(401);
    expect(await upgradeStatus(s.url, { headers: { authorization: "Bearer wrong" } })).toBe(401);
    expect(await upgradeStatus(s.url, { headers: { authorization: `Bearer ${secret}` } })).toBe(101);
    expect(await upgradeStatus(s.url, { headers: { cookie: `theme=dark; arraywire_token=${secret}` } })).toBe(101);
    expect(await upgradeStatus(s.url, {}, ["arraywire", `arraywire.token.${secret}`])).toBe(101);
    const result = await fetchArray(s.url, "arange", {
      params: { length: 3 },
      transport: "ws",
      protocols: ["arraywire", `arraywire.token.${secret}`],
    });
    expect(Array.from(result.array as Float64Array)).toEqual([0, 1, 2]);
    expect(logs.some((l) => l.includes("E_UNAUTHORIZED"))).toBe(true);
    expect(logs.join("\n")).not.toContain(secret);
    expect(logs.join("\n")).not.toContain("wrong");
  });

  it("answers the subprotocol 'arraywire', never the one carrying the token", async () => {
    const s = await start({ authenticate: (req) => readToken(req) === "t" });
    const raw = await RawClient.connect(s.url, { headers: {} }).catch(() => null);
    expect(raw).toBeNull();
    const ws = new WebSocket(s.url, ["arraywire.token.t", "arraywire"]);
    await new Promise((resolve) => ws.on("open", resolve));
    expect(ws.protocol).toBe("arraywire");
    ws.close();
  });

  it("treats a throwing authentication hook as a refusal", async () => {
    const s = await start({
      authenticate: () => {
        throw new Error("db down, token=abc");
      },
    });
    expect(await upgradeStatus(s.url)).toBe(401);
    expect(logs.join("\n")).not.toContain("token=abc");
  });

  it("closes connections over maxConnectionsPerIp with 1013 and keeps the others", async () => {
    const s = await start({ maxConnectionsPerIp: 2 });
    const a = await RawClient.connect(s.url);
    const b = await RawClient.connect(s.url);
    const c = await RawClient.connect(s.url);
    expect(await c.closed).toBe(1013);
    a.send(request(1, 4));
    expect((await a.nextMessage()).type).toBe("ARRAY_HEADER");
    a.close();
    await a.closed;
    await new Promise((r) => setTimeout(r, 20));
    const d = await RawClient.connect(s.url);
    d.send(request(1, 4));
    expect((await d.nextMessage()).type).toBe("ARRAY_HEADER");
    b.close();
    d.close();
  });

  it("closes a client whose control message exceeds maxControlByteLength with 1009, others unaffected", async () => {
    const s = await start({ maxControlByteLength: 4096 });
    const big = await RawClient.connect(s.url);
    const other = await RawClient.connect(s.url);
    big.send(new Uint8Array(5000));
    expect(await big.closed).toBe(1009);
    other.send(request(1, 4));
    expect((await other.nextMessage()).type).toBe("ARRAY_HEADER");
    other.close();
  });

  it("refuses more than maxStreamsPerConnection streams with E_TOO_MANY_STREAMS", async () => {
    const s = await start({ maxStreamsPerConnection: 2 });
    const raw = await RawClient.connect(s.url);
    raw.send(request(1, 1_000_000, 64 * 1024));
    raw.send(request(2, 1_000_000, 64 * 1024));
    raw.send(request(3, 10));
    const headers: number[] = [];
    const errors: { streamId: number; code: string }[] = [];
    while (headers.length < 2 || errors.length < 1) {
      const m = await raw.nextMessage();
      if (m.type === "DATA") await raw.next();
      if (m.type === "ARRAY_HEADER") headers.push(m.streamId);
      if (m.type === "ERROR") errors.push({ streamId: m.streamId, code: m.code });
    }
    expect(headers.sort()).toEqual([1, 2]);
    expect(errors).toEqual([{ streamId: 3, code: "E_TOO_MANY_STREAMS" }]);
    raw.close();
  });

  it("drops a stream that waits for credit longer than stallTimeoutMs with E_TIMEOUT", async () => {
    const s = await start({ stallTimeoutMs: 200 });
    const raw = await RawClient.connect(s.url);
    raw.send(request(1, 1_000_000, 64 * 1024)); // one chunk of credit, then silence
    const types: string[] = [];
    for (;;) {
      const m = await raw.nextMessage(3000);
      types.push(m.type);
      if (m.type === "DATA") await raw.next();
      if (m.type === "ERROR") {
        expect(m).toMatchObject({ streamId: 1, code: "E_TIMEOUT" });
        break;
      }
    }
    expect(types).toEqual(["ARRAY_HEADER", "DATA", "ERROR"]);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.stats().streamCount).toBe(0);
    raw.send(request(2, 4));
    expect((await raw.nextMessage()).type).toBe("ARRAY_HEADER");
    raw.close();
  });

  it("terminates a peer that stops answering pings within two heartbeat intervals", async () => {
    const s = await start({ heartbeatIntervalMs: 100 });
    const silent = new WebSocket(s.url, { autoPong: false });
    silent.on("error", () => {});
    const lively = new WebSocket(s.url);
    await Promise.all([silent, lively].map((ws) => new Promise((r) => ws.on("open", r))));
    const opened = performance.now();
    const code = await new Promise<number>((resolve) => silent.on("close", (c) => resolve(c)));
    expect(code).toBe(1006); // terminated: no close frame
    expect(performance.now() - opened).toBeLessThan(2 * 100 + 100);
    expect(lively.readyState).toBe(WebSocket.OPEN);
    lively.close();
  });

  it("keeps serving healthy clients while stalled ones fill the in-flight budget", async () => {
    const s = await start({ maxBytesInFlight: 2 * 1024 * 1024, stallTimeoutMs: 20_000 });
    const stalled: RawClient[] = [];
    for (let i = 0; i < 4; i++) {
      const raw = await RawClient.connect(s.url);
      raw.ws.pause(); // stops reading: its queue never drains
      raw.send(request(1, 5_000_000));
      stalled.push(raw);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(s.stats().queuedByteLength).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    const t0 = performance.now();
    const result = await fetchArray(s.url, "arange", {
      params: { length: 2_000_000 },
      transport: "ws",
      signal: AbortSignal.timeout(10_000),
    });
    expect((result.array as Float64Array)[1_999_999]).toBe(1_999_999);
    expect(performance.now() - t0).toBeLessThan(5000); // not the 20 s stall timeout
    for (const raw of stalled) raw.ws.terminate();
  });

  it("cuts an HTTP stream whose reader stops reading after stallTimeoutMs", async () => {
    const s = await start({ stallTimeoutMs: 300 });
    const { get } = await import("node:http");
    const url = `${s.url.replace("ws:", "http:")}?name=arange&params=${encodeURIComponent('{"length":30000000}')}`;
    const request = get(url, (res) => {
      res.pause(); // never reads the body
      res.on("error", () => {});
    });
    request.on("error", () => {});
    await new Promise((r) => setTimeout(r, 200));
    expect(s.stats().httpStreamCount).toBe(1);
    for (let i = 0; i < 50 && s.stats().httpStreamCount > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(s.stats().httpStreamCount).toBe(0);
    request.destroy();
    expect(logs.some((l) => l.includes("did not drain for 300 ms"))).toBe(true);
  });

  it("counts HTTP streams against maxConnectionsPerIp (429 E_TOO_MANY_STREAMS)", async () => {
    const s = await start({ maxConnectionsPerIp: 1 });
    const raw = await RawClient.connect(s.url);
    const response = await fetch(
      `${s.url.replace("ws:", "http:")}?name=arange&params=${encodeURIComponent('{"length":1}')}`,
    );
    expect(response.status).toBe(429);
    expect(decodeMessage(new Uint8Array(await response.arrayBuffer()))).toMatchObject({ code: "E_TOO_MANY_STREAMS" });
    raw.close();
    await raw.closed;
    await new Promise((r) => setTimeout(r, 20));
    const ok = await fetchArray(s.url, "arange", { params: { length: 2 }, transport: "http" });
    expect(Array.from(ok.array as Float64Array)).toEqual([0, 1]);
  });

  it("answers only to the hosts in allowedHosts besides localhost and IP literals, with a message naming the option", async () => {
    const s = await start({ allowedHosts: ["arrays.example"] });
    const { port } = new URL(s.url);
    const { get } = await import("node:http");
    const status = (host: string) =>
      new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        get(
          { host: "127.0.0.1", port, path: "/arraywire?name=arange&params=%7B%22length%22%3A1%7D", headers: { host } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          },
        ).on("error", reject);
      });
    expect((await status(`arrays.example:${port}`)).status).toBe(200);
    expect((await status(`127.0.0.1:${port}`)).status).toBe(200);
    const refused = await status(`other.example:${port}`);
    expect(refused.status).toBe(403);
    expect(decodeMessage(new Uint8Array(refused.body))).toMatchObject({
      code: "E_FORBIDDEN_HOST",
      message: `Host other.example:${port} is not allowed: add it to allowedHosts (this check guards against DNS rebinding)`,
    });
    expect(() => new ArrayServer({ allowedHosts: "all" as unknown as true })).toThrow(TypeError);
  });

  it("reads a cookie token that is not valid percent-encoding as absent instead of throwing", () => {
    const req = (cookie: string) => ({ headers: { cookie } }) as unknown as IncomingMessage;
    expect(readToken(req("arraywire_token=%E0%A4%A"))).toBeUndefined();
    expect(readToken(req("arraywire_token=a%20b"))).toBe("a b");
  });

  it("checks origins exactly with isOriginAllowed", () => {
    const req = (origin?: string, host = "a.example:1") =>
      ({ headers: { origin, host } }) as unknown as IncomingMessage;
    expect(isOriginAllowed(req("https://a.example:1"))).toBe(true);
    expect(isOriginAllowed(req("https://a.example:1.evil.com"))).toBe(false);
    expect(isOriginAllowed(req(undefined))).toBe(true);
    expect(isOriginAllowed(req("https://x.example"), ["https://x.example"])).toBe(true);
    expect(isOriginAllowed(req("https://x.example/"), ["https://x.example"])).toBe(false);
    expect(isOriginAllowed(req(undefined), ["https://x.example"])).toBe(false);
    expect(isOriginAllowed(req("https://anything"), "*")).toBe(true);
  });
});
