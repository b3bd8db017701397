/**
 * The Python client written from docs/PROTOCOL.md alone (docs/examples/arraywire_client.py)
 * against a real ArrayServer, for the extensions a non-JS client learns from the document:
 * discovery (--list, --stat: JSON over HTTP, §18) and subscriptions (--subscribe: SUBSCRIBE and
 * GROW, §17), while the server appends. Skipped when python3 (3.11+) is not on the PATH.
 */
import { execFile, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer, arange, type LiveArray } from "../server/index.ts";
import { fetchArray } from "./index.ts";

const CLIENT = fileURLToPath(new URL("../docs/examples/arraywire_client.py", import.meta.url));

function findPython(): string | null {
  const probe = spawnSync("python3", ["-c", "import sys; print(sys.version_info >= (3, 11))"], { encoding: "utf8" });
  return probe.status === 0 && probe.stdout.trim() === "True" ? "python3" : null;
}
const python = findPython();

/** Runs the client (asynchronously: the server lives in this process) and parses its JSON line. */
function runClient(args: string[]): Promise<{ code: number; out: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    execFile(python ?? "python3", [CLIENT, ...args], { timeout: 50_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      try {
        resolve({ code, out: JSON.parse(stdout.trim().split("\n").pop() ?? "") as Record<string, unknown> });
      } catch {
        reject(new Error(`client printed no JSON (exit ${code}): ${stdout}\n${stderr}`));
      }
    });
  });
}

describe.skipIf(python === null)("Python client: discovery and subscriptions", () => {
  let server: ArrayServer;
  let live: LiveArray;

  beforeAll(async () => {
    server = new ArrayServer({ log: () => {} });
    await server.listen();
    server.publish("small", new Int16Array([1, -2, 3, -4, 5, -6]), { shape: [2, 3], meta: { unit: "mV" } });
    server.publish("arange", arange());
    live = server.publishLive("live", { dtype: "float64", maxLength: 10_000, rowShape: [3] });
    live.append(Float64Array.from({ length: 30 }, (_, i) => i));
  });

  afterAll(async () => {
    await server?.close();
  });

  it("lists what the server publishes", async () => {
    const run = await runClient([server.url, "--list"]);
    expect(run.code).toBe(0);
    const arrays = run.out.arrays as Record<string, unknown>[];
    expect(arrays.map((a) => a.name)).toEqual(["small", "arange", "live"]);
    expect(arrays[0]).toEqual({
      name: "small",
      kind: "array",
      live: false,
      // The content generation a stream of it carries.
      generation: (await fetchArray(server.url, "small")).generation,
      dtype: "int16",
      shape: [2, 3],
      byteLength: 12,
      meta: { unit: "mV" },
    });
    expect(arrays[2]).toMatchObject({ kind: "live", live: true, maxLength: 10_000 });
  });

  it("stats a generator with params, and gets a typed refusal for an unknown name", async () => {
    const run = await runClient([server.url, "arange", "--stat", "--params", '{"length":6,"dtype":"int32"}']);
    expect(run.code).toBe(0);
    expect(run.out).toMatchObject({ name: "arange", dtype: "int32", shape: [6], byteLength: 24 });
    const unknown = await runClient([server.url, "nope", "--stat"]);
    expect(unknown).toMatchObject({ code: 1, out: { error: "E_UNKNOWN_NAME" } });
  });

  it("subscribes: what exists, then the appends made while it runs, until the server's END", async () => {
    const appender = setInterval(() => {
      if (live.length < 40) live.append(Float64Array.from({ length: 3 }, (_, i) => live.length * 3 + i));
      else {
        clearInterval(appender);
        live.close();
      }
    }, 30);
    const run = await runClient([server.url, "live", "--subscribe"]);
    clearInterval(appender);
    expect(run.code).toBe(0);
    expect(run.out).toMatchObject({ dtype: "float64", shape: [40, 3], byteLength: 960, ended: "END", last: 119 });
    const updates = run.out.updates as number[];
    expect(updates[0]).toBeGreaterThanOrEqual(30);
    expect(updates.at(-1)).toBe(120);
    expect(updates.every((n, i) => i === 0 || n > (updates[i - 1] as number))).toBe(true);
  });

  it("subscribes to a range in the middle of a fixed array, and stops after N updates with CANCEL", async () => {
    const range = await runClient([server.url, "small", "--subscribe", "--range", "1:5"]);
    expect(range.out).toMatchObject({ shape: [4], first: [-2, 3, -4, 5], ended: "END" });
    const another = server.publishLive("open", { dtype: "uint8", maxLength: 100 });
    another.append(new Uint8Array([7, 8, 9]));
    const cancelled = await runClient([server.url, "open", "--subscribe", "--updates", "1"]);
    expect(cancelled.out).toMatchObject({ byteLength: 3, updates: [3], ended: "cancelled" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(another.subscriberCount).toBe(0);
  });
});
