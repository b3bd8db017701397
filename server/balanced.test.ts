/**
 * Several arraywire servers behind a real load balancer: Debian's nginx and HAProxy, each started
 * by this test on a loopback port with the configuration docs/DEPLOY.md shows (its own temp
 * directory, pid file and logs), in front of three server processes that publish the same 400 MB
 * Float64Array (a[i] = i) under the same name. The backend serving a stream is killed mid-transfer
 * (SIGKILL: a crash, no goodbye); the client resumes through the proxy on another backend and
 * ends byte-identical (SHA-256), on both transports. A proxy that is not installed is skipped
 * with a line that says so (.ci/run installs both).
 */
import { createHash } from "node:crypto";
import { request } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { fetchArray } from "../client/index.ts";
import { Backend, startBackends } from "./test-fixtures/backends.ts";
import type { ProxyKind } from "./test-fixtures/proxy-config.ts";
import { findExecutable, freePort, ProxyProcess } from "./test-fixtures/proxy-process.ts";

const NAME = "balanced-f64";
const ELEMENT_COUNT = 50_000_000;
const BYTE_LENGTH = ELEMENT_COUNT * 8; // 400 MB
const MiB = 1024 * 1024;
/** Bytes in flight between a backend and the client that no one can account for exactly: socket buffers, one proxy buffer, the client's queue. */
const IN_FLIGHT_SLACK = 64 * MiB;
/** Bytes a backend writes besides the array: HTTP or upgrade headers, ARRAY_HEADER, DATA messages, END, log lines. */
const FRAMING_SLACK = MiB;

const PROXIES: ProxyKind[] = ["nginx", "haproxy"];
const missing = new Map<ProxyKind, string>();
for (const kind of PROXIES) {
  if (findExecutable(kind)) continue;
  const reason = `${kind} is not installed (apt-get install -y ${kind}; .ci/run installs it)`;
  missing.set(kind, reason);
  console.log(`server/balanced.test.ts: the tests behind ${kind} are skipped: ${reason}`);
}

/** SHA-256 of a[i] = i as float64, hashed 1 Mi elements at a time (no second 400 MB array). */
function expectedSha256(elementCount: number): string {
  const hash = createHash("sha256");
  const slice = new Float64Array(MiB);
  for (let start = 0; start < elementCount; start += slice.length) {
    const n = Math.min(slice.length, elementCount - start);
    for (let i = 0; i < n; i++) slice[i] = start + i;
    hash.update(new Uint8Array(slice.buffer, 0, n * 8));
  }
  return hash.digest("hex");
}

/** Status, content type and body of a GET or an upgrade attempt, with exactly these headers. */
function probe(port: number, headers: Record<string, string>, upgrade: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const extra: Record<string, string> = upgrade
      ? {
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        }
      : {};
    const req = request({ host: "127.0.0.1", port, path: "/arraywire", headers: { ...headers, ...extra } });
    req.setTimeout(5000, () => req.destroy(new Error("probe timed out")));
    req.once("upgrade", (res, socket) => {
      socket.destroy();
      resolve(`${res.statusCode}`);
    });
    req.once("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => {
        const type = res.headers["content-type"] ?? "";
        const body = type.startsWith("application/vnd.arraywire") ? Buffer.concat(parts).toString("latin1") : "";
        // The bytes of an arraywire ERROR body; other bodies (a bare refusal) are not compared.
        resolve(`${res.statusCode} ${type} ${JSON.stringify(body)}`);
      });
    });
    req.once("error", reject);
    req.end();
  });
}

let backends: Backend[] = [];
let sha256: string;

beforeAll(async () => {
  if (missing.size === PROXIES.length) return;
  backends = await startBackends(3, {
    name: NAME,
    elementCount: ELEMENT_COUNT,
    heartbeatIntervalMs: 30_000,
    maxConnectionsPerIp: 32,
  });
  sha256 = expectedSha256(ELEMENT_COUNT);
}, 120_000);

afterAll(async () => {
  await Promise.all(backends.map((b) => b.stop()));
});

describe("backends publishing the same array", () => {
  // Generations derive from the content (docs/DEPLOY.md §1): a backend that republished unchanged
  // data, or published other arrays first, agrees with a fresh one, so a resume is valid on both.
  it("get the same generation whatever each published before", async () => {
    const small = [];
    try {
      for (const republishCount of [0, 2]) {
        small.push(
          await Backend.start({
            port: 0,
            name: "same",
            elementCount: 1000,
            heartbeatIntervalMs: 0,
            maxConnectionsPerIp: 32,
            republishCount,
          }),
        );
      }
      const generations = [];
      for (const backend of small) {
        const url = `ws://127.0.0.1:${backend.port}/arraywire`;
        const { generation, array } = await fetchArray(url, "same", { transport: "http", range: [500, 502] });
        expect([...array]).toEqual([500, 501]);
        generations.push(generation);
      }
      expect(generations[1]).toBe(generations[0]);
    } finally {
      await Promise.all(small.map((b) => b.stop()));
    }
  });
});

