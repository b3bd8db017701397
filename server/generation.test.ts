/**
 * Generations derived from content or from a version string: the same array published by several
 * servers (or republished unchanged) has the same generation, so a resume is valid on any of them;
 * another content, dtype, shape, meta or version gets another one; sources name theirs (arange
 * does), or get a per-process number. Servers here run in this process; server/balanced.test.ts
 * checks the same across real processes behind nginx and HAProxy.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ArrayClient, fetchArray } from "../client/index.ts";
import { decodeMessage, END_BYTE_LENGTH, type JsonObject, StreamError, Xxh32, xxh32 } from "../shared/index.ts";
import { contentGeneration, GenerationCounter, versionGeneration } from "./generation.ts";
import { ArrayServer, type ArraySource, arange, fillArange, typedArraySource } from "./index.ts";
import { describeTypedArray } from "./sources.ts";
import { rawHttp } from "./test-fixtures/raw-http.ts";

const MiB = 1024 * 1024;

/** The documented formula (server/generation.ts, docs/PROTOCOL.md §10.2), written out again. */
function documented(dtype: string, shape: number[], meta: JsonObject | null, identity: string): number {
  const text = `arraywire.v1\0${dtype}\0${shape.join(",")}\0${meta === null ? "" : JSON.stringify(meta)}\0${identity}`;
  return xxh32(new TextEncoder().encode(text)) || 1;
}

const servers: ArrayServer[] = [];

