/**
 * CORS on the HTTP transport (issue 11 item 2), at the header level: exactly the page's origin for
 * an admitted one (with credentials), `*` without credentials for allowedOrigins "*", readable
 * refusals without credentials, `Vary: Origin` everywhere, and preflights answered for admitted
 * origins only. Chromium's view of the same rules is in e2e/cross-origin.spec.ts.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { decodeMessage, HTTP_CONTENT_TYPE } from "../shared/index.ts";
import { ArrayServer } from "./index.ts";
import type { ArrayServerOptions } from "./options.ts";

const PAGE = "http://localhost:5173";
let server: ArrayServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: ArrayServerOptions = {}): Promise<number> {
  server = new ArrayServer({ log: () => {}, ...options });
  server.publish(
    "x",
    Float64Array.from({ length: 100 }, (_, i) => i),
  );
  return (await server.listen()).port;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(port: number, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

function errorCode(answer: Answer): string {
  const m = decodeMessage(new Uint8Array(answer.body));
  return m.type === "ERROR" ? m.code : m.type;
}

describe("CORS on a simple GET", () => {
  it("answers an origin in the list with exactly that origin, credentials, exposed headers and Vary", async () => {
    const port = await start({ allowedOrigins: [PAGE, "http://other.example"] });
    const a = await get(port, "/arraywire?name=x&start=10&end=20", { origin: PAGE });
    expect(a.status).toBe(200);
    expect(a.headers["access-control-allow-origin"]).toBe(PAGE);
    expect(a.headers["access-control-allow-credentials"]).toBe("true");
    expect(a.headers["access-control-expose-headers"]).toBe("Content-Length, Content-Type");
    expect(a.headers.vary).toBe("Origin");
    expect(a.headers["content-type"]).toBe(HTTP_CONTENT_TYPE);
    // The stream itself is untouched: header + 80 bytes + END.
    expect(a.body.byteLength).toBe(Number(a.headers["content-length"]));
  });

  it("gives a refused origin a readable 403 without credentials, and never another origin's name", async () => {
    const port = await start({ allowedOrigins: [PAGE] });
    for (const origin of ["http://localhost:5174", `${PAGE}.evil.com`, "null"]) {
      const a = await get(port, "/arraywire?name=x", { origin });
      expect(a.status, origin).toBe(403);
      expect(errorCode(a)).toBe("E_FORBIDDEN_ORIGIN");
      expect(a.headers["access-control-allow-origin"]).toBe(origin);
      expect(a.headers["access-control-allow-credentials"]).toBeUndefined();
      expect(a.headers["access-control-expose-headers"]).toBeUndefined();
      expect(a.headers.vary).toBe("Origin");
    }
  });

  it('answers "*" for allowedOrigins "*", never with credentials', async () => {
    const port = await start({ allowedOrigins: "*" });
    const a = await get(port, "/arraywire?name=x&start=0&end=1", { origin: "http://anywhere.example" });
    expect(a.status).toBe(200);
    expect(a.headers["access-control-allow-origin"]).toBe("*");
    expect(a.headers["access-control-allow-credentials"]).toBeUndefined();
  });

  it("sends no Access-Control headers to a request without an Origin (same-origin GET, Node), but still Vary", async () => {
    const port = await start({ allowedOrigins: [PAGE] });
    // A list refuses a request without Origin; the default admits it.
    const refused = await get(port, "/arraywire?name=x");
    expect(errorCode(refused)).toBe("E_FORBIDDEN_ORIGIN");
    expect(refused.headers["access-control-allow-origin"]).toBeUndefined();
    await server?.close();
    const port2 = await start();
    const a = await get(port2, "/arraywire?name=x&start=0&end=1");
    expect(a.status).toBe(200);
    expect(a.headers["access-control-allow-origin"]).toBeUndefined();
    expect(a.headers.vary).toBe("Origin");
  });

  it("keeps credentials on a 401 for an admitted origin (a cookie may fix it) and on its stream errors", async () => {
    const port = await start({
      allowedOrigins: [PAGE],
      authenticate: (req) => req.headers.authorization === "Bearer t",
    });
    const refused = await get(port, "/arraywire?name=x", { origin: PAGE });
    expect(refused.status).toBe(401);
    expect(errorCode(refused)).toBe("E_UNAUTHORIZED");
    expect(refused.headers["access-control-allow-origin"]).toBe(PAGE);
    expect(refused.headers["access-control-allow-credentials"]).toBe("true");
    const unknown = await get(port, "/arraywire?name=nope", { origin: PAGE, authorization: "Bearer t" });
    expect(errorCode(unknown)).toBe("E_UNKNOWN_NAME");
    expect(unknown.headers["access-control-allow-origin"]).toBe(PAGE);
  });

  it("lets a page read a Host refusal, a 404 of an owned server and the probe", async () => {
    const port = await start({ allowedOrigins: [PAGE] });
    const host = await get(port, "/arraywire?probe=1", { origin: PAGE, host: "rebind.example" });
    expect([host.status, errorCode(host)]).toEqual([403, "E_FORBIDDEN_HOST"]);
    expect(host.headers["access-control-allow-origin"]).toBe(PAGE);
    expect(host.headers["access-control-allow-credentials"]).toBeUndefined();
    const notFound = await get(port, "/arraywires?probe=1", { origin: PAGE });
    expect([notFound.status, errorCode(notFound)]).toEqual([404, "E_NOT_FOUND"]);
    expect(notFound.headers["access-control-allow-origin"]).toBe(PAGE);
    expect(notFound.headers["access-control-allow-credentials"]).toBeUndefined();
    const probe = await get(port, "/arraywire?probe=1", { origin: PAGE });
    expect(probe.status).toBe(200);
    expect(probe.headers["content-type"]).toBe(HTTP_CONTENT_TYPE);
    expect(probe.body.byteLength).toBe(0);
    expect(probe.headers["access-control-allow-origin"]).toBe(PAGE);
  });

  it("adds Origin to a Vary the host app set, once", async () => {
    const { createServer } = await import("node:http");
    const http = createServer();
    server = new ArrayServer({ server: http, allowedOrigins: [PAGE], log: () => {} });
    server.publish("x", new Float64Array(4));
    http.on("request", (req, res) => {
      res.setHeader("vary", "Accept-Encoding, origin");
      if (!server?.handleRequest(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const port = (http.address() as { port: number }).port;
    try {
      const a = await get(port, "/arraywire?name=x", { origin: PAGE });
      expect(a.headers.vary).toBe("Accept-Encoding, origin");
    } finally {
      await server.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});

describe("CORS preflight", () => {
  const preflight = (port: number, headers: Record<string, string>) =>
    get(port, "/arraywire?name=x", { "access-control-request-method": "GET", ...headers }, "OPTIONS");

  it("answers 204 for an admitted origin with GET, the asked headers and a max age", async () => {
    const port = await start({ allowedOrigins: [PAGE] });
    const a = await preflight(port, { origin: PAGE, "access-control-request-headers": "authorization, x-api-key" });
    expect(a.status).toBe(204);
    expect(a.headers).toMatchObject({
      "access-control-allow-origin": PAGE,
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET",
      "access-control-allow-headers": "authorization, x-api-key",
      "access-control-max-age": "600",
      vary: "Origin, Access-Control-Request-Headers",
    });
    expect(a.body.byteLength).toBe(0);
  });

  it("allows only Authorization when the asked list is not a list of header names, and answers Private Network Access", async () => {
    const port = await start({ allowedOrigins: [PAGE] });
    const a = await preflight(port, {
      origin: PAGE,
      "access-control-request-headers": "authorization; <script>",
      "access-control-request-private-network": "true",
    });
    expect(a.status).toBe(204);
    expect(a.headers["access-control-allow-headers"]).toBe("Authorization");
    expect(a.headers["access-control-allow-private-network"]).toBe("true");
  });

  it("refuses a preflight from another origin, or with a bad Host, with 403 and no CORS headers", async () => {
    const port = await start({ allowedOrigins: [PAGE] });
    const origin = await preflight(port, { origin: "http://localhost:5174" });
    expect([origin.status, errorCode(origin)]).toEqual([403, "E_FORBIDDEN_ORIGIN"]);
    expect(origin.headers["access-control-allow-origin"]).toBeUndefined();
    expect(origin.headers["access-control-allow-methods"]).toBeUndefined();
    const host = await preflight(port, { origin: PAGE, host: "rebind.example" });
    expect([host.status, errorCode(host)]).toEqual([403, "E_FORBIDDEN_HOST"]);
    expect(host.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("does not run authenticate for a preflight (it carries no credentials)", async () => {
    let calls = 0;
    const port = await start({
      allowedOrigins: [PAGE],
      authenticate: () => {
        calls++;
        return false;
      },
    });
    expect((await preflight(port, { origin: PAGE })).status).toBe(204);
    expect(calls).toBe(0);
    // An OPTIONS that is not a preflight is still 405 (after the access checks).
    const plain = await get(port, "/arraywire?name=x", { origin: PAGE, authorization: "x" }, "OPTIONS");
    expect(plain.status).toBe(401);
    expect(calls).toBe(1);
  });
});
