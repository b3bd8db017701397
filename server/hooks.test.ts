/**
 * Code the server does not own (allowedOrigins, authenticate, log, array sources) is called in
 * one guarded place per hook: a throw becomes the documented refusal (403, 401, E_INTERNAL),
 * never an unhandled rejection, a hang, or a socket left pending.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { fetchArray } from "../client/index.ts";
import { ArrayServer, type ArrayServerOptions, arange } from "./index.ts";

/** Status of a refused upgrade (or 101 when it was accepted); 0 when nothing came within 3 s. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise<number>((resolve) => {
    const ws = new WebSocket(url, { headers });
    const timer = setTimeout(() => {
      ws.terminate();
      resolve(0);
    }, 3000);
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      clearTimeout(timer);
      resolve(101);
      ws.close();
    });
    ws.on("error", () => {});
  });
}

describe("user hooks that throw", () => {
  let server: ArrayServer | null = null;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeEach(() => {
    unhandled.length = 0;
    process.on("unhandledRejection", onUnhandled);
  });

  afterEach(async () => {
    await server?.close();
    server = null;
    // Rejections surface a tick or two after the test's last await.
    await new Promise((r) => setTimeout(r, 20));
    process.off("unhandledRejection", onUnhandled);
    expect(unhandled).toEqual([]);
  });

  async function start(options: ArrayServerOptions): Promise<ArrayServer> {
    server = new ArrayServer({ port: 0, ...options });
    await server.listen();
    server.publish("arange", arange());
    return server;
  }

  it("refuses with 403 on both transports when allowedOrigins throws, and keeps serving", async () => {
    const logs: string[] = [];
    const s = await start({
      log: (m) => logs.push(m),
      // Throws for "null" (new URL("null")); no Origin means a non-browser client.
      allowedOrigins: (origin) => origin === undefined || new URL(origin).host === "app.example",
    });
    expect(await upgradeStatus(s.url, { origin: "null" })).toBe(403);
    const http = await fetch(`${s.url.replace("ws:", "http:")}?name=arange&params={"length":1}`, {
      headers: { origin: "null" },
    });
    expect(http.status).toBe(403);
    expect(await upgradeStatus(s.url, { origin: "https://app.example" })).toBe(101);
    expect(logs.some((l) => l.includes("allowedOrigins threw"))).toBe(true);
    const ok = await fetchArray(s.url, "arange", { params: { length: 2 }, transport: "ws" });
    expect(Array.from(ok.array as Float64Array)).toEqual([0, 1]);
  });

  it("refuses with 401 when authenticate rejects, on both transports", async () => {
    const s = await start({ log: () => {}, authenticate: async () => Promise.reject(new Error("db down")) });
    expect(await upgradeStatus(s.url)).toBe(401);
    const http = await fetch(`${s.url.replace("ws:", "http:")}?name=arange&params={"length":1}`);
    expect(http.status).toBe(401);
  });

  it("still answers refusals and streams when the log hook itself throws", async () => {
    let calls = 0;
    const s = await start({
      allowedOrigins: ["https://app.example"],
      log: () => {
        calls++;
        throw new Error("log sink down");
      },
    });
    expect(await upgradeStatus(s.url, { origin: "https://evil.example" })).toBe(403);
    const http = await fetch(`${s.url.replace("ws:", "http:")}?name=arange&params={"length":1}`, {
      headers: { origin: "https://evil.example" },
    });
    expect(http.status).toBe(403);
    expect(calls).toBeGreaterThanOrEqual(2);
    const ok = await fetchArray(s.url, "arange", {
      params: { length: 2 },
      transport: "http",
      headers: { origin: "https://app.example" },
    });
    expect(Array.from(ok.array as Float64Array)).toEqual([0, 1]);
  });
});