async function startServer(): Promise<ArrayServer> {
  const server = new ArrayServer({ port: 0, log: () => {} });
  await server.listen();
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** The generation a server gives `name` (a 2-element range in the middle: the header is what counts). */
async function generationOn(server: ArrayServer, name: string, params?: JsonObject): Promise<number> {
  const { generation } = await fetchArray(server.url, name, { transport: "http", range: [1, 3], params });
  return generation;
}

describe("generations of published typed arrays", () => {
  it("are the same on every server whatever it published before, and when republished unchanged", async () => {
    const [a, b] = [await startServer(), await startServer()];
    const data = fillArange("float64", 10_000) as Float64Array;
    a.publish("x", data);
    b.publish("other", new Int32Array(7));
    b.publish("x", new Float64Array(10_000)); // other content first
    b.publish("x", Float64Array.from(data)); // then a copy of a's array: a new object, the same bytes
    b.publish("x", Float64Array.from(data)); // and once more, unchanged
    const [ga, gb] = [await generationOn(a, "x"), await generationOn(b, "x")];
    expect(gb).toBe(ga);
    const sum = xxh32(new Uint8Array(data.buffer));
    expect(ga).toBe(documented("float64", [10_000], null, `xxh32\0${sum.toString(16).padStart(8, "0")}`));
    expect(ga).toBe(contentGeneration({ dtype: "float64", shape: [10_000], meta: null }, sum));
  });

  it("change with a single byte of the content, the dtype, the shape or the meta", async () => {
    const server = await startServer();
    const base = fillArange("float64", 1000) as Float64Array;
    const changedByte = Float64Array.from(base);
    const bytes = new Uint8Array(changedByte.buffer);
    bytes[4001] = (bytes[4001] as number) ^ 1; // one bit of one byte in the middle
    server.publish("base", base);
    server.publish("byte", changedByte);
    server.publish("dtype", new BigInt64Array(base.buffer)); // the same bytes as int64
    server.publish("shape", base, { shape: [10, 100] });
    server.publish("meta", base, { meta: { unit: "m" } });
    server.publish("meta2", base, { meta: { unit: "s" } });
    const generations = [];
    for (const name of ["base", "byte", "dtype", "shape", "meta", "meta2"]) {
      generations.push(await generationOn(server, name));
    }
    expect(new Set(generations).size, `${generations}`).toBe(6);
  });

  it("derive from the publisher's version string without reading the bytes", async () => {
    const [a, b] = [await startServer(), await startServer()];
    // The version is the publisher's promise: a's and b's bytes differ, their generations do not.
    a.publish("v", new Float64Array(100).fill(1), { version: "release-7" });
    b.publish("v", new Float64Array(100).fill(2), { version: "release-7" });
    b.publish("v8", new Float64Array(100).fill(2), { version: "release-8" });
    b.publish("none", new Float64Array(100).fill(2));
    const ga = await generationOn(a, "v");
    expect(await generationOn(b, "v")).toBe(ga);
    expect(ga).toBe(documented("float64", [100], null, "version\0release-7"));
    expect(await generationOn(b, "v8")).not.toBe(ga);
    expect(await generationOn(b, "none")).not.toBe(await generationOn(b, "v"));
  });

  it("refuses a version that is not a string at publish time", async () => {
    const server = await startServer();
    expect(() => server.publish("v", new Float64Array(4), { version: 7 as unknown as string })).toThrow(
      new TypeError("Invalid publish version: expected a string, got number"),
    );
    expect(() => server.publish("s", arange(), { version: "x" })).toThrow(TypeError);
  });

  it("let a resume started on one server finish on another that published the same array", async () => {
    const [a, b] = [await startServer(), await startServer()];
    const data = fillArange("float64", 100_000) as Float64Array;
    a.publish("x", data);
    b.publish("filler", new Float32Array(3));
    b.publish("x", Float64Array.from(data));
    for (const transport of ["http", "ws"] as const) {
      const first = await fetchArray<Float64Array>(a.url, "x", { transport, range: [1000, 90_000] });
      const held = new Float64Array(89_000);
      held.set(first.array.subarray(0, 40_000)); // 320,000 bytes held from server a
      const result = await fetchArray<Float64Array>(b.url, "x", {
        transport,
        range: [1000, 90_000],
        resumeFrom: { array: held, receivedByteLength: 320_000 + 3, generation: first.generation },
        verify: true,
      });
      expect(result.array).toBe(held);
      expect(result.array[0]).toBe(1000);
      expect(result.array[88_999]).toBe(89_999);
      expect(result.array[40_000]).toBe(41_000);
    }
  });

  it("are the END checksum's backstop: a lying version (or a 32-bit collision) fails the resume with E_CHECKSUM", async () => {
    const [a, b] = [await startServer(), await startServer()];
    a.publish("x", new Float64Array(1000).fill(1), { version: "same" });
    b.publish("x", new Float64Array(1000).fill(2), { version: "same" });
    const first = await fetchArray<Float64Array>(a.url, "x", { transport: "http" });
    const err = await fetchArray(b.url, "x", {
      transport: "http",
      resumeFrom: { array: first.array, receivedByteLength: 4000, generation: first.generation },
      verify: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamError);
    expect(err).toMatchObject({ code: "E_CHECKSUM" });
  });

  it("hash the bytes once, after publish() returned, in slices that leave the event loop free; END's XXH32 is that hash", async () => {
    const server = await startServer();
    const big = new Float64Array(32 * MiB); // 256 MiB: 32 slices of 8 MiB
    for (let i = 0; i < big.length; i += 4096) big[i] = i;
    const update = vi.spyOn(Xxh32.prototype, "update");
    try {
      const publishedAt = performance.now();
      let worstLagMs = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        worstLagMs = Math.max(worstLagMs, now - last);
        last = now;
      }, 2);
      server.publish("big", big);
      expect(update).not.toHaveBeenCalled(); // nothing hashed before publish() returned
      // The first request (2 elements, no checksum asked) waits for the hash; timers keep firing.
      const port = new URL(server.url).port;
      const small = await rawHttp(
        Number(port),
        `GET /arraywire?name=big&start=4096&end=4098 HTTP/1.1\r\nHost: 127.0.0.1`,
      );
      const waitedMs = performance.now() - publishedAt;
      clearInterval(timer);
      expect(small.status).toBe(200);
      const header = decodeMessage(small.body.subarray(0, small.body.byteLength - END_BYTE_LENGTH - 16));
      // Bytes of `big` hashed so far: each exactly once, in 8 MiB slices.
      const hashedOfBig = () => update.mock.calls.filter(([b]) => b.buffer === big.buffer).map(([b]) => b.byteLength);
      expect(hashedOfBig()).toEqual(Array(32).fill(8 * MiB));
      // The whole array with END's XXH32: the server hashes nothing more (the cache), and sends
      // the value the generation derives from.
      const whole = await rawHttp(Number(port), `GET /arraywire?name=big&checksum=xxh32 HTTP/1.1\r\nHost: 127.0.0.1`, {
        keepHead: 0,
        keepTail: END_BYTE_LENGTH,
      });
      expect(hashedOfBig()).toHaveLength(32);
      const end = decodeMessage(whole.body);
      update.mockRestore();
      const sum = xxh32(new Uint8Array(big.buffer));
      expect(end).toMatchObject({ type: "END", byteLength: big.byteLength, checksum: sum });
      expect(header).toMatchObject({
        type: "ARRAY_HEADER",
        generation: contentGeneration({ dtype: "float64", shape: [big.length], meta: null }, sum),
      });
      console.log(
        `generation.test.ts: the first request waited ${waitedMs.toFixed(0)} ms for the hash of 256 MiB; worst timer lag ${worstLagMs.toFixed(1)} ms`,
      );
      // Hashed whole, the event loop would have stopped for about the whole wait; in 32 slices,
      // for about a 32nd of it (half: a margin for a shared machine that deschedules us).
      expect(worstLagMs).toBeLessThan(waitedMs / 2);
    } finally {
      update.mockRestore();
    }
  });

  it("share the hash with the checksum cache: the whole-array XXH32 is computed once", () => {
    const { array, wholeChecksum } = describeTypedArray(new Float32Array(1000).fill(3));
    const fromCache = array.checksum?.("xxh32", 0, 4000);
    expect(fromCache).toBe(wholeChecksum("xxh32"));
    expect(array.checksum?.("xxh32", 4, 4000)).toBeUndefined(); // ranges hash as they stream
    expect(array.checksum?.("crc32c", 0, 4000)).not.toBe(fromCache);
  });
});

