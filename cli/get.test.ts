/**
 * `arraywire get` as a child process against `arraywire serve` (also a child) and, for slow
 * transfers, an in-process ArrayServer whose source waits before each chunk: whole arrays and
 * ranges in the middle written as .npy files (checked with shared/npy.ts, and loaded by numpy
 * where Debian's python3-numpy is installed), the exit codes of failures, plain progress lines
 * in a pipe, and SIGINT removing the partial file.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer, type ArraySource } from "../server/index.ts";
import {
  HAS_NUMPY,
  loadWithNumpy,
  readNpyWithTs,
  runCli,
  type ServeChild,
  startCli,
  startServe,
  waitFor,
  writeNpy,
} from "./test-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "arraywire-cli-get-"));
const grid = Float64Array.from({ length: 100 * 10 }, (_, i) => i * 0.5 - 7);
const ramp = Int32Array.from({ length: 5000 }, (_, i) => i * 3 - 1000);
let serve: ServeChild;

beforeAll(async () => {
  writeNpy(join(dir, "grid.npy"), grid, [100, 10]);
  writeNpy(join(dir, "ramp.npy"), ramp);
  serve = await startServe([join(dir, "grid.npy"), join(dir, "ramp.npy")]);
});

afterAll(async () => {
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function bytesOf(array: Float64Array | Int32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

describe("arraywire get", () => {
  it("writes a whole 2-d array as the .npy header numpy writes, then its bytes", async () => {
    const out = join(dir, "whole.npy");
    const run = await runCli(["get", serve.url, "grid", "-o", out]);
    expect(run.stderr).toMatch(/wrote .*whole\.npy \(float64 \[100, 10\], 8\.0 kB\)/);
    expect(run.code).toBe(0);
    const file = readNpyWithTs(out);
    expect(file.descr).toBe("<f8");
    expect(file.shape).toEqual([100, 10]);
    expect(file.data).toEqual(bytesOf(grid));
    expect(existsSync(`${out}.part`)).toBe(false);
  });

  it("writes rows in the middle of a 2-d array (--range 30:70) with the shape of the rows", async () => {
    const out = join(dir, "rows.npy");
    const run = await runCli(["get", serve.url, "grid", "--range", "30:70", "-o", out, "-q"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    const file = readNpyWithTs(out);
    expect(file.shape).toEqual([40, 10]);
    expect(file.data).toEqual(bytesOf(grid.subarray(300, 700)));
  });

  it("writes elements in the middle of a 1-d array, with a negative end counted from the last", async () => {
    const out = join(dir, "mid.npy");
    const run = await runCli(["get", serve.url, "ramp", "--range", "1234:-1000", "-o", out, "-q"]);
    expect(run.code).toBe(0);
    const file = readNpyWithTs(out);
    expect(file.shape).toEqual([4000 - 1234]);
    expect(file.data).toEqual(bytesOf(ramp.subarray(1234, 4000)));
  });

  it("fetches window by window into one reused buffer: a middle range over 13 windows of 250 elements", async () => {
    const out = join(dir, "windows.npy");
    // 1001 bytes hold 250 int32: windows end mid-array and the last one is short.
    const run = await runCli(["get", serve.url, "ramp", "--range", "1234:4321", "--window", "1001", "-o", out, "-q"]);
    expect(run.code).toBe(0);
    const file = readNpyWithTs(out);
    expect(file.shape).toEqual([4321 - 1234]);
    expect(file.data).toEqual(bytesOf(ramp.subarray(1234, 4321)));
  });

  it.skipIf(!HAS_NUMPY)("writes files numpy loads: a whole array and a range (python3-numpy)", async () => {
    const whole = join(dir, "np-whole.npy");
    const part = join(dir, "np-part.npy");
    expect((await runCli(["get", serve.url, "grid", "-o", whole, "-q"])).code).toBe(0);
    expect((await runCli(["get", serve.url, "ramp", "-r", "10:20", "-o", part, "-q", "-t", "http"])).code).toBe(0);
    const a = loadWithNumpy(whole);
    expect(a).toEqual({ descr: "<f8", shape: [100, 10], values: Array.from(grid) });
    const b = loadWithNumpy(part);
    expect(b).toEqual({ descr: "<i4", shape: [10], values: Array.from(ramp.subarray(10, 20)) });
  });
  if (!HAS_NUMPY) {
    it("numpy check skipped: python3-numpy is not installed (apt-get install python3-numpy); files checked with shared/npy.ts", () => {
      expect(HAS_NUMPY).toBe(false);
    });
  }

  it("names the file after the array when -o is not given", async () => {
    const run = await runCli(["get", serve.url, "ramp", "-q", "--range", ":5"], { cwd: dir });
    expect(run.code).toBe(0);
    expect(readNpyWithTs(join(dir, "ramp.npy")).data).toEqual(bytesOf(ramp.subarray(0, 5)));
  });

  it("exits 1 with E_UNKNOWN_NAME for an array the server does not publish, and writes nothing", async () => {
    const out = join(dir, "missing.npy");
    const run = await runCli(["get", serve.url, "nope", "-o", out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^arraywire get: E_UNKNOWN_NAME: Unknown array: "nope" is not published\n$/);
    expect(existsSync(out) || existsSync(`${out}.part`)).toBe(false);
  });

  it("exits 1 with E_BAD_RANGE for rows past the end, and 2 for a range that does not parse", async () => {
    const past = await runCli(["get", serve.url, "grid", "--range", "90:101", "-o", join(dir, "x.npy")]);
    expect(past.code).toBe(1);
    expect(past.stderr).toContain(
      "E_BAD_RANGE: --range: expected end from -100 to 100 (the array has 100 rows), got 101",
    );
    const bad = await runCli(["get", serve.url, "grid", "--range", "3-5"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Usage: arraywire get <url> <name>");
  });

  it("exits 1 with ENOENT when the output directory does not exist", async () => {
    const run = await runCli(["get", serve.url, "grid", "-o", join(dir, "no-such-dir", "g.npy")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^arraywire get: ENOENT: no such file or directory/);
  });

  it("exits 1 with the connection's code when nothing listens at the URL", async () => {
    const run = await runCli(["get", "ws://127.0.0.1:1/arraywire", "grid", "-o", join(dir, "y.npy")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^arraywire get: E_[A-Z_]+: /);
  });
});

/** A float64 source of `byteLength` bytes whose reads each wait `delayMs` (zeros). */
function slowSource(byteLength: number, delayMs: number): ArraySource {
  return {
    open: () => ({
      dtype: "float64",
      shape: [byteLength / 8],
      read: async (_offset, _length, scratch) => {
        await new Promise((r) => setTimeout(r, delayMs));
        return scratch.fill(0);
      },
    }),
  };
}

