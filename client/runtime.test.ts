/**
 * The client picks its paths by capability, never by `document`: a DOM shim in Node (a fake
 * `document` and `window`, as jsdom-style test setups install) changes nothing, the WebSocket is
 * the caller's, else a usable global one, else `ws` in Node, and HTTP goes over the raw socket
 * reader in Node (never fetch). The shim is installed before the client is first imported, as a
 * test setup would.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ArrayServer } from "../server/index.ts";

type Client = typeof import("./index.ts");
let client: Client;
let http: Server;
let arrays: ArrayServer;
let url = "";
const seen: { kind: "get" | "upgrade"; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  vi.stubGlobal("document", { createElement: () => ({}), documentElement: {} });
  vi.stubGlobal("window", globalThis);
  client = await import("./index.ts");
  http = createServer((req, res) => {
    seen.push({ kind: "get", headers: req.headers });
    if (!arrays.handleRequest(req, res)) res.writeHead(404).end();
  });
  http.on("upgrade", (req) => seen.push({ kind: "upgrade", headers: req.headers }));
  arrays = new ArrayServer({ server: http, log: () => {} });
  arrays.publish(
    "a",
    Float64Array.from({ length: 1000 }, (_, i) => i),
  );
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  url = `ws://127.0.0.1:${(http.address() as { port: number }).port}/arraywire`;
});

afterAll(async () => {
  vi.unstubAllGlobals();
  await arrays.close();
  http.closeAllConnections();
  await new Promise<void>((r) => http.close(() => r()));
});

describe("with a DOM shim in Node", () => {
  it("auto picks http over the raw socket reader (the Node default), though document and BYOB readers exist", async () => {
    expect(typeof ReadableStreamBYOBReader).toBe("function");
    expect(client.defaultTransport()).toBe("http");
    seen.length = 0;
    const r = await client.fetchArray<Float64Array>(url, "a");
    expect(r.array[999]).toBe(999);
    expect(seen.map((s) => s.kind)).toEqual(["get"]);
    // The socket reader's request: Connection: close, and none of fetch's (undici's) metadata.
    expect(seen[0]?.headers).toMatchObject({ connection: "close" });
    expect(seen[0]?.headers["sec-fetch-mode"]).toBeUndefined();
  });

  it("the http transport uses the raw socket reader, not fetch, with the caller's headers", async () => {
    seen.length = 0;
    const r = await client.fetchArray<Float64Array>(url, "a", { transport: "http", headers: { "x-probe": "3" } });
    expect(r.array[999]).toBe(999);
    expect(seen).toMatchObject([{ kind: "get", headers: { connection: "close", "x-probe": "3" } }]);
    expect(seen[0]?.headers["sec-fetch-mode"]).toBeUndefined();
  });

  it("the ws transport still uses the ws package (headers reach the upgrade)", async () => {
    seen.length = 0;
    await client.fetchArray(url, "a", { transport: "ws", headers: { "x-probe": "1" } });
    expect(seen).toMatchObject([{ kind: "upgrade", headers: { "x-probe": "1" } }]);
  });
});

describe("choosing the WebSocket", () => {
  it("uses a usable global WebSocket when there is one and no option asks for more", async () => {
    const { WebSocket: NodeWs } = await import("ws");
    let constructed = 0;
    // A global WebSocket as Node 22 or a browser has one: no EventEmitter, no third argument.
    class GlobalWebSocket {
      readonly #ws: InstanceType<typeof NodeWs>;
      constructor(u: string, protocols?: string | string[]) {
        constructed++;
        this.#ws = new NodeWs(u, protocols);
      }
      set binaryType(value: string) {
        this.#ws.binaryType = value as "arraybuffer";
      }
      get readyState() {
        return this.#ws.readyState;
      }
      send(data: Uint8Array) {
        this.#ws.send(data);
      }
      close(code?: number, reason?: string) {
        this.#ws.close(code, reason);
      }
      addEventListener(type: string, listener: (e: never) => void) {
        this.#ws.addEventListener(type as "open", listener as never);
      }
    }
    vi.stubGlobal("WebSocket", GlobalWebSocket);
    try {
      const r = await client.fetchArray<Float64Array>(url, "a", { transport: "ws" });
      expect(r.array[999]).toBe(999);
      expect(constructed).toBe(1);
      // It cannot send headers: in Node, headers bring in the ws package instead.
      seen.length = 0;
      await client.fetchArray(url, "a", { transport: "ws", headers: { "x-probe": "2" } });
      expect(constructed).toBe(1);
      expect(seen).toMatchObject([{ kind: "upgrade", headers: { "x-probe": "2" } }]);
    } finally {
      vi.stubGlobal("WebSocket", undefined);
    }
  });

  it("refuses headers a WebSocket cannot send, before constructing it", async () => {
    let constructed = 0;
    class BrowserLike {
      constructor() {
        constructed++;
      }
    }
    await expect(
      client.ArrayClient.connect(url, { WebSocket: BrowserLike as never, headers: { a: "b" } }),
    ).rejects.toThrow(
      new TypeError(
        "Invalid headers: this WebSocket cannot send headers (browsers never can); use a cookie or protocols",
      ),
    );
    expect(constructed).toBe(0);
  });

  it("an explicit WebSocket option wins over everything", async () => {
    let constructed = 0;
    class Refusing {
      constructor() {
        constructed++;
        throw new Error("explicit one used");
      }
    }
    await expect(client.ArrayClient.connect(url, { WebSocket: Refusing as never })).rejects.toThrow(
      "explicit one used",
    );
    expect(constructed).toBe(1);
  });
});
