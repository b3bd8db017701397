/**
 * 400 MB through fetchArray over Node's HTTP transport (the raw socket reader), from a real
 * ArrayServer, verify on: into a fresh target and into a reused one, byte-identical by SHA-256,
 * the client's RSS growth bounded (generous margins: the test process also holds the server's
 * array). Heavy: run it under `flock /tmp/aw-heavy.lock` (the whole suite is).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer } from "../server/index.ts";
import { fetchArray } from "./index.ts";
import { bytesOf } from "./test-helpers.ts";

const ELEMENT_COUNT = 50_000_000; // 400 MB of float64
const BYTE_LENGTH = ELEMENT_COUNT * 8;
const MB = 1e6;

const source = new Float64Array(ELEMENT_COUNT);
let digest = "";
let server: ArrayServer;
let url = "";

function sha256(view: ArrayBufferView): string {
  return createHash("sha256").update(bytesOf(view)).digest("hex");
}

/** RSS growth across `run` (after a GC when exposed), in bytes. */
async function rssGrowth<T>(run: () => Promise<T>): Promise<{ value: T; growth: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage.rss();
  const value = await run();
  return { value, growth: process.memoryUsage.rss() - before };
}

beforeAll(async () => {
  for (let i = 0; i < ELEMENT_COUNT; i++) source[i] = i * 0.25 - 3;
  digest = sha256(source);
  server = new ArrayServer({ port: 0, log: () => {} });
  await server.listen();
  url = server.url;
  server.publish("big", source);
  // Computes and caches the server's checksum, so the measured fetches only stream.
  await fetchArray(url, "big", { transport: "http", range: [0, 1] });
});

afterAll(async () => {
  await server.close();
});

describe("Node HTTP: 400 MB", () => {
  it("arrives byte-identical in a fresh target; RSS grows by the array, at most 1.1x + 64 MB", async () => {
    const { value, growth } = await rssGrowth(() => fetchArray<Float64Array>(url, "big", { transport: "http" }));
    expect(sha256(value.array)).toBe(digest);
    expect(growth).toBeGreaterThanOrEqual(0.9 * BYTE_LENGTH); // the target is resident: the measure sees it
    expect(growth).toBeLessThanOrEqual(1.1 * BYTE_LENGTH + 64 * MB);
  });

  it("arrives byte-identical in a reused target, twice, RSS growing less than 64 MB", async () => {
    const into = new Float64Array(ELEMENT_COUNT).fill(-1);
    for (let round = 0; round < 2; round++) {
      const { value, growth } = await rssGrowth(() =>
        fetchArray<Float64Array>(url, "big", { transport: "http", into }),
      );
      expect(value.array).toBe(into);
      expect(sha256(into)).toBe(digest);
      expect(growth).toBeLessThan(64 * MB);
      into.fill(-1);
    }
  });
});
