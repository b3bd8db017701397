/**
 * trustProxy: X-Forwarded-For is believed from trusted proxies only, read from the right, so that
 * maxConnectionsPerIp counts the clients behind a load balancer and no client can choose the
 * address it is counted under. Unit cases, then a real server on loopback (clients connect from
 * other 127.x addresses, which Linux routes to lo). The same through nginx and HAProxy is in
 * server/balanced-http.test.ts.
 */
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { clientAddress, proxyTrust } from "./client-address.ts";
import { ArrayServer, type ArrayServerOptions } from "./index.ts";
import { rawHttp } from "./test-fixtures/raw-http.ts";

/** A request as clientAddress sees it. */
function req(remoteAddress: string, forwarded?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress },
    headers: forwarded === undefined ? {} : { "x-forwarded-for": forwarded },
  } as unknown as IncomingMessage;
}

describe("proxyTrust", () => {
  it("matches listed addresses and CIDR blocks exactly, on both sides of each bound", () => {
    const trust = proxyTrust(["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", "192.168.1.0/24"]);
    expect(trust("127.0.0.1")).toBe(true);
    expect(trust("127.0.0.2")).toBe(false);
    expect(trust("10.0.0.0")).toBe(true);
    expect(trust("10.255.255.255")).toBe(true);
    expect(trust("9.255.255.255")).toBe(false);
    expect(trust("11.0.0.0")).toBe(false);
    expect(trust("192.168.1.255")).toBe(true);
    expect(trust("192.168.2.0")).toBe(false);
    expect(trust("::1")).toBe(true);
    expect(trust("fdff::1")).toBe(true);
    expect(trust("fe00::1")).toBe(false);
    expect(trust("unknown")).toBe(false);
    expect(proxyTrust(undefined)("127.0.0.1")).toBe(false);
    expect(proxyTrust([])("127.0.0.1")).toBe(false);
  });

  it.each([["10.0.0.0/33"], ["::/129"], ["abc"], [""], ["10.0.0.0/"], ["1.2.3.4/8/9"], [5]])(
    "refuses %j with a TypeError",
    (entry) => {
      expect(() => proxyTrust([entry as string])).toThrow(TypeError);
    },
  );

  it("refuses what is neither a list nor a function", () => {
    expect(() => proxyTrust("127.0.0.1" as unknown as string[])).toThrow(
      new TypeError("Invalid trustProxy: expected a list of addresses or a function, got string"),
    );
  });
});