describe("arraywire get, slow transfers", () => {
  let server: ArrayServer;
  beforeAll(async () => {
    server = new ArrayServer({ port: 0, host: "127.0.0.1", chunkByteLength: 1 << 20 });
    // 16 MiB in 4 MiB chunks (the Node client's default chunk), 250 ms each.
    server.publish("slow", slowSource(16 << 20, 250));
    server.publish("slower", slowSource(64 << 20, 500));
    await server.listen();
  });
  afterAll(() => server?.close());

  it("prints plain progress lines in a pipe: each tenth crossed, rising, then the total", async () => {
    const out = join(dir, "slow.npy");
    const run = await runCli(["get", server.url, "slow", "-o", out]);
    expect(run.code).toBe(0);
    // No carriage returns or escape codes: lines a log keeps as they are.
    expect(run.stderr.includes("\r") || run.stderr.includes("\u001b")).toBe(false);
    const lines = run.stderr.trim().split("\n");
    const progress = lines.filter((l) => /^arraywire get slow: \d+% /.test(l));
    const percents = progress.map((l) => Number(/: (\d+)%/.exec(l)?.[1]));
    // Four chunks: lines at 25, 50 and 75 % at least, never one per report of the 50 ms throttle.
    expect(progress.length).toBeGreaterThanOrEqual(4);
    expect(progress.length).toBeLessThanOrEqual(11);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
    for (const line of progress.slice(0, -1)) {
      expect(line).toMatch(/^arraywire get slow: \d+% [\d.]+ MB of 16\.8 MB, [\d.]+ MB\/s, ETA (\d+ s|\?)$/);
    }
    expect(progress.at(-1)).toMatch(/^arraywire get slow: 100% 16\.8 MB in [\d.]+ s, [\d.]+ MB\/s$/);
    expect(statSync(out).size).toBe(128 + (16 << 20));
  });

  it("exits 1 with E_GONE, removing the partial file, when the array is republished between windows", async () => {
    server.publish("changing", slowSource(16 << 20, 250));
    const out = join(dir, "changing.npy");
    const run = startCli(["get", server.url, "changing", "--window", "4M", "-o", out]);
    await waitFor(() => existsSync(`${out}.part`) && statSync(`${out}.part`).size > 128, "the first window on disk");
    server.publish("changing", slowSource(16 << 20, 250)); // a new generation
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /arraywire get: E_GONE: "changing" changed during the transfer .*generation \d+ became \d+\); get it again\n$/,
    );
    expect(existsSync(`${out}.part`) || existsSync(out)).toBe(false);
  });

  it("on SIGINT stops, removes the partial file and exits 130", async () => {
    const out = join(dir, "interrupted.npy");
    const run = startCli(["get", server.url, "slower", "-o", out]);
    // Wait until data (past the 128-byte header) is in the .part file: the transfer is under way.
    await waitFor(() => existsSync(`${out}.part`) && statSync(`${out}.part`).size > 128, "the first chunk on disk");
    run.child.kill("SIGINT");
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/arraywire get: interrupted\n$/);
    expect(existsSync(`${out}.part`)).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith("interrupted"))).toEqual([]);
  });
});
