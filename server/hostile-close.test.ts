/**
 * close() finishes in bounded time whatever peers do, and serves nothing after it began: a
 * half-sent request (before any auth), connections over the per-IP cap that never answer the
 * 1013 close, a stream whose reader stopped, an idle keep-alive connection, an upgrade and an
 * HTTP request both held in a slow authenticate hook. The server runs in a child process.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { decodeMessage, encodeRequest } from "../shared/index.ts";
import { ServerChild } from "./test-helpers.ts";

/** close() must resolve within this, with every kind of half-open peer attached. */
const CLOSE_BOUND_MS = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw socket that sends `text` and records what comes back. */
function rawPeer(port: number, text: string): { socket: Socket; received: () => string; closed: Promise<void> } {
  let data = "";
  const socket = connect(port, "127.0.0.1", () => socket.write(text));
  socket.on("data", (d: Buffer) => {
    data += d.toString("latin1");
  });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  return { socket, received: () => data, closed };
}

const UPGRADE =
  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

describe("close() with half-open peers", () => {
  let child: ServerChild | null = null;
  const cleanup: (() => void)[] = [];

  afterEach(async () => {
    for (const fn of cleanup.splice(0)) fn();
    await child?.kill();
    child = null;
  });

  it(`finishes within ${CLOSE_BOUND_MS} ms and serves nothing held in authenticate`, async () => {
    child = await ServerChild.start({ slowAuth: true, options: { maxConnectionsPerIp: 2, heartbeatIntervalMs: 0 } });
    const { port, url } = child;
    const host = `Host: 127.0.0.1:${port}\r\n`;
    // 1. A request that never finishes its headers.
    const halfSent = rawPeer(port, `GET /arraywire?name=small HTTP/1.1\r\n${host}X-Slow: 1`);
    // 2. A stream whose reader stopped (it cannot answer the 1001 close).
    const stalled = new WebSocket(url, { perMessageDeflate: false });
    stalled.on("error", () => {});
    await new Promise((r) => stalled.once("open", r));
    stalled.pause();
    stalled.send(
      encodeRequest({
        streamId: 1,
        name: "arange",
        params: { length: 20_000_000 },
        chunkByteLength: 0,
        range: null,
        resumeByteOffset: 0,
        creditByteLength: 0,
        expectedGeneration: null,
        checksum: "none",
      }),
    );
    // A well-behaved client with a stream in flight: it gets E_SHUTDOWN and a clean 1001.
    const polite = new WebSocket(url, { perMessageDeflate: false });
    polite.on("error", () => {});
    await new Promise((r) => polite.once("open", r));
    const politeCodes: string[] = [];
    let payloadNext = false;
    polite.on("message", (data: Buffer) => {
      if (payloadNext) {
        payloadNext = false;
        return;
      }
      const m = decodeMessage(data, { maxTotalByteLength: Number.MAX_SAFE_INTEGER });
      if (m.type === "DATA") payloadNext = true;
      if (m.type === "ERROR") politeCodes.push(m.code);
    });
    const politeClosed = new Promise<number>((resolve) => polite.once("close", (code) => resolve(code)));
    polite.send(
      encodeRequest({
        streamId: 1,
        name: "arange",
        params: { length: 20_000_000 },
        chunkByteLength: 0,
        range: null,
        resumeByteOffset: 0,
        creditByteLength: 4 * 1024 * 1024,
        expectedGeneration: null,
        checksum: "none",
      }),
    );
    cleanup.push(() => polite.terminate());
    // 3. Upgrades past maxConnectionsPerIp (2: the stalled one and the polite one)
    // that never read the 1013 close.
    const overCap = [0, 1, 2, 3].map(() => rawPeer(port, `GET /arraywire HTTP/1.1\r\n${host}${UPGRADE}\r\n`));
    // 4. An idle keep-alive connection after one answered request.
    const idle = rawPeer(port, `GET /arraywire?probe=1 HTTP/1.1\r\n${host}\r\n`);
    // 5. An upgrade and an HTTP stream held 5 s in authenticate.
    const heldUpgrade = rawPeer(port, `GET /arraywire HTTP/1.1\r\n${host}X-Auth-Delay-Ms: 5000\r\n${UPGRADE}\r\n`);
    const heldGet = rawPeer(port, `GET /arraywire?name=small HTTP/1.1\r\n${host}X-Auth-Delay-Ms: 5000\r\n\r\n`);
    for (const p of [halfSent, idle, heldUpgrade, heldGet, ...overCap]) cleanup.push(() => p.socket.destroy());
    cleanup.push(() => stalled.terminate());
    await sleep(500);
    for (const p of overCap) p.socket.pause(); // now they read nothing more, the 1013 close included
    const before = await child.stats();
    expect(before.stats.connectionCount).toBeGreaterThanOrEqual(1);
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200 /);

    const closeMs = await child.close(20_000);
    await sleep(200);
    const heldAnswer = heldGet.received();
    console.log(
      `close() with a half-sent request, ${overCap.length} over-cap peers not answering 1013, a stalled stream, an idle keep-alive, ` +
        `an upgrade and a GET held in authenticate: ${closeMs.toFixed(0)} ms (bound ${CLOSE_BOUND_MS}); held GET got ${JSON.stringify(heldAnswer.split("\r\n")[0] ?? "")}`,
    );
    expect(closeMs).toBeLessThan(CLOSE_BOUND_MS);
    expect(child.alive).toBe(true);
    // The GET held in authenticate is answered 503 E_SHUTDOWN (or cut), never served.
    if (heldAnswer.length > 0) {
      expect(heldAnswer).toMatch(/^HTTP\/1\.1 503 /);
      const body = Buffer.from(heldAnswer.slice(heldAnswer.indexOf("\r\n\r\n") + 4), "latin1");
      expect(decodeMessage(new Uint8Array(body))).toMatchObject({ code: "E_SHUTDOWN" });
    }
    expect(heldUpgrade.received()).not.toMatch(/^HTTP\/1\.1 101 /);
    // The polite client was not cut: it got its E_SHUTDOWN and a clean close.
    expect(await politeClosed).toBe(1001);
    expect(politeCodes).toEqual(["E_SHUTDOWN"]);
    // Every socket is gone: nothing kept the server's port open.
    await Promise.race([Promise.all([halfSent.closed, idle.closed, heldUpgrade.closed, heldGet.closed]), sleep(2000)]);
    for (const p of [halfSent, idle, heldUpgrade, heldGet])
      expect(p.socket.destroyed || p.socket.readableEnded).toBe(true);
  }, 60_000);
});
