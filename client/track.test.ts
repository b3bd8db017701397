/**
 * The page-side registry hook (client/track.ts): a fetch records its key, progress and outcome in
 * a registry when one is installed, and a registry that throws changes nothing about the fetch.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer } from "../server/index.ts";
import { StreamError } from "../shared/index.ts";
import { ArrayClient, fetchArray } from "./index.ts";
import { REGISTRY_KEY, type TrackedTransferInfo } from "./track.ts";

const LENGTH = 600_000; // 4.8 MB: several progress reports
let server: ArrayServer;
let url = "";
const KEY = Symbol.for(REGISTRY_KEY);
const globals = globalThis as Record<symbol, unknown>;

interface Log {
  begun: TrackedTransferInfo[];
  progress: number[];
  done: { key: string; length: number }[];
  failed: { key: string; code: unknown }[];
}

/** Installs a registry that logs every call; `broken` makes each of its methods throw. */
function install(broken: "begin" | "methods" | null = null): Log {
  const log: Log = { begun: [], progress: [], done: [], failed: [] };
  globals[KEY] = {
    version: 1,
    begin(info: TrackedTransferInfo) {
      if (broken === "begin") throw new Error("broken begin");
      log.begun.push(info);
      return {
        progress(p: { receivedByteLength: number }) {
          log.progress.push(p.receivedByteLength);
          if (broken === "methods") throw new Error("broken progress");
        },
        done(r: { array: { length: number } }) {
          log.done.push({ key: info.key, length: r.array.length });
          if (broken === "methods") throw new Error("broken done");
        },
        fail(e: { code?: unknown }) {
          log.failed.push({ key: info.key, code: e?.code });
          if (broken === "methods") throw new Error("broken fail");
        },
      };
    },
  };
  return log;
}

beforeAll(async () => {
  server = new ArrayServer({ port: 0, log: () => {} });
  const { port } = await server.listen();
  url = `ws://127.0.0.1:${port}/arraywire`;
  server.publish(
    "a",
    Float64Array.from({ length: LENGTH }, (_, i) => i),
  );
});

afterEach(() => {
  delete globals[KEY];
});

afterAll(async () => {
  await server.close();
});

describe("a page-side registry", () => {
  for (const transport of ["ws", "http"] as const) {
    it(`records a fetch under its name: begin, progress up to the total, done (${transport})`, async () => {
      const log = install();
      const result = await fetchArray(url, "a", { transport, progressIntervalMs: 0 });
      expect(log.begun).toEqual([{ key: "a", name: "a", url: expect.stringContaining("/arraywire"), thread: "main" }]);
      expect(log.progress.length).toBeGreaterThan(1);
      expect(log.progress.at(-1)).toBe(LENGTH * 8);
      expect(log.done).toEqual([{ key: "a", length: result.array.length }]);
      expect(log.failed).toEqual([]);
    });
  }

  it("records under `track` when given, and a failure with its code", async () => {
    const log = install();
    const err = await fetchArray(url, "missing", { track: "mine" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamError);
    expect(log.begun.map((b) => b.key)).toEqual(["mine"]);
    expect(log.failed).toEqual([{ key: "mine", code: "E_UNKNOWN_NAME" }]);
  });

  it("keeps calling the caller's onProgress, and its throw still fails the fetch", async () => {
    const log = install();
    const mine = new Error("mine");
    const seen: number[] = [];
    const err = await fetchArray(url, "a", {
      progressIntervalMs: 0,
      onProgress: (p) => {
        seen.push(p.receivedByteLength);
        if (seen.length === 2) throw mine;
      },
    }).catch((e: unknown) => e);
    expect(err).toBe(mine);
    expect(seen.length).toBe(2);
    expect(log.failed).toEqual([{ key: "a", code: undefined }]);
  });

  it("records ArrayClient.fetch too", async () => {
    const log = install();
    const client = await ArrayClient.connect(url);
    try {
      await client.fetch("a", { range: [10, 20], track: "slice" });
    } finally {
      client.close();
    }
    expect(log.begun).toEqual([{ key: "slice", name: "a", url: expect.stringMatching(/^ws:/), thread: "main" }]);
    expect(log.done).toEqual([{ key: "slice", length: 10 }]);
  });

  for (const broken of ["begin", "methods"] as const) {
    it(`changes nothing about the fetch when its ${broken === "begin" ? "begin" : "recorder's methods"} throw`, async () => {
      install(broken);
      const result = await fetchArray(url, "a", { progressIntervalMs: 0 });
      expect(result.array.length).toBe(LENGTH);
      const err = await fetchArray(url, "missing").catch((e: unknown) => e);
      expect((err as StreamError).code).toBe("E_UNKNOWN_NAME");
    });
  }

  it("is ignored when it has another version", async () => {
    const log = install();
    (globals[KEY] as { version: number }).version = 2;
    await fetchArray(url, "a", { range: [0, 4] });
    expect(log.begun).toEqual([]);
  });

  it("refuses an empty track key (TypeError), before any I/O", async () => {
    await expect(fetchArray(url, "a", { track: "" })).rejects.toThrow(
      new TypeError('Invalid track: expected a non-empty string, got ""'),
    );
  });
});
