/**
 * The HTTP side of a load-balanced setup on the real proxies (Debian's nginx and HAProxy, with
 * docs/DEPLOY.md's tested configurations; server/balanced.test.ts has the kill-and-resume tests):
 * - HTTP Range passes through both proxies unchanged (206, Content-Range, the ETag, the bytes);
 * - `X-Accel-Buffering: no` keeps nginx from spooling a stream even where `proxy_buffering on`;
 * - with `trustProxy`, maxConnectionsPerIp counts the clients behind the proxy by their own
 *   address (X-Forwarded-For), and a client cannot choose that address.
 * Clients connect from 127.0.0.2 and 127.0.0.3 (Linux routes all of 127/8 to lo); the proxies
 * connect to the backends from 127.0.0.1. A proxy that is not installed is skipped, saying so.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { decodeMessage, headerByteLength } from "../shared/index.ts";
import { type Backend, startBackends } from "./test-fixtures/backends.ts";
import type { ProxyKind } from "./test-fixtures/proxy-config.ts";
import { findExecutable, freePort, ProxyProcess } from "./test-fixtures/proxy-process.ts";
import { header, rawHttp } from "./test-fixtures/raw-http.ts";

const NAME = "balanced-f64";
const ELEMENT_COUNT = 8 * 1024 * 1024; // 64 MiB: a stream whose reader stops stays in flight
const MiB = 1024 * 1024;
const CAP = 32;
const CLIENTS = 40;

const PROXIES: ProxyKind[] = ["nginx", "haproxy"];
const missing = new Map<ProxyKind, string>();
for (const kind of PROXIES) {
  if (findExecutable(kind)) continue;
  const reason = `${kind} is not installed (apt-get install -y ${kind}; .ci/run installs it)`;
  missing.set(kind, reason);
  console.log(`server/balanced-http.test.ts: the tests behind ${kind} are skipped: ${reason}`);
}

let trusting: Backend;
let untrusting: Backend;

beforeAll(async () => {
  if (missing.size === PROXIES.length) return;
  const config = { name: NAME, elementCount: ELEMENT_COUNT, heartbeatIntervalMs: 30_000, maxConnectionsPerIp: CAP };
  trusting = (await startBackends(1, { ...config, trustProxy: ["127.0.0.1"] }))[0] as Backend;
  untrusting = (await startBackends(1, config))[0] as Backend;
}, 60_000);

afterAll(async () => {
  await Promise.all([trusting?.stop(), untrusting?.stop()]);
});

/** A GET through `port` from `localAddress`, with extra header lines. */
function get(port: number, query: string, lines: string[] = [], localAddress = "127.0.0.2") {
  const head = [`GET /arraywire?${query} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...lines].join("\r\n");
  return rawHttp(port, head, { localAddress });
}

/**
 * Opens an HTTP stream of the array from `localAddress` and stops reading once the response
 * head arrived; resolves with its status (the socket stays open, in `sockets`).
 */
function holdStream(port: number, localAddress: string, sockets: Socket[], forwarded?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    sockets.push(socket);
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      head += chunk.subarray(0, 64).toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (!status) return;
      socket.pause();
      socket.removeAllListeners("data");
      resolve(Number(status[1]));
    });
    socket.once("error", reject);
    const xff = forwarded === undefined ? "" : `X-Forwarded-For: ${forwarded}\r\n`;
    socket.write(`GET /arraywire?name=${NAME} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${xff}\r\n`);
  });
}

/** Statuses of `CLIENTS` streams held at once, client i from `addresses[i % addresses.length]`. */
async function heldStatuses(port: number, addresses: string[], spoof = false): Promise<Map<number, number>> {
  const sockets: Socket[] = [];
  try {
    const statuses = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        holdStream(port, addresses[i % addresses.length] as string, sockets, spoof ? `10.9.${i}.1` : undefined),
      ),
    );
    const counts = new Map<number, number>();
    for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
    return counts;
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 300)); // the backend counts them out
  }
}

/** Close codes of `CLIENTS` WebSockets held at once (null: still open after a moment). */
async function heldWebSockets(url: string, addresses: string[]): Promise<Map<number | null, number>> {
  const sockets: WebSocket[] = [];
  try {
    const outcomes = await Promise.all(
      Array.from(
        { length: CLIENTS },
        (_, i) =>
          new Promise<number | null>((resolve, reject) => {
            const ws = new WebSocket(url, { localAddress: addresses[i % addresses.length], perMessageDeflate: false });
            sockets.push(ws);
            ws.once("error", reject);
            ws.once("close", (code) => resolve(code));
            ws.once("open", () => setTimeout(() => resolve(null), 1000));
          }),
      ),
    );
    const counts = new Map<number | null, number>();
    for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
    return counts;
  } finally {
    for (const ws of sockets) ws.terminate();
    await new Promise((r) => setTimeout(r, 300));
  }
}

for (const kind of PROXIES) {
  const reason = missing.get(kind);
  describe.skipIf(reason !== undefined)(`HTTP behind ${kind}${reason ? ` (skipped: ${reason})` : ""}`, () => {
    let trusted: ProxyProcess;
    let untrusted: ProxyProcess;

    beforeAll(async () => {
      trusted = await ProxyProcess.start(kind, { listenPort: await freePort(), backendPorts: [trusting.port] });
      untrusted = await ProxyProcess.start(kind, { listenPort: await freePort(), backendPorts: [untrusting.port] });
    }, 30_000);

    afterAll(async () => {
      await trusted?.stop();
      await untrusted?.stop();
    });

    it("passes Range through: 206, Content-Range, the ETag and the bytes are the backend's", async () => {
      const query = `name=${NAME}&checksum=xxh32`;
      const head = await get(untrusting.port, query, ["Range: bytes=0-55"]);
      const h = headerByteLength(new Uint8Array(head.body.buffer, head.body.byteOffset, 56), 65536);
      const L = h + ELEMENT_COUNT * 8 + 32;
      const etag = header(head, "etag") as string;
      const ranges = [`${h + 8 * 1_000_003 + 5}-${h + 8 * 1_200_000}`, `${L - 100}-`, "-32", `0-${h + 15}`];
      for (const range of ranges) {
        const direct = await get(untrusting.port, query, [`Range: bytes=${range}`, `If-Range: ${etag}`]);
        const proxied = await get(untrusted.port, query, [`Range: bytes=${range}`, `If-Range: ${etag}`]);
        expect(direct.status, range).toBe(206);
        expect(proxied.status, range).toBe(206);
        expect(header(proxied, "content-range"), range).toBe(header(direct, "content-range"));
        expect(header(proxied, "etag"), range).toBe(etag);
        expect(proxied.body.equals(direct.body), range).toBe(true);
      }
      // The trailer through the proxy is the whole array's END.
      const end = decodeMessage((await get(untrusted.port, query, ["Range: bytes=-32"])).body);
      expect(end).toMatchObject({ type: "END", byteLength: ELEMENT_COUNT * 8 });
      // Several ranges: the backend's whole 200 comes through; past the end: its 416.
      const several = await rawHttp(
        untrusted.port,
        `GET /arraywire?name=${NAME}&start=10&end=20 HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-1,5-6`,
      );
      expect(several.status).toBe(200);
      expect(several.body.byteLength).toBe(Number(header(several, "content-length")));
      const past = await get(untrusted.port, query, [`Range: bytes=${L}-`]);
      expect(past.status).toBe(416);
      expect(header(past, "content-range")).toBe(`bytes */${L}`);
    });

    it("counts clients behind a trusted proxy by their own address: 40 from two addresses pass a cap of 32", async () => {
      const counts = await heldStatuses(trusted.port, ["127.0.0.2", "127.0.0.3"]);
      expect(Object.fromEntries(counts)).toEqual({ 200: CLIENTS });
    }, 30_000);

    it("caps each real client address at 32 behind a trusted proxy, whatever the client claims", async () => {
      expect(Object.fromEntries(await heldStatuses(trusted.port, ["127.0.0.2"]))).toEqual({
        200: CAP,
        429: CLIENTS - CAP,
      });
      // Each client sends its own X-Forwarded-For: the proxy appends the real address, which counts.
      expect(Object.fromEntries(await heldStatuses(trusted.port, ["127.0.0.2"], true))).toEqual({
        200: CAP,
        429: CLIENTS - CAP,
      });
    }, 30_000);

    it("caps the whole proxy at 32 when it is not trusted", async () => {
      expect(Object.fromEntries(await heldStatuses(untrusted.port, ["127.0.0.2", "127.0.0.3"]))).toEqual({
        200: CAP,
        429: CLIENTS - CAP,
      });
    }, 30_000);

    it("counts WebSocket connections the same way (1013 past the cap)", async () => {
      expect(Object.fromEntries(await heldWebSockets(trusted.url, ["127.0.0.2", "127.0.0.3"]))).toEqual({
        null: CLIENTS,
      });
      expect(Object.fromEntries(await heldWebSockets(untrusted.url, ["127.0.0.2", "127.0.0.3"]))).toEqual({
        null: CAP,
        1013: CLIENTS - CAP,
      });
    }, 30_000);
  });
}

describe.skipIf(missing.has("nginx"))("an nginx with proxy_buffering on", () => {
  it("does not spool an arraywire stream (X-Accel-Buffering: no): the backend stays near the client", async () => {
    const proxy = await ProxyProcess.start("nginx", {
      listenPort: await freePort(),
      backendPorts: [untrusting.port],
      overrides: { proxy_buffering: "on" },
    });
    const sockets: Socket[] = [];
    try {
      const before = untrusting.writtenByteLength() ?? 0;
      expect(await holdStream(proxy.port, "127.0.0.2", sockets)).toBe(200); // reads the head, then stops
      await new Promise((r) => setTimeout(r, 1500));
      const written = (untrusting.writtenByteLength() ?? 0) - before;
      // Spooled, nginx would read all 64 MiB from the backend at once into its temp file.
      console.log(
        `server/balanced-http.test.ts: with proxy_buffering on, the backend wrote ${(written / MiB).toFixed(1)} MiB of 64 MiB to a client that stopped reading`,
      );
      expect(written).toBeLessThan(24 * MiB);
      expect(written).toBeGreaterThan(0);
      // nginx consumes X-Accel-* headers: the client does not see it.
      const r = await get(proxy.port, `name=${NAME}&start=0&end=10`);
      expect(r.status).toBe(200);
      expect(header(r, "x-accel-buffering")).toBeUndefined();
    } finally {
      for (const s of sockets) s.destroy();
      await proxy.stop();
    }
  }, 30_000);
});