describe("generations of sources", () => {
  it("of arange are the same on every server and differ with the params", async () => {
    const [a, b] = [await startServer(), await startServer()];
    a.publish("arange", arange());
    b.publish("first", new Uint8Array(1));
    b.publish("arange", arange({ maxByteLength: 2 * MiB }));
    const params = { length: 1000, start: 5, step: 0.5 };
    const ga = await generationOn(a, "arange", params);
    expect(await generationOn(b, "arange", params)).toBe(ga);
    const meta = { source: "arange", start: 5, step: 0.5 };
    expect(ga).toBe(documented("float64", [1000], meta, "version\0arange.v1 float64 1000 start=5 step=0.5"));
    const others: JsonObject[] = [
      { length: 1001, start: 5, step: 0.5 },
      { length: 1000, start: 6, step: 0.5 },
      { length: 1000, start: 5, step: 0.25 },
      { length: 1000, start: 5, step: 0.5, dtype: "float32" },
      { length: 1000, start: 5, step: 0.5, shape: [10, 100] },
    ];
    for (const p of others) expect(await generationOn(a, "arange", p), JSON.stringify(p)).not.toBe(ga);
    // -0 and 0 are different arrays (the sign bit is data; a JSON text "-0" parses to -0) though
    // JSON.stringify writes both as 0, so the meta is the same: the version tells them apart.
    const source = arange();
    const open = (p: JsonObject) => source.open(p, { reserve: () => {}, signal: new AbortController().signal });
    const zero = await open({ length: 10, start: 0, step: 0 });
    const negative = await open({ length: 10, start: -0, step: -0 });
    expect(JSON.stringify(negative.meta)).toBe(JSON.stringify(zero.meta));
    expect(negative.version).not.toBe(zero.version);
  });

  it("of arange are the ones docs/PROTOCOL.md's worked example shows", async () => {
    const server = await startServer();
    server.publish("arange", arange());
    expect(await generationOn(server, "arange", { length: 4 })).toBe(0xf2b1dbb3);
    expect(await generationOn(server, "arange", { length: 1000 })).toBe(0xbaa4effc);
  });

  it("come from SourceArray.version when a source gives one, and are per process without one", async () => {
    const [a, b] = [await startServer(), await startServer()];
    const source = (version?: string): ArraySource => ({
      open: (params) => ({ ...typedArraySource(new Float64Array(Number(params?.length ?? 10))), version }),
    });
    for (const server of [a, b]) {
      server.publish("versioned", source("file-hash-1"));
      server.publish("unversioned", source());
    }
    const va = await generationOn(a, "versioned");
    expect(await generationOn(b, "versioned")).toBe(va);
    expect(va).toBe(documented("float64", [10], null, "version\0file-hash-1"));
    const ua = await generationOn(a, "unversioned");
    expect(await generationOn(a, "unversioned")).toBe(ua); // stable within the process...
    expect(await generationOn(b, "unversioned")).not.toBe(ua); // ...not across processes
    a.publish("unversioned", source());
    expect(await generationOn(a, "unversioned")).not.toBe(ua); // and new with each publish
    const client = await ArrayClient.connect(b.url);
    try {
      // A resume moved to another process is refused, not spliced.
      const point = { array: new Float64Array(10), receivedByteLength: 8, generation: ua };
      await expect(client.fetch("unversioned", { resumeFrom: point })).rejects.toMatchObject({ code: "E_GONE" });
    } finally {
      client.close();
    }
  });

  it("refuse a source whose version is not a string with E_INTERNAL", async () => {
    const logs: string[] = [];
    const server = new ArrayServer({ port: 0, log: (m) => logs.push(m) });
    await server.listen();
    servers.push(server);
    server.publish("bad", { open: () => ({ ...typedArraySource(new Float64Array(4)), version: 5 as never }) });
    await expect(fetchArray(server.url, "bad", { transport: "http" })).rejects.toMatchObject({ code: "E_INTERNAL" });
    expect(logs.join("\n")).toContain("Invalid SourceArray version: expected a string, got number");
  });

  it("counter: starts at a random point, counts up, wraps within u32 and skips 0", () => {
    const starts = new Set(Array.from({ length: 8 }, () => new GenerationCounter().next()));
    expect(starts.size).toBeGreaterThan(1);
    for (const g of starts) expect(g >= 1 && g <= 0xffffffff && Number.isInteger(g), `${g}`).toBe(true);
    const counter = new GenerationCounter(0xfffffffe);
    expect([counter.next(), counter.next(), counter.next(), counter.next()]).toEqual([0xfffffffe, 0xffffffff, 1, 2]);
    expect(new GenerationCounter(0).next()).toBe(1);
  });

  it("version and content identities never meet: a version that spells a hash is still a version", () => {
    const subject = { dtype: "float64" as const, shape: [4], meta: null };
    expect(versionGeneration(subject, "0000002a")).not.toBe(contentGeneration(subject, 42));
  });
});