describe.skipIf(missing.size === PROXIES.length)("three backends publishing the same array", () => {
  it("serve it under one generation, so a resume is valid on any of them", async () => {
    const results = [];
    for (const backend of backends) {
      const url = `ws://127.0.0.1:${backend.port}/arraywire`;
      results.push(await fetchArray(url, NAME, { transport: "http", range: [1_000_000, 1_000_010] }));
    }
    const generations = results.map((r) => r.generation);
    expect(new Set(generations).size, `generations ${generations}`).toBe(1);
    for (const r of results) expect([...r.array]).toEqual(Array.from({ length: 10 }, (_, i) => 1_000_000 + i));
  });
});

for (const kind of PROXIES) {
  const reason = missing.get(kind);
  describe.skipIf(reason !== undefined)(`behind ${kind}${reason ? ` (skipped: ${reason})` : ""}`, () => {
    let proxy: ProxyProcess;
    let into: Float64Array;

    beforeAll(async () => {
      proxy = await ProxyProcess.start(kind, {
        listenPort: await freePort(),
        backendPorts: backends.map((b) => b.port),
      });
      into = new Float64Array(ELEMENT_COUNT);
    }, 30_000);

    afterAll(async () => {
      await proxy?.stop();
    });

    beforeEach(async () => {
      for (const backend of backends) await backend.restart();
    }, 60_000);

    // First in this block: the proxy has seen no backend fail yet, so it still routes to the dead one.
    it("routes requests around a backend that is down, so no client sees the failure", async () => {
      const down = backends[1] as Backend;
      await down.kill("SIGKILL");
      for (let i = 0; i < 4; i++) {
        for (const transport of ["http", "ws"] as const) {
          const start = 1_000_000 * (i + 1) + 7; // a range in the middle of the array
          const { array } = await fetchArray(proxy.url, NAME, { transport, range: [start, start + 5] });
          expect([...array], `request ${i} over ${transport}`).toEqual([0, 1, 2, 3, 4].map((k) => start + k));
        }
      }
    }, 30_000);

    for (const transport of ["http", "ws"] as const) {
      it(`resumes a 400 MB ${transport} stream on another backend when the one serving it is killed`, async () => {
        into.fill(-1); // nothing left over from an earlier case can pass for received bytes
        const before = backends.map((b) => b.writtenByteLength() ?? 0);
        const progress: number[] = [];
        let kill: { index: number; sent: number; received: number; exited: Promise<void> } | null = null;
        const result = await fetchArray(proxy.url, NAME, {
          transport,
          into,
          // A page served by the proxy itself: its Origin names the proxy's host, as the Host header does.
          headers: { origin: `http://127.0.0.1:${proxy.port}` },
          resume: { attempts: 5, initialDelayMs: 50, maxDelayMs: 1000 },
          progressIntervalMs: 5,
          onProgress: ({ receivedByteLength }) => {
            progress.push(receivedByteLength);
            if (kill || receivedByteLength < BYTE_LENGTH / 4) return;
            // The backend serving this stream is the one whose writes grew: the others are idle.
            const growth = backends.map((b, i) => (b.writtenByteLength() ?? 0) - (before[i] as number));
            const index = growth.indexOf(Math.max(...growth));
            const { writtenByteLength, exited } = (backends[index] as Backend).crash();
            kill = { index, sent: writtenByteLength - (before[index] as number), received: receivedByteLength, exited };
          },
        });
        expect(kill, "the serving backend was killed mid-transfer").not.toBeNull();
        const { index, sent, received, exited } = kill as unknown as NonNullable<typeof kill>;
        await exited;

        // Killed mid-transfer, and the proxy did not read ahead of the client (proxy buffering off):
        // the killed backend had written what the client held, plus at most what sockets hold.
        expect(received).toBeGreaterThanOrEqual(BYTE_LENGTH / 4);
        expect(received).toBeLessThan((BYTE_LENGTH * 3) / 4);
        expect(sent).toBeGreaterThanOrEqual(received);
        expect(sent).toBeLessThanOrEqual(received + IN_FLIGHT_SLACK);

        // The rest came from the other backends, once: not from byte 0 again, nor twice.
        const others = backends.reduce(
          (sum, b, i) => (i === index ? sum : sum + ((b.writtenByteLength() ?? 0) - (before[i] as number))),
          0,
        );
        expect(others).toBeGreaterThanOrEqual(BYTE_LENGTH - sent);
        expect(others).toBeLessThanOrEqual(BYTE_LENGTH - received + FRAMING_SLACK);
        for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1] as number);

        console.log(
          `server/balanced.test.ts: ${kind} ${transport}: killed backend ${index} after the client held ` +
            `${(received / MiB).toFixed(1)} MiB; it had written ${(sent / MiB).toFixed(1)} MiB, ` +
            `the others then wrote ${(others / MiB).toFixed(1)} MiB`,
        );
        expect(result.array).toBe(into);
        expect(result.array[ELEMENT_COUNT / 2 + 1]).toBe(ELEMENT_COUNT / 2 + 1);
        expect(createHash("sha256").update(new Uint8Array(into.buffer)).digest("hex")).toBe(sha256);
      }, 120_000);
    }

    it("passes Host and Origin through unchanged, so the servers' own checks decide as they would directly", async () => {
      const host = `127.0.0.1:${proxy.port}`;
      const cases: Record<string, string>[] = [
        { host }, // a non-browser client
        { host, origin: `http://${host}` }, // a page served through the proxy
        { host, origin: "http://evil.example" }, // another site's page
        { host: `evil.example:${proxy.port}`, origin: `http://evil.example:${proxy.port}` }, // DNS rebinding
      ];
      const direct = backends[0] as Backend;
      await direct.restart();
      for (const headers of cases) {
        for (const upgrade of [false, true]) {
          const viaProxy = await probe(proxy.port, headers, upgrade);
          expect(viaProxy, `${JSON.stringify(headers)} upgrade=${upgrade}`).toBe(
            await probe(direct.port, headers, upgrade),
          );
        }
      }
      // And the checks did run: the same-origin page passes, the other site's page is refused.
      expect(await probe(proxy.port, { host, origin: `http://${host}` }, true)).toBe("101");
      expect(await probe(proxy.port, { host, origin: "http://evil.example" }, true)).toMatch(/^403 /);
      expect(await probe(proxy.port, { host, origin: "http://evil.example" }, false)).toMatch(/^403 /);
    });
  });
}

