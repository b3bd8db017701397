/**
 * Bounded memory, measured: a 400 MB .npy served from disk to 8 concurrent clients (4 WebSocket,
 * 4 HTTP) by a server in a child process. Its RSS peak over its baseline (after a warm-up and a
 * GC) stays within the scratch pools the transports may hold plus a generous margin, and far below
 * one copy of the file: nothing reads the file whole. The clients keep no data (drain-clients.ts)
 * and check the byte count and values at sampled indices. bench/file-serving.ts measures the same
 * at 1.6 GB and 10 clients, with throughput. Linux only (/proc).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNpyHeader } from "../../shared/index.ts";
import { drainHttp, drainWs } from "./test-fixtures/drain-clients.ts";
import { makeTempDir } from "./test-helpers.ts";

const MiB = 1024 * 1024;
const ELEMENT_COUNT = 50_000_000; // 400 MB of float64: element i holds i
const PIECE = 512 * 1024; // elements written at a time
const FIXTURE = fileURLToPath(new URL("./test-fixtures/file-server.ts", import.meta.url));
const SAMPLES = [0, 1, 12_345_678, 33_554_431, ELEMENT_COUNT - 1];
/**
 * What the transports may hold: per WebSocket stream its queue (maxQueuedBytes, 4 MiB) plus a
 * chunk being read and one being sent (4 MiB each, the chunk size asked for); per HTTP stream
 * a chunk being written and one being read (1 MiB each, the server's default chunk).
 */
const POOL_BYTES = 4 * (4 * MiB + 2 * 4 * MiB) + 4 * (2 * MiB);
/** For V8's heap and code, ws and http internals, and the allocator keeping freed buffers. */
const MARGIN_BYTES = 128 * MiB;

function rssOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kB = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kB("VmRSS"), hwm: kB("VmHWM") };
}

/** Writes the 400 MB file in 4 MiB pieces (never whole in memory). */
function writeSignal(path: string): void {
  const fd = openSync(path, "w");
  writeSync(fd, encodeNpyHeader({ dtype: "float64", shape: [ELEMENT_COUNT] }));
  const piece = new Float64Array(PIECE);
  for (let first = 0; first < ELEMENT_COUNT; first += PIECE) {
    const n = Math.min(PIECE, ELEMENT_COUNT - first);
    for (let i = 0; i < n; i++) piece[i] = first + i;
    writeSync(fd, new Uint8Array(piece.buffer, 0, n * 8));
  }
  closeSync(fd);
}

describe.skipIf(process.platform !== "linux")("a 400 MB .npy to 8 clients", () => {
  let remove: () => void;
  let child: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const made = makeTempDir("aw-memory-");
    remove = made.remove;
    const path = join(made.dir, "signal.npy");
    writeSignal(path);
    child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", FIXTURE, JSON.stringify({ path })], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("file server did not start within 20 s")), 20_000);
      child.once("exit", (code) => reject(new Error(`file server exited with ${code}`)));
      child.on("message", (m: { type: string; url?: string }) => {
        if (m.type === "listening") {
          clearTimeout(timer);
          resolve(m.url as string);
        }
      });
    });
  }, 60_000);

  afterAll(() => {
    child?.disconnect();
    child?.kill();
    remove?.();
  });

  const gc = () =>
    new Promise<void>((resolve) => {
      const onMessage = (m: { type: string }) => {
        if (m.type === "gc-done") {
          child.off("message", onMessage);
          resolve();
        }
      };
      child.on("message", onMessage);
      child.send({ type: "gc" });
    });

  it("keeps server RSS within its pools plus a margin, and serves every byte", async () => {
    const deadline = Date.now() + 100_000;
    // Warm-up: one stream per transport, so code and pools exist before the baseline.
    await Promise.all([drainWs(url, "file", SAMPLES, deadline), drainHttp(url, "file", SAMPLES, deadline)]);
    await gc();
    const pid = child.pid as number;
    const baseline = rssOf(pid).rss;
    let peak = baseline;
    const timer = setInterval(() => {
      peak = Math.max(peak, rssOf(pid).rss);
    }, 20);
    try {
      const reports = await Promise.all([
        ...Array.from({ length: 4 }, () => drainWs(url, "file", SAMPLES, deadline)),
        ...Array.from({ length: 4 }, () => drainHttp(url, "file", SAMPLES, deadline)),
      ]);
      peak = Math.max(peak, rssOf(pid).rss);
      const over = peak - baseline;
      console.log(
        `file-memory: server RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak +${(over / MiB).toFixed(0)} MiB ` +
          `(bound ${(POOL_BYTES / MiB).toFixed(0)} MiB pools + ${(MARGIN_BYTES / MiB).toFixed(0)} MiB margin)`,
      );
      for (const report of reports) {
        expect(report.byteLength).toBe(ELEMENT_COUNT * 8);
        expect(report.values).toEqual(SAMPLES);
      }
      expect(over).toBeLessThanOrEqual(POOL_BYTES + MARGIN_BYTES);
      // Far from one copy of the file (a source that read it whole would add 400 MB).
      expect(over).toBeLessThan((ELEMENT_COUNT * 8) / 2);
    } finally {
      clearInterval(timer);
    }
  }, 120_000);
});