describe("clientAddress", () => {
  const trust = proxyTrust(["127.0.0.1", "10.0.0.0/8"]);

  it("believes X-Forwarded-For only from a trusted peer", () => {
    expect(clientAddress(req("127.0.0.5", "1.2.3.4"), trust)).toBe("127.0.0.5");
    expect(clientAddress(req("127.0.0.1", "1.2.3.4"), trust)).toBe("1.2.3.4");
    expect(clientAddress(req("127.0.0.1"), trust)).toBe("127.0.0.1");
    expect(clientAddress(req("127.0.0.1", ""), trust)).toBe("127.0.0.1");
  });

  it("reads from the right: entries a client wrote itself, left of the first untrusted one, are ignored", () => {
    // The client sent "X-Forwarded-For: 9.9.9.9"; the proxy appended the client's real address.
    expect(clientAddress(req("127.0.0.1", "9.9.9.9, 1.2.3.4"), trust)).toBe("1.2.3.4");
    // Two trusted proxies in a row.
    expect(clientAddress(req("127.0.0.1", "9.9.9.9, 1.2.3.4, 10.1.2.3"), trust)).toBe("1.2.3.4");
    // Every hop trusted: the leftmost.
    expect(clientAddress(req("127.0.0.1", "10.0.0.7, 10.1.2.3"), trust)).toBe("10.0.0.7");
    // Repeated header lines count as one list, in order.
    expect(clientAddress(req("127.0.0.1", ["9.9.9.9", "1.2.3.4"]), trust)).toBe("1.2.3.4");
  });

  it("stops at an entry that is not an address: the last trusted hop is who is known", () => {
    expect(clientAddress(req("127.0.0.1", "1.2.3.4, unknown"), trust)).toBe("127.0.0.1");
    expect(clientAddress(req("127.0.0.1", "1.2.3.4, unknown, 10.0.0.9"), trust)).toBe("10.0.0.9");
    expect(clientAddress(req("127.0.0.1", "1.2.3.4,,"), trust)).toBe("127.0.0.1");
    expect(clientAddress(req("127.0.0.1", "<script>"), trust)).toBe("127.0.0.1");
  });

  it("reads ports, brackets and IPv4-mapped IPv6 addresses", () => {
    expect(clientAddress(req("::ffff:127.0.0.1", "1.2.3.4:5678"), trust)).toBe("1.2.3.4");
    expect(clientAddress(req("127.0.0.1", "[2001:db8::1]:443"), trust)).toBe("2001:db8::1");
    expect(clientAddress(req("127.0.0.1", "2001:db8::2"), trust)).toBe("2001:db8::2");
    expect(clientAddress(req("127.0.0.1", "::ffff:10.0.0.1, ::ffff:1.2.3.4"), trust)).toBe("1.2.3.4");
    expect(clientAddress(req("::ffff:127.0.0.9", "1.2.3.4"), trust)).toBe("127.0.0.9");
  });

  it("reads at most 16 entries from the right", () => {
    const hops = Array.from({ length: 20 }, (_, i) => `10.0.0.${i + 1}`);
    expect(clientAddress(req("127.0.0.1", hops.join(", ")), trust)).toBe("10.0.0.5");
    expect(clientAddress(req("127.0.0.1", hops.slice(4).join(", ")), trust)).toBe("10.0.0.5");
  });
});

// ---------------------------------------------------------------------------------------------

