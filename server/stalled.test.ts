/**
 * Stalled readers against a server in its own process: 50 clients each request a 400 MB array
 * with a 16 MiB credit window, then stop reading (their TCP sockets paused) and never grant more
 * credit. The server's RSS is read from /proc (VmRSS sampled every 20 ms, and VmHWM after a
 * `clear_refs` reset), so neither the test's own memory nor a busy event loop can skew it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { fetchArray } from "../client/index.ts";
import { decodeMessage, encodeRequest } from "../shared/index.ts";
import type { ServerStats } from "./index.ts";
import type { StalledServerCommand, StalledServerConfig, StalledServerReply } from "./test-fixtures/stalled-server.ts";

const MiB = 1024 * 1024;
const CLIENT_COUNT = 50;
/** 50M float64 values: the 400 MB reference array. */
const BIG_ELEMENT_COUNT = 50_000_000;
const SMALL_ELEMENT_COUNT = 125_000; // 1 MB
const CREDIT_BYTE_LENGTH = 16 * MiB;
const CHUNK_BYTE_LENGTH = MiB;
const STALL_TIMEOUT_MS = 2000;
/** The server checks for stalls every min(1000, stallTimeoutMs / 4) ms. */
const STALL_CHECK_INTERVAL_MS = Math.min(1000, STALL_TIMEOUT_MS / 4);
/** Allowed growth: one window plus one chunk per stalled client, plus 64 MiB for the runtime. */
const RSS_BOUND_BYTES = CLIENT_COUNT * (CREDIT_BYTE_LENGTH + CHUNK_BYTE_LENGTH) + 64 * MiB;
/** RSS noise an idle Node process shows between two reads (JIT code, heap pages after a GC). */
const RSS_NOISE_BYTES = 4 * MiB;
/** How close to the baseline the server is once the stalled clients are gone and a GC ran. */
const FREED_SLACK_BYTES = 32 * MiB;

const fixture = fileURLToPath(new URL("./test-fixtures/stalled-server.ts", import.meta.url));

/** VmRSS and VmHWM of `pid`, in bytes. */
function readRss(pid: number): { rssBytes: number; peakBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kB = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kB("VmRSS"), peakBytes: kB("VmHWM") };
}

/** Sets VmHWM back to the current RSS (Linux 4.0+); false when the kernel refuses. */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Polls VmRSS every 20 ms; `phase` names the bucket the samples go to. */
class RssSampler {
  readonly #pid: number;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly maxByPhase = new Map<string, number>();
  phase = "stall";

  constructor(pid: number) {
    this.#pid = pid;
    this.sample();
    this.#timer = setInterval(() => this.sample(), 20);
  }

  sample(): void {
    let rssBytes: number;
    try {
      rssBytes = readRss(this.#pid).rssBytes;
    } catch {
      return; // the child is gone; the test fails on its next command
    }
    this.maxByPhase.set(this.phase, Math.max(this.maxByPhase.get(this.phase) ?? 0, rssBytes));
  }

  max(phase: string): number {
    return this.maxByPhase.get(phase) ?? 0;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The server child and its IPC commands. */
class ServerChild {
  readonly process: ChildProcess;
  readonly url: string;
  readonly #exited: Promise<void>;
  #nextId = 1;

  private constructor(child: ChildProcess, url: string, exited: Promise<void>) {
    this.process = child;
    this.url = url;
    this.#exited = exited;
  }

  static async start(config: StalledServerConfig): Promise<ServerChild> {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", fixture, JSON.stringify(config)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("server child did not start within 20 s")), 20_000);
      child.once("exit", (code, signal) => reject(new Error(`server child exited (${code ?? signal}) at startup`)));
      child.on("message", (reply: StalledServerReply) => {
        if (reply.type === "listening") {
          clearTimeout(timer);
          resolve(reply.url);
        }
      });
    });
    return new ServerChild(child, url, exited);
  }

  get pid(): number {
    return this.process.pid as number;
  }

  #ask<T extends StalledServerReply>(command: Omit<StalledServerCommand, "id">): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.process.off("message", onMessage);
        reject(new Error(`server child did not answer ${command.type} within 5 s`));
      }, 5000);
      const onMessage = (reply: StalledServerReply) => {
        if ("id" in reply && reply.id === id) {
          clearTimeout(timer);
          this.process.off("message", onMessage);
          resolve(reply as T);
        }
      };
      this.process.on("message", onMessage);
      this.process.send({ ...command, id } as StalledServerCommand);
    });
  }

  async stats(): Promise<{ stats: ServerStats; logs: string[] }> {
    return this.#ask<Extract<StalledServerReply, { type: "stats" }>>({ type: "stats" });
  }

  async gc(): Promise<void> {
    await this.#ask({ type: "gc" });
  }

  async kill(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill("SIGKILL");
    await this.#exited;
  }
}

