/**
 * The Node HTTP opener over real sockets: what the transport gets from it (status, content type,
 * a reader that fills the windows it is given), its errors, and that fetchArray uses it in Node
 * (one connection per request, `Connection: close`, instead of node:http's keep-alive agent).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ArrayServer } from "../server/index.ts";
import { StreamError } from "../shared/index.ts";
import { fetchArray } from "./index.ts";
import { openWithNodeSocket } from "./node-raw-http.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  onServer?: (server: Server) => void,
): Promise<URL> {
  const server: Server = createServer(handler);
  onServer?.(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/arraywire`);
}

describe("openWithNodeSocket", () => {
  it("gives the status, the content type and the body, read into the given views", async () => {
    const body = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
    const url = await serve((_req, res) => {
      res.writeHead(502, { "Content-Type": "text/html", "Content-Length": body.byteLength });
      res.end(body);
    });
    const response = await openWithNodeSocket(url, { "X-Test": "1" }, new AbortController().signal);
    expect(response.status).toBe(502);
    expect(response.contentType).toBe("text/html");
    expect(response.reader.transfers).toBe(false);
    const target = new Uint8Array(body.byteLength + 10);
    let offset = 0;
    for (;;) {
      const filled = await response.reader.read(target.subarray(offset));
      if (filled.byteLength === 0) break;
      expect(filled.buffer).toBe(target.buffer); // in place, at the running offset
      expect(filled.byteOffset).toBe(offset);
      offset += filled.byteLength;
    }
    expect(offset).toBe(body.byteLength);
    expect(Buffer.compare(target.subarray(0, offset), body)).toBe(0);
    await expect(response.reader.read(new Uint8Array(0))).rejects.toThrow(RangeError);
  });

  it("fails a read with E_CONNECTION_CLOSED when the body is cut", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": 100_000 });
      res.write(new Uint8Array(1000), () => res.socket?.destroy());
    });
    const response = await openWithNodeSocket(url, undefined, new AbortController().signal);
    const target = new Uint8Array(100_000);
    let offset = 0;
    const error = await (async () => {
      try {
        for (;;) offset += (await response.reader.read(target.subarray(offset))).byteLength;
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(StreamError);
    expect(error).toMatchObject({ code: "E_CONNECTION_CLOSED" });
    expect(offset).toBe(1000); // the bytes before the cut were delivered
  });

  it("rejects when nothing listens", async () => {
    const url = await serve(() => {});
    for (const close of closers.splice(0)) await close();
    await expect(openWithNodeSocket(url, undefined, new AbortController().signal)).rejects.toMatchObject({
      code: "ECONNECT",
    });
  });
});

describe("fetchArray over HTTP in Node", () => {
  it("opens one connection per request and reads the array whole", async () => {
    const sockets = new Set<unknown>();
    const headers: (string | undefined)[] = [];
    let arrays: ArrayServer | null = null;
    const url = await serve(
      (req, res) => {
        sockets.add(req.socket);
        headers.push(req.headers.connection);
        if (!arrays?.handleRequest(req, res)) res.writeHead(404).end();
      },
      (http) => {
        arrays = new ArrayServer({ server: http, log: () => {} });
      },
    );
    const published = arrays as unknown as ArrayServer;
    closers.unshift(() => published.close());
    published.publish(
      "a",
      Float64Array.from({ length: 200_000 }, (_, i) => i * 0.5),
    );
    for (let i = 0; i < 2; i++) {
      const { array: got } = await fetchArray<Float64Array>(url, "a", {
        transport: "http",
        range: [1000, 150_000],
      });
      expect(got.length).toBe(149_000);
      expect([got[0], got[148_999]]).toEqual([500, 149_999 * 0.5]);
    }
    expect(headers).toEqual(["close", "close"]);
    expect(sockets.size).toBe(2);
  });
});