const servers: ArrayServer[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startServer(options: ArrayServerOptions): Promise<{ server: ArrayServer; port: number }> {
  const server = new ArrayServer({
    port: 0,
    log: () => {},
    maxConnectionsPerIp: 2,
    heartbeatIntervalMs: 0,
    ...options,
  });
  const { port } = await server.listen();
  server.publish("big", new Float64Array(8 * 1024 * 1024)); // 64 MiB: a reader that stops holds its stream
  server.publish("small", new Float64Array(10));
  servers.push(server);
  return { server, port };
}

/** Opens an HTTP stream of "big" from `localAddress` that is never read (it stays in flight). */
async function holdStream(port: number, localAddress: string, forwarded?: string): Promise<void> {
  const socket = connect({ port, host: "127.0.0.1", localAddress });
  sockets.push(socket);
  socket.pause();
  const xff = forwarded === undefined ? "" : `X-Forwarded-For: ${forwarded}\r\n`;
  socket.write(`GET /arraywire?name=big HTTP/1.1\r\nHost: 127.0.0.1\r\n${xff}\r\n`);
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
}

/** Status of a GET of "small" from `localAddress`. */
async function statusFrom(port: number, localAddress: string, forwarded?: string): Promise<number> {
  const xff = forwarded === undefined ? "" : `\r\nX-Forwarded-For: ${forwarded}`;
  const r = await rawHttp(port, `GET /arraywire?name=small HTTP/1.1\r\nHost: 127.0.0.1${xff}`, { localAddress });
  return r.status;
}

describe("maxConnectionsPerIp with trustProxy", () => {
  it("counts the clients behind a trusted proxy apart, each up to the cap", async () => {
    const { server, port } = await startServer({ trustProxy: ["127.0.0.1"] });
    await holdStream(port, "127.0.0.1", "1.1.1.1");
    await holdStream(port, "127.0.0.1", "1.1.1.1");
    await holdStream(port, "127.0.0.1", "2.2.2.2");
    await until(() => server.stats().httpStreamCount === 3);
    expect(server.stats().httpStreamCount).toBe(3); // over the cap of 2 for the proxy's own address
    expect(await statusFrom(port, "127.0.0.1", "1.1.1.1")).toBe(429); // 1.1.1.1 is at its cap
    expect(await statusFrom(port, "127.0.0.1", "2.2.2.2")).toBe(200); // 2.2.2.2 has room for one
    expect(await statusFrom(port, "127.0.0.1", "9.9.9.9, 2.2.2.2")).toBe(200); // its own XFF entry is ignored
    expect(await statusFrom(port, "127.0.0.1", "2.2.2.2, 3.3.3.3")).toBe(200); // counted as 3.3.3.3
  });

  it("counts an untrusted peer under its own address whatever X-Forwarded-For says", async () => {
    const { server, port } = await startServer({ trustProxy: ["127.0.0.1"] });
    await holdStream(port, "127.0.0.2", "1.1.1.1");
    await holdStream(port, "127.0.0.2", "2.2.2.2");
    await until(() => server.stats().httpStreamCount === 2);
    expect(await statusFrom(port, "127.0.0.2", "3.3.3.3")).toBe(429);
    expect(await statusFrom(port, "127.0.0.3", "3.3.3.3")).toBe(200); // another peer has its own count
  });

  it("counts WebSocket connections by client address too (1013 past the cap)", async () => {
    const { server } = await startServer({ trustProxy: ["127.0.0.1"] });
    const open = (forwarded: string) =>
      new Promise<{ ws: WebSocket; closeCode: Promise<number> }>((resolve, reject) => {
        const ws = new WebSocket(server.url, { headers: { "x-forwarded-for": forwarded }, localAddress: "127.0.0.1" });
        const closeCode = new Promise<number>((r) => ws.once("close", r));
        ws.once("open", () => resolve({ ws, closeCode }));
        ws.once("error", reject);
      });
    const opened = [await open("4.4.4.4"), await open("4.4.4.4"), await open("5.5.5.5")];
    const third = await open("4.4.4.4");
    expect(await third.closeCode).toBe(1013);
    await until(() => server.connectionCount === 3);
    expect(server.connectionCount).toBe(3);
    for (const { ws } of opened) ws.terminate();
  });

  it("treats a throwing trustProxy function as untrusted, and logs it", async () => {
    const logs: string[] = [];
    const server = new ArrayServer({
      port: 0,
      maxConnectionsPerIp: 1,
      log: (m) => logs.push(m),
      trustProxy: () => {
        throw new Error("boom");
      },
    });
    const { port } = await server.listen();
    servers.push(server);
    server.publish("big", new Float64Array(8 * 1024 * 1024));
    server.publish("small", new Float64Array(10));
    await holdStream(port, "127.0.0.1", "1.1.1.1");
    await until(() => server.stats().httpStreamCount === 1);
    expect(await statusFrom(port, "127.0.0.1", "2.2.2.2")).toBe(429);
    expect(logs.join("\n")).toContain("trustProxy threw Error; the peer is not trusted");
  });

  it("tells an authenticate hook the address it counts", async () => {
    const seen: string[] = [];
    let server: ArrayServer | null = null;
    server = new ArrayServer({
      port: 0,
      log: () => {},
      trustProxy: (address) => address === "127.0.0.1",
      authenticate: (r) => {
        seen.push((server as ArrayServer).clientAddress(r));
        return true;
      },
    });
    const { port } = await server.listen();
    servers.push(server);
    server.publish("small", new Float64Array(10));
    expect(await statusFrom(port, "127.0.0.1", "9.9.9.9, 6.6.6.6")).toBe(200);
    expect(await statusFrom(port, "127.0.0.4", "6.6.6.6")).toBe(200);
    expect(seen).toEqual(["6.6.6.6", "127.0.0.4"]);
  });
});