/** How a stalled client ended, seen once it reads again. */
type Outcome = "E_TIMEOUT" | "terminated" | "other";

/**
 * A raw `ws` client that requests "big" and then stops reading: ws.pause() pauses the TCP socket
 * (and keeps ws's receiver from resuming it) so the server's writes back up. It never sends CREDIT.
 */
class StalledClient {
  readonly ws: WebSocket;
  payloadByteLength = 0;
  errorCode: string | null = null;
  closeCode: number | null = null;
  readonly opened: Promise<void>;
  readonly #ended: Promise<void>;
  #payloadNext = false;

  constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on("error", () => {}); // a terminated socket may reset; the close event tells the rest
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => {
        this.ws.pause();
        this.ws.send(
          encodeRequest({
            streamId: 1,
            name: "big",
            params: null,
            chunkByteLength: CHUNK_BYTE_LENGTH,
            range: null,
            resumeByteOffset: 0,
            creditByteLength: CREDIT_BYTE_LENGTH,
            expectedGeneration: null,
            checksum: "xxh32",
          }),
        );
        resolve();
      });
      this.ws.once("close", () => reject(new Error("closed before it opened")));
    });
    this.#ended = new Promise((resolve) => {
      this.ws.on("message", (data: Buffer) => {
        if (this.#payloadNext) {
          this.#payloadNext = false;
          this.payloadByteLength += data.byteLength;
          return;
        }
        const message = decodeMessage(data, { maxTotalByteLength: Number.MAX_SAFE_INTEGER });
        if (message.type === "DATA") this.#payloadNext = true;
        if (message.type === "ERROR") {
          this.errorCode = message.code;
          resolve();
        }
      });
      this.ws.on("close", (code) => {
        this.closeCode = code;
        resolve();
      });
    });
  }

  /** Reads again and resolves once an ERROR arrived or the connection closed. */
  async resumeUntilEnded(timeoutMs: number): Promise<Outcome> {
    this.ws.resume();
    await Promise.race([this.#ended, new Promise((r) => setTimeout(r, timeoutMs))]);
    if (this.errorCode === "E_TIMEOUT") return "E_TIMEOUT";
    if (this.errorCode === null && this.closeCode === 1006) return "terminated";
    return "other";
  }
}

async function waitFor<T>(what: string, timeoutMs: number, poll: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await poll();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

describe("stalled clients", () => {
  let server: ServerChild | null = null;
  let sampler: RssSampler | null = null;
  let clients: StalledClient[] = [];

  afterEach(async () => {
    sampler?.stop();
    for (const client of clients) client.ws.terminate();
    await server?.kill();
    server = null;
    sampler = null;
    clients = [];
  });

  it(`keeps the server's RSS within baseline + ${CLIENT_COUNT} x (window + chunk) + 64 MiB for ${CLIENT_COUNT} stalled 400 MB requests, and drops them after stallTimeoutMs`, async () => {
    const t0 = performance.now();
    server = await ServerChild.start({
      bigElementCount: BIG_ELEMENT_COUNT,
      smallElementCount: SMALL_ELEMENT_COUNT,
      stallTimeoutMs: STALL_TIMEOUT_MS,
      maxConnectionsPerIp: CLIENT_COUNT + 8, // the default (32) would refuse some with 1013
    });
    const { pid } = server;

    // Baseline: the 400 MB array is allocated and touched, and the heap collected.
    await server.gc();
    const baselineBytes = readRss(pid).rssBytes;
    expect(baselineBytes).toBeGreaterThan(BIG_ELEMENT_COUNT * 8);
    const peakResettable = resetPeakRss(pid);
    sampler = new RssSampler(pid);

    const url = server.url;
    clients = Array.from({ length: CLIENT_COUNT }, () => new StalledClient(url));
    await Promise.all(clients.map((c) => c.opened));
    const requestsSentAt = performance.now();

    // Every stream is open and has sent what the socket takes; none is dropped before the timeout.
    const stalled = await waitFor("every stream to open", 5000, async () => {
      const { stats } = await (server as ServerChild).stats();
      return stats.streamCount === CLIENT_COUNT && stats.queuedByteLength > 0 ? stats : undefined;
    });
    expect(stalled.connectionCount).toBe(CLIENT_COUNT);

    // A healthy client is served meanwhile, while the stalled streams are still there.
    const healthyStart = performance.now();
    const { array } = await fetchArray(url, "small", { transport: "ws" });
    const healthyMs = performance.now() - healthyStart;
    expect(array.length).toBe(SMALL_ELEMENT_COUNT);
    expect([array[0], array[1], array[SMALL_ELEMENT_COUNT - 1]]).toEqual([0, 1, SMALL_ELEMENT_COUNT - 1]);
    const duringStall = (await server.stats()).stats;
    const stallStillOn = performance.now() - requestsSentAt < STALL_TIMEOUT_MS;
    if (stallStillOn) expect(duringStall.streamCount).toBe(CLIENT_COUNT);

    // After stallTimeoutMs without progress, every stream is gone.
    const dropped = await waitFor("the stalled streams to be dropped", STALL_TIMEOUT_MS + 5000, async () => {
      const { stats, logs } = await (server as ServerChild).stats();
      return stats.streamCount === 0 ? { stats, logs } : undefined;
    });
    const droppedAfterMs = performance.now() - requestsSentAt;
    expect(droppedAfterMs).toBeGreaterThanOrEqual(STALL_TIMEOUT_MS);
    expect(droppedAfterMs).toBeLessThan(STALL_TIMEOUT_MS + 2 * STALL_CHECK_INTERVAL_MS + 2000);
    const stallPeakSampled = sampler.max("stall");
    const stallPeakHwm = peakResettable ? readRss(pid).peakBytes : 0;
    const stallPeakBytes = Math.max(stallPeakSampled, stallPeakHwm);

    // Afterwards the server's memory does not grow: sample a second, then collect and read again.
    sampler.phase = "after";
    await sleep(1000);
    await server.gc();
    sampler.sample();
    const afterPeakBytes = sampler.max("after");
    const afterGcBytes = readRss(pid).rssBytes;
    sampler.stop();

    // Each stalled client, once it reads again, finds an E_TIMEOUT for its stream or that the
    // server terminated its connection (its socket did not drain for stallTimeoutMs).
    const outcomes = await Promise.all(clients.map((c) => c.resumeUntilEnded(10_000)));
    const counts = { E_TIMEOUT: 0, terminated: 0, other: 0 };
    for (const outcome of outcomes) counts[outcome]++;
    const sentMaxBytes = Math.max(...clients.map((c) => c.payloadByteLength));
    const final = (await server.stats()).stats;

    console.log(
      [
        `stalled clients: ${CLIENT_COUNT} x 400 MB, window ${CREDIT_BYTE_LENGTH / MiB} MiB, chunk ${CHUNK_BYTE_LENGTH / MiB} MiB, stallTimeoutMs ${STALL_TIMEOUT_MS}`,
        `baseline RSS ${mb(baselineBytes)}; stall peak ${mb(stallPeakBytes)} (sampled ${mb(stallPeakSampled)}, VmHWM ${peakResettable ? mb(stallPeakHwm) : "n/a"})`,
        `growth ${mb(stallPeakBytes - baselineBytes)} <= bound ${mb(RSS_BOUND_BYTES)}; after the drop: peak ${mb(afterPeakBytes)}, after gc ${mb(afterGcBytes)}`,
        `queued at stall: ${mb(stalled.queuedByteLength)} (max per connection ${mb(stalled.maxQueuedByteLength)}); healthy 1 MB fetch ${healthyMs.toFixed(0)} ms`,
        `dropped after ${droppedAfterMs.toFixed(0)} ms; outcomes ${JSON.stringify(counts)}; most payload bytes one client got ${mb(sentMaxBytes)}`,
        `server log: ${dropped.logs.length} lines, e.g. ${JSON.stringify(dropped.logs[0] ?? "")}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      ].join("\n"),
    );

    expect(stallPeakBytes - baselineBytes).toBeLessThanOrEqual(RSS_BOUND_BYTES);
    expect(afterPeakBytes).toBeLessThanOrEqual(stallPeakBytes + RSS_NOISE_BYTES);
    expect(afterGcBytes).toBeLessThanOrEqual(baselineBytes + FREED_SLACK_BYTES);
    expect(counts).toEqual({ E_TIMEOUT: counts.E_TIMEOUT, terminated: CLIENT_COUNT - counts.E_TIMEOUT, other: 0 });
    // The server never sends past the credit window.
    expect(sentMaxBytes).toBeLessThanOrEqual(CREDIT_BYTE_LENGTH);
    // Connections that got E_TIMEOUT stay open (only the stream ended); terminated ones are gone.
    expect(final.streamCount).toBe(0);
    expect(final.connectionCount).toBe(counts.E_TIMEOUT);
    expect(final.queuedByteLength).toBe(0);
  }, 30_000);
});
