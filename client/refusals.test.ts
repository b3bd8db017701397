/**
 * Errors that say why (issue 11 item 4), in Node, on both transports: each access refusal
 * reaches the caller with its own code and a message that says what to change, over HTTP from
 * the ERROR body and over a WebSocket from the probe that follows a refused upgrade; a WebSocket
 * that nobody answers gives up after connectTimeoutMs and probes too; refusals are never retried
 * by resume; a probe that fails itself leaves E_CONNECTION_CLOSED with the likely causes. The
 * same cases run in Chromium in e2e/refusals.spec.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ArrayServer, type ArrayServerOptions, readToken } from "../server/index.ts";
import { ArrayClient, fetchArray, StreamError } from "./index.ts";

const TRANSPORTS = ["http", "ws"] as const;

interface Harness {
  origin: string;
  /** Requests the http server saw: "GET /arraywire?..." or "UPGRADE /arraywire". */
  seen: string[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * An http server with an ArrayServer attached at /arraywire (publishing "x"), and `other` for
 * requests nobody else takes (another app: a 404 page by default).
 */
async function harness(
  options: ArrayServerOptions = {},
  other?: {
    request?: (req: IncomingMessage, res: ServerResponse) => void;
    upgrade?: (socket: Duplex) => void;
    /** Destroy every upgrade before the ArrayServer sees it (a proxy without WebSocket support). */
    dropUpgrades?: boolean;
  },
): Promise<Harness> {
  const seen: string[] = [];
  const http: Server = createServer();
  http.on("request", (req) => seen.push(`GET ${req.url}`));
  const upgrades = new Set<Duplex>();
  http.on("upgrade", (req, socket) => {
    seen.push(`UPGRADE ${req.url}`);
    upgrades.add(socket); // the http server no longer tracks it: cut at cleanup
    if (other?.dropUpgrades) socket.destroy();
    else if (other?.upgrade && !req.url?.startsWith("/arraywire")) other.upgrade(socket);
  });
  const arrays = new ArrayServer({ server: http, log: () => {}, ...options });
  arrays.publish(
    "x",
    Float64Array.from({ length: 100 }, (_, i) => i),
  );
  http.on("request", (req, res) => {
    if (arrays.handleRequest(req, res)) return;
    if (other?.request) other.request(req, res);
    else res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not found</h1>");
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    await arrays.close();
    for (const socket of upgrades) socket.destroy();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  return { origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, seen };
}

async function failure(promise: Promise<unknown>): Promise<StreamError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StreamError);
  return error as StreamError;
}

describe.each(TRANSPORTS)("refusals over %s", (transport) => {
  it("E_UNAUTHORIZED says how to send a token, and resume does not retry it", async () => {
    const h = await harness({ authenticate: (req) => readToken(req) === "s3cret" });
    const e = await failure(fetchArray(`${h.origin}/arraywire`, "x", { transport, resume: { initialDelayMs: 1 } }));
    expect(e.code).toBe("E_UNAUTHORIZED");
    expect(e.message).toBe(
      `Authentication failed at ${h.origin}/arraywire: the server's authenticate hook refused this request; send a token (protocols: ["arraywire.token.<token>"] in browsers (the ws transport), headers: { Authorization: "Bearer <token>" } in Node, or the arraywire_token cookie)`,
    );
    // One attempt: a GET, or an upgrade and its probe. resume's backoff (1 ms) would have shown more.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.seen).toEqual(
      transport === "http"
        ? [expect.stringMatching(/^GET \/arraywire\?name=x&/)]
        : ["UPGRADE /arraywire", "GET /arraywire?probe=1"],
    );
    // With the token it works, on the same transport.
    const { array } = await fetchArray(`${h.origin}/arraywire`, "x", {
      transport,
      dtype: "float64",
      headers: { authorization: "Bearer s3cret" },
      range: [40, 42],
    });
    expect(Array.from(array)).toEqual([40, 41]);
  });

  it("E_FORBIDDEN_ORIGIN names the origin, the server and the fix", async () => {
    const h = await harness({ allowedOrigins: ["http://app.example"] });
    const e = await failure(
      fetchArray(`${h.origin}/arraywire`, "x", { transport, headers: { origin: "http://localhost:5173" } }),
    );
    expect(e.code).toBe("E_FORBIDDEN_ORIGIN");
    expect(e.message).toBe(
      `Origin http://localhost:5173 is not allowed by the server at ${h.origin}: add it to allowedOrigins`,
    );
    expect((e.cause as StreamError).message).toBe(
      "Origin http://localhost:5173 is not allowed: add it to allowedOrigins",
    );
  });

  it("E_FORBIDDEN_HOST names the Host and allowedHosts", async () => {
    const h = await harness();
    const e = await failure(
      fetchArray(`${h.origin}/arraywire`, "x", { transport, headers: { host: "rebind.example:8080" } }),
    );
    expect(e.code).toBe("E_FORBIDDEN_HOST");
    expect(e.message).toBe(
      `Host rebind.example:8080 is not allowed by the server at ${h.origin}: add it to allowedHosts (a guard against DNS rebinding; localhost and IP addresses always pass)`,
    );
  });

  it("E_NOT_FOUND when another app answers the path (a 404 page)", async () => {
    const h = await harness();
    // Over ws nobody answers the upgrade (an attached ArrayServer leaves other paths alone), so
    // the client gives up after connectTimeoutMs and probes.
    const e = await failure(
      fetchArray(`${h.origin}/arraywires`, "x", { transport, resume: true, connectTimeoutMs: 500 }),
    );
    expect(e.code).toBe("E_NOT_FOUND");
    expect(e.message).toBe(
      `No arraywire endpoint at /arraywires on ${h.origin} (HTTP 404 with content-type "text/html": another app answers there): check the path, or mount arrays.middleware (or handleRequest) there, or add the arraywire/vite plugin`,
    );
    expect(e.message).not.toContain("is the middleware mounted");
  });

  it("E_NOT_FOUND from a server that owns its port, with the path it serves", async () => {
    const arrays = new ArrayServer({ log: () => {} });
    await arrays.listen();
    cleanups.push(() => arrays.close());
    const origin = new URL(arrays.url.replace("ws:", "http:")).origin;
    const e = await failure(fetchArray(`${origin}/data`, "x", { transport }));
    expect(e.code).toBe("E_NOT_FOUND");
    expect(e.message).toBe(
      `No arraywire endpoint at /data on ${origin}: check the path, or mount arrays.middleware (or handleRequest) there; the server says: Nothing is served here: arraywire streams are at /arraywire (WebSocket, or GET /arraywire?name=...)`,
    );
  });

  it("a server that is not running: E_CONNECTION_CLOSED with the likely causes (retryable)", async () => {
    const h = await harness();
    await cleanups.pop()?.();
    const e = await failure(fetchArray(`${h.origin}/arraywire`, "x", { transport }));
    expect(e.code).toBe("E_CONNECTION_CLOSED");
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(e.message).toContain(`Likely causes: the server is not running or not reachable at ${h.origin}`);
  });
});

