/**
 * npyFile through a real ArrayServer and the reference client, on both transports: whole arrays,
 * ranges in the middle, resume from the middle, generations that follow the file's content, and
 * E_GONE when the file changes during a stream or between a stream and its resume.
 */
import { appendFileSync, closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchArray } from "../../client/index.ts";
import { encodeRequest, type StreamError, xxh32 } from "../../shared/index.ts";
import { ArrayServer, npyFile } from "../index.ts";
import { RawClient } from "../test-helpers.ts";
import { WATCH_INTERVAL_MS } from "./npy-file.ts";
import { byteSwapped, makeTempDir, npyBytes, openWith, sleep } from "./test-helpers.ts";

const LENGTH = 3_000_000; // 24 MB of float64
const value = (i: number) => Math.sin(i / 1000) * 100 + i * 1e-3;

/** Byte equality of two typed arrays (toEqual walks millions of elements one by one). */
function expectSameBytes(actual: ArrayBufferView, expected: ArrayBufferView): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  expect(a.byteLength).toBe(b.byteLength);
  expect(a.equals(b)).toBe(true);
}

async function rejection(promise: Promise<unknown>): Promise<StreamError> {
  try {
    await promise;
  } catch (err) {
    return err as StreamError;
  }
  throw new Error("expected a rejection");
}

