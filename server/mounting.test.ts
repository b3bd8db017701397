/**
 * Where the endpoint is mounted (issue 11 item 6): `app.use("/data", arrays.middleware)` in a
 * connect-style router (Express, connect, Vite's middlewares) strips "/data" from `req.url` and
 * keeps it in `req.originalUrl`. The server matches its `path` against the whole path the client
 * asked for, as an upgrade (which no router sees) does, so both transports agree; a prefix
 * mount whose `path` leaves the prefix out is said once in the log. Also: what publish() says
 * about a plain array, and an HTTP/2 server (Vite's, with server.https) as `server`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createSecureServer, connect as http2Connect } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { fetchArray } from "../client/index.ts";
import { TLS_CERT, TLS_KEY } from "../client/test-fixtures/test-helpers.ts";
import { decodeMessage, HEADER_FIXED_BYTE_LENGTH, HTTP_CONTENT_TYPE, headerByteLength } from "../shared/index.ts";
import { ArrayServer } from "./index.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** The part of connect/Express this is about: `use(prefix, fn)` strips the prefix and keeps originalUrl. */
function miniConnect(): {
  use(prefix: string, fn: Handler): void;
  handle(req: IncomingMessage, res: ServerResponse): void;
} {
  const stack: { prefix: string; fn: Handler }[] = [];
  return {
    use(prefix, fn) {
      stack.push({ prefix, fn });
    },
    handle(req, res) {
      const r = req as IncomingMessage & { originalUrl?: string };
      r.originalUrl ??= r.url;
      const whole = r.originalUrl ?? "/";
      let i = 0;
      const next = () => {
        const layer = stack[i++];
        if (!layer) {
          res.writeHead(404, { "content-type": "text/html" }).end("<h1>Cannot GET</h1>");
          return;
        }
        const path = whole.split("?")[0] ?? "/";
        if (path !== layer.prefix && !path.startsWith(`${layer.prefix}/`) && layer.prefix !== "/") return next();
        r.url = layer.prefix === "/" ? whole : whole.slice(layer.prefix.length) || "/";
        if (!r.url.startsWith("/")) r.url = `/${r.url}`;
        layer.fn(req, res, next);
      };
      next();
    },
  };
}

const servers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of servers.splice(0)) await close();
});

async function mountedUnder(prefix: string, path: string, log: (m: string) => void = () => {}): Promise<string> {
  const http = createServer();
  const arrays = new ArrayServer({ server: http, path, log });
  arrays.publish(
    "x",
    Float64Array.from({ length: 1000 }, (_, i) => i * 2),
  );
  const app = miniConnect();
  app.use(prefix, arrays.middleware);
  http.on("request", (req, res) => app.handle(req, res));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  servers.push(async () => {
    await arrays.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

describe("the middleware under a prefix", () => {
  it.each(["http", "ws"] as const)(
    "serves path /data/arraywire over %s with app.use('/data', arrays.middleware)",
    async (transport) => {
      const origin = await mountedUnder("/data", "/data/arraywire");
      const { array } = await fetchArray(`${origin}/data/arraywire`, "x", {
        dtype: "float64",
        transport,
        range: [100, 110],
      });
      expect(Array.from(array)).toEqual([200, 202, 204, 206, 208, 210, 212, 214, 216, 218]);
    },
  );

  it("leaves the stripped path alone when path omits the prefix, and says so once in the log", async () => {
    const lines: string[] = [];
    const origin = await mountedUnder("/data", "/arraywire", (line) => lines.push(line));
    for (let i = 0; i < 2; i++) {
      const error = await fetchArray(`${origin}/data/arraywire`, "x", { transport: "http" }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "E_NOT_FOUND" });
    }
    expect(lines).toEqual([
      'the middleware is mounted under /data, so /data/arraywire is not the endpoint: path is the whole path the client uses (both transports), e.g. path: "/data/arraywire"',
    ]);
  });

  it("serves at the root of a mount: app.use('/arraywire', arrays.middleware)", async () => {
    const origin = await mountedUnder("/arraywire", "/arraywire");
    const { array } = await fetchArray(`${origin}/arraywire`, "x", {
      dtype: "float64",
      transport: "http",
      range: [1, 3],
    });
    expect(Array.from(array)).toEqual([2, 4]);
  });
});

describe("publish() with something that is not a typed array", () => {
  const server = new ArrayServer({ log: () => {} });
  it.each([
    [[1, 2, 3], "Array"],
    [new ArrayBuffer(8), "ArrayBuffer"],
    [new DataView(new ArrayBuffer(8)), "DataView"],
  ])("says what to wrap it in: %o", (value, got) => {
    expect(() => server.publish("t", value as unknown as Float64Array)).toThrow(
      new TypeError(
        `Invalid array for "t": expected a typed array (e.g. Float64Array.from(values)) or an ArraySource, got ${got}`,
      ),
    );
  });

  it.each([
    [null, "null"],
    [42, "number"],
    [{}, "an object without open()"],
    [new Map(), "Map"],
  ])("names what it got: %o", (value, got) => {
    expect(() => server.publish("t", value as unknown as Float64Array)).toThrow(
      new TypeError(`Invalid array for "t": expected a typed array or an ArraySource with open(), got ${got}`),
    );
    expect(server.names()).toEqual([]);
  });
});

describe("an HTTP/2 server (Vite's with server.https) as `server`", () => {
  it("checks the Host of an HTTP/2 request by :authority and streams through the compatibility API", async () => {
    const h2 = createSecureServer({ key: TLS_KEY, cert: TLS_CERT, allowHTTP1: true });
    // The type Vite hands plugins (http.Server | Http2SecureServer) is accepted without a cast.
    const arrays = new ArrayServer({ server: h2, log: () => {} });
    arrays.publish(
      "x",
      Float64Array.from({ length: 1000 }, (_, i) => i),
    );
    h2.on("request", (req, res) => {
      if (!arrays.handleRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse)) {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
    servers.push(async () => {
      await arrays.close();
      await new Promise((resolve) => h2.close(resolve));
    });
    const port = (h2.address() as AddressInfo).port;
    const session = http2Connect(`https://localhost:${port}`, { ca: TLS_CERT });
    try {
      const get = (path: string) =>
        new Promise<{ status: number; type: string; body: Buffer }>((resolve, reject) => {
          const stream = session.request({ ":path": path });
          const chunks: Buffer[] = [];
          let status = 0;
          let type = "";
          stream.on("response", (headers) => {
            status = Number(headers[":status"]);
            type = String(headers["content-type"] ?? "");
          });
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => resolve({ status, type, body: Buffer.concat(chunks) }));
          stream.on("error", reject);
          stream.end();
        });
      const probe = await get("/arraywire?probe=1");
      expect([probe.status, probe.type]).toEqual([200, HTTP_CONTENT_TYPE]);
      const stream = await get("/arraywire?name=x&start=10&end=20");
      expect(stream.status).toBe(200);
      const body = new Uint8Array(stream.body);
      const headerLength = headerByteLength(body.subarray(0, HEADER_FIXED_BYTE_LENGTH), 65536);
      expect(decodeMessage(body.subarray(0, headerLength))).toMatchObject({
        type: "ARRAY_HEADER",
        rangeByteStart: 80,
        rangeByteEnd: 160,
      });
      const values = new Float64Array(body.slice(headerLength, headerLength + 80).buffer);
      expect(Array.from(values)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      expect(body.byteLength).toBe(headerLength + 80 + 32);
    } finally {
      session.close();
    }
  });
});