describe("a WebSocket that does not open", () => {
  it("gives up after connectTimeoutMs on a path nobody answers, and the probe finds the app's page", async () => {
    // A dev server whose upgrade handler ignores other paths, with an SPA fallback page.
    const h = await harness(
      {},
      {
        upgrade: () => {}, // never answered: a browser would wait 240 s
        request: (_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html>"),
      },
    );
    const started = performance.now();
    const e = await failure(ArrayClient.connect(`${h.origin}/arraywire-typo`, { connectTimeoutMs: 300 }));
    const elapsed = performance.now() - started;
    expect(e.code).toBe("E_NOT_FOUND");
    expect(e.message).toContain(`No arraywire endpoint at /arraywire-typo on ${h.origin} (HTTP 200`);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(5000);
    expect(h.seen).toEqual(["UPGRADE /arraywire-typo", "GET /arraywire-typo?probe=1"]);
  });

  it("keeps E_TIMEOUT when the probe hangs too, bounded by connectTimeoutMs", async () => {
    const h = await harness({}, { upgrade: () => {}, request: () => {} });
    const started = performance.now();
    const e = await failure(ArrayClient.connect(`${h.origin}/nobody`, { connectTimeoutMs: 200 }));
    expect(e.code).toBe("E_TIMEOUT");
    expect(e.message).toMatch(/did not open within 200 ms \(connectTimeoutMs\); a probe of .* failed too/);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("says the upgrade itself failed when the HTTP endpoint accepts the client (a proxy without WebSockets)", async () => {
    const h = await harness({}, { dropUpgrades: true });
    const e = await failure(fetchArray(`${h.origin}/arraywire`, "x", { transport: "ws" }));
    expect(e.code).toBe("E_CONNECTION_CLOSED");
    expect(e.message).toContain(
      `the HTTP endpoint at ${h.origin}/arraywire accepts this client, so the WebSocket upgrade itself was refused or dropped`,
    );
  });

  it("times out by default after 10 s (checked on the options), and 0 turns the timeout off", async () => {
    const { resolveConnectOptions } = await import("./resolve-options.ts");
    expect(resolveConnectOptions({}, "arraywire").connectTimeoutMs).toBe(10_000);
    expect(resolveConnectOptions({ connectTimeoutMs: 0 }, "arraywire").connectTimeoutMs).toBe(0);
    expect(() => resolveConnectOptions({ connectTimeoutMs: -1 }, "arraywire")).toThrow(
      new RangeError("Invalid connectTimeoutMs: expected an integer in 0..2147483647, got -1"),
    );
    expect(() => resolveConnectOptions({ connectTimeoutMs: "10" as never }, "arraywire")).toThrow(TypeError);
    expect(() => resolveConnectOptions({ credentials: "all" as never }, "arraywire")).toThrow(
      new TypeError('Invalid credentials: expected "omit", "same-origin" or "include", got "all"'),
    );
  });

  it("rejects with the signal's reason when aborted during the probe", async () => {
    const h = await harness({}, { upgrade: () => {}, request: () => {} });
    const controller = new AbortController();
    const reason = new Error("stop");
    setTimeout(() => controller.abort(reason), 400);
    await expect(
      ArrayClient.connect(`${h.origin}/nobody`, { connectTimeoutMs: 200, signal: controller.signal }),
    ).rejects.toBe(reason);
  });
});

describe("HTTP answers that are not arraywire's", () => {
  it("a 431 says the headers are too large, without the 'is the middleware mounted' hint", async () => {
    const h = await harness();
    const e = await failure(
      fetchArray(`${h.origin}/arraywire`, "x", { transport: "http", params: { pad: "x".repeat(20_000) } }),
    );
    expect(e.code).toBe("E_HTTP_STATUS");
    expect(e.message).toMatch(/^HTTP 431 .*the request's headers are too large for the server/);
    expect(e.message).not.toContain("mounted");
  });

  it("a 403 from the host app (not arraywire's) says something in front refused", async () => {
    const h = await harness(
      {},
      { request: (_req, res) => res.writeHead(403, { "content-type": "text/plain" }).end("Blocked request.") },
    );
    const e = await failure(fetchArray(`${h.origin}/elsewhere`, "x", { transport: "http" }));
    expect(e.code).toBe("E_HTTP_STATUS");
    expect(e.message).toContain("something in front of the arraywire endpoint refused the request");
  });
});
