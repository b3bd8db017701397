/** ChunkCache: bounded by bytes, least recently used out first, one load per key, maxLoads at a time. */
import { describe, expect, it } from "vitest";
import { ChunkCache } from "./chunk-cache.ts";

const chunk = (byteLength: number, label: string) => ({ byteLength, label });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("ChunkCache", () => {
  it("keeps at most its byte bound, dropping the least recently used first, and at least the newest", async () => {
    const cache = new ChunkCache<{ byteLength: number; label: string }>(250, 2);
    await cache.get("a", async () => chunk(100, "a"));
    await cache.get("b", async () => chunk(100, "b"));
    expect(cache.byteLength).toBe(200);
    expect(cache.peek("a")?.label).toBe("a"); // a is now the most recently used
    await cache.get("c", async () => chunk(100, "c"));
    expect(cache.byteLength).toBe(200);
    expect(cache.peek("b")).toBeUndefined();
    expect(cache.peek("a")?.label).toBe("a");
    // A chunk over the bound alone is still kept (the source needs one chunk at least).
    await cache.get("big", async () => chunk(400, "big"));
    expect(cache.byteLength).toBe(400);
    expect(cache.peek("big")?.label).toBe("big");
    expect(cache.peek("a")).toBeUndefined();
    cache.clear();
    expect(cache.byteLength).toBe(0);
  });

  it("shares one load per key and runs at most maxLoads at once", async () => {
    const cache = new ChunkCache<{ byteLength: number; label: string }>(10_000, 2);
    let running = 0;
    let most = 0;
    let loads = 0;
    const releases: (() => void)[] = [];
    const load = (label: string) => async () => {
      loads++;
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
      return chunk(10, label);
    };
    const gets = [
      cache.get("x", load("x")),
      cache.get("x", load("x-again")),
      cache.get("y", load("y")),
      cache.get("z", load("z")),
    ];
    await tick();
    expect(loads).toBe(2); // x and y run, z waits, the second x joins the first
    while (releases.length > 0 || running > 0) {
      releases.shift()?.();
      await tick();
    }
    const got = await Promise.all(gets);
    expect(got.map((c) => c.label)).toEqual(["x", "x", "y", "z"]);
    expect(loads).toBe(3);
    expect(most).toBe(2);
  });

  it("forgets a failed load, so the next get tries again", async () => {
    const cache = new ChunkCache<{ byteLength: number; label: string }>(100, 1);
    await expect(cache.get("a", async () => Promise.reject(new Error("disk")))).rejects.toThrow("disk");
    expect((await cache.get("a", async () => chunk(1, "a"))).label).toBe("a");
  });
});