/** Opens a WebSocket through `url` and resolves with when it closed (ms after opening), or null if open after `waitMs`. */
async function idleLifetime(url: string, waitMs: number): Promise<{ closedAfterMs: number | null; pings: number }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const openedAt = performance.now();
  let pings = 0;
  ws.on("ping", () => pings++);
  ws.on("error", () => {});
  const closedAfterMs = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), waitMs);
    ws.once("close", () => {
      clearTimeout(timer);
      resolve(performance.now() - openedAt);
    });
  });
  ws.terminate();
  return { closedAfterMs, pings };
}

/** The proxy's idle timeout for upgraded connections, scaled down from 120 s to 2 s. */
const IDLE_OVERRIDES: Record<ProxyKind, Record<string, string>> = {
  nginx: { proxy_read_timeout: "2s", proxy_send_timeout: "2s" },
  haproxy: { "timeout tunnel": "2s" },
};

for (const kind of PROXIES) {
  const reason = missing.get(kind);
  describe.skipIf(reason !== undefined)(`an idle WebSocket behind ${kind}${reason ? ` (skipped)` : ""}`, () => {
    it("stays open while the server pings, and is closed at the proxy's idle timeout without pings", async () => {
      const started: { backend: Backend; proxy: ProxyProcess }[] = [];
      try {
        for (const heartbeatIntervalMs of [400, 0]) {
          const backend = await Backend.start({
            port: 0,
            name: "small",
            elementCount: 1000,
            heartbeatIntervalMs,
            maxConnectionsPerIp: 32,
          });
          started.push({ backend, proxy: null as unknown as ProxyProcess });
          const proxy = await ProxyProcess.start(kind, {
            listenPort: await freePort(),
            backendPorts: [backend.port],
            overrides: IDLE_OVERRIDES[kind],
          });
          (started.at(-1) as { proxy: ProxyProcess }).proxy = proxy;
        }
        const [pinged, silent] = started as [(typeof started)[0], (typeof started)[0]];
        const [withPings, withoutPings] = await Promise.all([
          idleLifetime(pinged.proxy.url, 6000),
          idleLifetime(silent.proxy.url, 6000),
        ]);
        expect(withPings.closedAfterMs).toBeNull();
        expect(withPings.pings).toBeGreaterThanOrEqual(6);
        expect(withoutPings.pings).toBe(0);
        expect(withoutPings.closedAfterMs).toBeGreaterThanOrEqual(1500);
        expect(withoutPings.closedAfterMs).toBeLessThanOrEqual(4500);
      } finally {
        for (const { backend, proxy } of started) {
          await proxy?.stop();
          await backend.stop();
        }
      }
    }, 60_000);
  });
}