describe("npyFile served", () => {
  let dir: string;
  let remove: () => void;
  let server: ArrayServer;
  let path: string;
  const expected = Float64Array.from({ length: LENGTH }, (_, i) => value(i));
  const logs: string[] = [];

  beforeEach(async () => {
    ({ dir, remove } = makeTempDir());
    path = join(dir, "signal.npy");
    writeFileSync(path, npyBytes({ descr: "<f8", shape: [LENGTH], data: new Uint8Array(expected.buffer) }));
    writeFileSync(
      join(dir, "be.npy"),
      npyBytes({
        descr: ">f8",
        shape: [1000, 3000],
        data: byteSwapped(new Uint8Array(expected.buffer), 8),
        version: 3,
      }),
    );
    logs.length = 0;
    server = new ArrayServer({ port: 0, log: (m) => logs.push(m) });
    await server.listen();
    server.publish("signal", npyFile(path));
    server.publish("be", npyFile(join(dir, "be.npy")));
    server.publish("broken", npyFile(join(dir, "broken.npy")));
    await sleep(30); // past the file system's timestamp tick of the writes above
  });

  afterEach(async () => {
    await server.close();
    remove();
  });

  it.each(["ws", "http"] as const)("streams a whole file and a big-endian one over %s", async (transport) => {
    const whole = await fetchArray<Float64Array>(server.url, "signal", { transport });
    expect(whole.shape).toEqual([LENGTH]);
    expectSameBytes(whole.array, expected);
    const be = await fetchArray<Float64Array>(server.url, "be", { transport });
    expect(be.shape).toEqual([1000, 3000]);
    expect(be.meta).toEqual({ source: "npy", descr: ">f8" });
    expectSameBytes(be.array, expected);
  });

  it.each(["ws", "http"] as const)("streams a range in the middle over %s", async (transport) => {
    const result = await fetchArray<Float64Array>(server.url, "be", { transport, range: [123_457, 2_654_321] });
    expect(result.arrayShape).toEqual([1000, 3000]);
    expectSameBytes(result.array, expected.subarray(123_457, 2_654_321));
  });

  it.each(["ws", "http"] as const)("resumes a file stream from the middle (an odd byte) over %s", async (transport) => {
    const first = await fetchArray<Float64Array>(server.url, "signal", { transport, range: [10, 20] });
    const target = new Float64Array(LENGTH - 1000);
    const held = 8 * 1_000_003 + 5;
    new Uint8Array(target.buffer).set(new Uint8Array(expected.buffer, 8000, held));
    const result = await fetchArray<Float64Array>(server.url, "signal", {
      transport,
      range: [1000, LENGTH],
      into: target,
      resumeFrom: { array: target, receivedByteLength: held, generation: first.generation },
    });
    expectSameBytes(result.array, expected.subarray(1000));
  });

  it("gives the generation of the file's content: the same on another server, another once it changed", async () => {
    const a = await fetchArray(server.url, "signal", { range: [0, 1] });
    // PROTOCOL.md section 10.2: nz(XXH32("arraywire.v1\0" + dtype + "\0" + shape + "\0" + meta JSON
    // + "\0version\0" + version)), the file's version being its identity.
    const opened = await openWith(npyFile(path));
    const meta = JSON.stringify(opened.meta);
    const text = `arraywire.v1\0float64\0${LENGTH}\0${meta}\0version\0${opened.version}`;
    const hash = xxh32(new TextEncoder().encode(text));
    opened.close?.();
    expect(a.generation).toBe(hash === 0 ? 1 : hash);
    const other = new ArrayServer({ port: 0 });
    await other.listen();
    try {
      other.publish("signal", npyFile(path));
      other.publish("first", new Float64Array(1)); // a publish before it: the counter is not what counts
      const b = await fetchArray(other.url, "signal", { range: [0, 1] });
      expect(b.generation).toBe(a.generation);
    } finally {
      await other.close();
    }
    server.publish("signal", npyFile(path)); // republishing the same file keeps the generation
    expect((await fetchArray(server.url, "signal", { range: [0, 1] })).generation).toBe(a.generation);
    const fd = openSync(path, "r+");
    writeSync(fd, Uint8Array.of(1), 0, 1, 4000);
    closeSync(fd);
    expect((await fetchArray(server.url, "signal", { range: [0, 1] })).generation).not.toBe(a.generation);
  });

  it.each(["ws", "http"] as const)("answers a resume after the file changed with E_GONE over %s", async (transport) => {
    const first = await fetchArray<Float64Array>(server.url, "signal", { transport, range: [0, 10] });
    appendFileSync(path, new Uint8Array(0));
    const fd = openSync(path, "r+");
    writeSync(fd, Uint8Array.of(1), 0, 1, 4000);
    closeSync(fd);
    const target = new Float64Array(LENGTH);
    const err = await rejection(
      fetchArray(server.url, "signal", {
        transport,
        into: target,
        resumeFrom: { array: target, receivedByteLength: 800_000, generation: first.generation },
      }),
    );
    expect(err.code).toBe("E_GONE");
    expect(err.message).toMatch(/^Array "signal" changed: expected generation \d+, got \d+; restart the transfer$/);
  });

  it("fails a WebSocket stream whose file is appended to mid-way with E_GONE, never a mix", async () => {
    let changed = false;
    const err = await rejection(
      fetchArray(server.url, "signal", {
        transport: "ws",
        chunkByteLength: 256 * 1024,
        creditByteLength: 1024 * 1024,
        progressIntervalMs: 0,
        onProgress: (p) => {
          if (!changed && p.receivedByteLength > 0) {
            changed = true;
            appendFileSync(path, new Uint8Array(8));
          }
        },
      }),
    );
    expect(changed).toBe(true);
    expect(err.code).toBe("E_GONE");
    expect(err.message).toMatch(/^Array "signal\.npy" changed while it was read \(size \d+ -> \d+ bytes\)/);
  });

  it("cuts an HTTP body whose file is rewritten mid-way; the client's resume then gets E_GONE", async () => {
    let changed = false;
    const err = await rejection(
      fetchArray(server.url, "signal", {
        transport: "http",
        resume: { attempts: 2, initialDelayMs: 10 },
        progressIntervalMs: 0,
        onProgress: (p) => {
          if (!changed && p.receivedByteLength > 0) {
            changed = true;
            const fd = openSync(path, "r+");
            writeSync(fd, new Uint8Array(8).fill(7), 0, 8, 200_000);
            closeSync(fd);
          }
        },
      }),
    );
    expect(changed).toBe(true);
    expect(err.code).toBe("E_GONE");
  });

  it("lets a new request open the new version while a stalled stream holds the old one", async () => {
    const raw = await RawClient.connect(server.url);
    try {
      raw.send(
        encodeRequest({
          streamId: 1,
          name: "signal",
          params: null,
          range: null,
          checksum: "none",
          chunkByteLength: 65_536,
          creditByteLength: 65_536,
          resumeByteOffset: 0,
          expectedGeneration: null,
        }),
      );
      await raw.next(); // ARRAY_HEADER: the stalled stream holds the open array
      const replacement = Float64Array.from({ length: 1000 }, (_, i) => -i);
      writeFileSync(
        join(dir, "new.npy"),
        npyBytes({ descr: "<f8", shape: [1000], data: new Uint8Array(replacement.buffer) }),
      );
      const { renameSync } = await import("node:fs");
      renameSync(join(dir, "new.npy"), path);
      await sleep(WATCH_INTERVAL_MS * 1.5);
      const fresh = await fetchArray<Float64Array>(server.url, "signal");
      expect(fresh.array).toEqual(replacement);
    } finally {
      raw.ws.terminate();
    }
  });

  it("answers a broken or missing file with E_INTERNAL or E_UNKNOWN_NAME, and logs the broken one's code", async () => {
    const missing = await rejection(fetchArray(server.url, "broken", { transport: "http" }));
    expect(missing.code).toBe("E_UNKNOWN_NAME");
    expect(missing.message).toBe('Unknown array: "broken.npy" has no file');
    writeFileSync(join(dir, "broken.npy"), new Uint8Array(200));
    const broken = await rejection(fetchArray(server.url, "broken"));
    expect(broken.code).toBe("E_INTERNAL");
    expect(broken.message).not.toContain(dir);
    expect(logs.some((l) => l.includes("FileSourceError: broken.npy: Not an .npy file"))).toBe(true);
  });

  it("answers an unsupported dtype with E_UNSUPPORTED, HTTP 501", async () => {
    writeFileSync(join(dir, "broken.npy"), npyBytes({ descr: "<c16", shape: [1], data: new Uint8Array(16) }));
    const response = await fetch(`${server.url.replace("ws:", "http:")}?name=broken`);
    expect(response.status).toBe(501);
    const err = await rejection(fetchArray(server.url, "broken", { transport: "ws" }));
    expect(err.code).toBe("E_UNSUPPORTED");
    expect(err.message).toMatch(/^Cannot serve "broken\.npy": Unsupported/);
  });
});
