/**
 * Array sources as the server uses them: published arrays and their checks at publish time,
 * sources that open, read (synchronously or not), reserve against maxSourceBytes and close, and
 * what a client sees when one of them fails.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArrayClient, fetchArray } from "../client/index.ts";
import { decodeMessage, headerByteLength, type JsonObject, StreamError } from "../shared/index.ts";
import { ArrayServer, type ArraySource, arange, type SourceArray, typedArraySource } from "./index.ts";

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A source that counts its opens and closes and reserves `reserveBytes` per open. */
function counted(reserveBytes = 0, delayMs = 0) {
  const counts = { opens: 0, closes: 0, reads: 0 };
  const source: ArraySource = {
    async open(params, context) {
      counts.opens++;
      context.reserve(reserveBytes);
      if (delayMs > 0) await sleep(delayMs);
      const length = Number(params?.length ?? 1000);
      const array = typedArraySource(Float64Array.from({ length }, (_, i) => i));
      return {
        ...array,
        read: (offset, n, scratch) => {
          counts.reads++;
          return array.read(offset, n, scratch);
        },
        close: () => {
          counts.closes++;
        },
      };
    },
  };
  return { source, counts };
}

describe("array sources", () => {
  let server: ArrayServer;
  const logs: string[] = [];

  beforeEach(async () => {
    logs.length = 0;
    server = new ArrayServer({ port: 0, log: (m) => logs.push(m), maxSourceBytes: 10 * MiB });
    await server.listen();
    server.publish("arange", arange());
  });

  afterEach(async () => {
    await server.close();
  });

  it("refuses meta that is not plain protocol JSON, or too large a header, at publish time with a TypeError", () => {
    const array = new Float64Array(4);
    const bad: [string, unknown][] = [
      ["a constructor key", { constructor: 1 }],
      ["a prototype key", { nested: { prototype: "x" } }],
      ["a __proto__ key", JSON.parse('{"a":{"__proto__":{"polluted":true}}}')],
      ["a BigInt", { n: 1n }],
      ["NaN", { x: Number.NaN }],
      ["Infinity", { x: [1, Number.POSITIVE_INFINITY] }],
      ["undefined", { x: undefined }],
      ["a function", { f: () => 1 }],
      ["a Date", { when: new Date(0) }],
      ["an array at the top", [1, 2]],
      ["33 levels", JSON.parse(`${"[".repeat(32)}1${"]".repeat(32)}`.replace(/^/, '{"a":').concat("}"))],
      ["a header over 64 KiB", { text: "x".repeat(65_536) }],
    ];
    for (const [what, meta] of bad) {
      expect(() => server.publish("m", array, { meta: meta as JsonObject }), what).toThrow(TypeError);
    }
    expect(server.names()).not.toContain("m");
    // At the bounds: 32 levels and a header just under 64 KiB are fine.
    server.publish("m", array, { meta: JSON.parse(`{"a":${"[".repeat(31)}1${"]".repeat(31)}}`) });
    server.publish("m", array, { meta: { text: "x".repeat(65_536 - 200) } });
  });

  it("refuses options given with an ArraySource, and a value that is neither, with a TypeError", () => {
    expect(() => server.publish("s", arange(), { shape: [2] })).toThrow(TypeError);
    expect(() => server.publish("s", arange(), { meta: { a: 1 } })).toThrow(TypeError);
    expect(() => server.publish("s", { resolve: () => null } as never)).toThrow(TypeError);
    expect(server.names()).not.toContain("s");
    server.publish("s", arange(), {});
    expect(server.names()).toContain("s");
  });

  it("tells -0 from 0 in params: start -0 is not served from the +0 array (HTTP)", async () => {
    const http = server.url.replace(/^ws:/, "http:");
    const first = async (params: string) => {
      const response = await fetch(`${http}?name=arange&params=${encodeURIComponent(params)}`);
      const body = new Uint8Array(await response.arrayBuffer());
      const offset = headerByteLength(body, 65_536);
      return new Float64Array(body.slice(offset, offset + 16).buffer)[0];
    };
    const [positive, negative] = await Promise.all([
      first('{"length":2,"start":0,"step":-1}'),
      first('{"length":2,"start":-0,"step":-1}'),
    ]);
    expect(Object.is(positive, 0)).toBe(true);
    expect(Object.is(negative, -0)).toBe(true);
    expect(Object.is(await first('{"length":2,"start":0,"step":-1}'), 0)).toBe(true);
  });

  it("answers a bigint arange that overflows int64 with E_BAD_REQUEST on both transports", async () => {
    for (const transport of ["ws", "http"] as const) {
      for (const params of [
        { length: 2, dtype: "bigint64", start: 2 ** 63 } as JsonObject,
        { length: 3, dtype: "bigint64", start: 1e308, step: 1e308 },
        { length: 2, dtype: "biguint64", start: -1 },
      ]) {
        await expect(fetchArray(server.url, "arange", { transport, params }), transport).rejects.toMatchObject({
          code: "E_BAD_REQUEST",
        });
      }
    }
    expect(logs).toEqual([]); // a refusal, not a bug: nothing logged
  });

  it("logs a failing source at most 10 times a minute, one line each without a stack, and answers E_INTERNAL", async () => {
    server.publish("broken", {
      open: () => {
        throw new TypeError("boom in the source");
      },
    });
    const client = await ArrayClient.connect(server.url);
    try {
      for (let i = 0; i < 40; i++) {
        await expect(client.fetch("broken")).rejects.toMatchObject({ code: "E_INTERNAL" });
      }
    } finally {
      client.close();
    }
    const lines = logs.filter((l) => l.includes("boom"));
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('source for "broken" failed: TypeError: boom in the source');
    expect(logs.join("\n")).not.toMatch(/\n\s+at /);
    await server.close();
    // close() says how many were suppressed.
    expect(logs.at(-1)).toBe("E_INTERNAL: 30 more lines like this suppressed in the last minute");
    server = new ArrayServer({ port: 0 }); // for afterEach
  });

  it("refuses what does not fit in maxSourceBytes with E_BUSY (ws ERROR, HTTP 503), before the source allocates, and frees it when streams end", async () => {
    const { source, counts } = counted(4 * MiB);
    server.publish("held", source);
    const client = await ArrayClient.connect(server.url);
    const http = server.url.replace(/^ws:/, "http:");
    try {
      // Two 4 MiB reservations fit in 10 MiB; a third does not. The streams are held open by a
      // credit window that is never topped up.
      const held = [1, 2].map((id) =>
        client
          .fetch("held", { params: { length: 100_000, id }, creditByteLength: 64 * 1024, chunkByteLength: 64 * 1024 })
          .catch((e: unknown) => e),
      );
      for (let i = 0; i < 50 && server.stats().sourceByteLength < 8 * MiB; i++) await sleep(10);
      expect(server.stats()).toMatchObject({ sourceByteLength: 8 * MiB, openSourceCount: 2 });
      await expect(client.fetch("held", { params: { length: 10, id: 3 } })).rejects.toMatchObject({
        code: "E_BUSY",
        message: expect.stringContaining("maxSourceBytes"),
      });
      const response = await fetch(`${http}?name=held&params=${encodeURIComponent('{"length":10,"id":4}')}`);
      expect(response.status).toBe(503);
      expect(decodeMessage(new Uint8Array(await response.arrayBuffer()))).toMatchObject({ code: "E_BUSY" });
      expect(counts.opens).toBe(4); // each refused open was asked, and refused at reserve(), before allocating
      // The same request as a held one shares its array: no new reservation, no E_BUSY.
      const shared = await fetchArray(server.url, "held", { params: { id: 1, length: 100_000 }, transport: "http" });
      expect((shared.array as Float64Array)[99_999]).toBe(99_999);
      expect(counts.opens).toBe(4);
      client.close();
      await Promise.all(held);
      for (let i = 0; i < 50 && server.stats().openSourceCount > 0; i++) await sleep(10);
      expect(server.stats()).toMatchObject({ sourceByteLength: 0, openSourceCount: 0 });
      expect(counts.closes).toBe(2);
      const again = await fetchArray(server.url, "held", { params: { length: 10, id: 5 } });
      expect((again.array as Float64Array)[9]).toBe(9);
    } finally {
      client.close();
    }
  });

  it("opens one array for concurrent identical requests and closes it once, after the last stream", async () => {
    const { source, counts } = counted(1024, 50);
    server.publish("shared", source);
    const results = await Promise.all(
      (["ws", "http", "ws", "http"] as const).map((transport) =>
        fetchArray(server.url, "shared", { transport, params: { length: 5000 } }),
      ),
    );
    for (const r of results) expect((r.array as Float64Array)[4999]).toBe(4999);
    expect(counts).toMatchObject({ opens: 1, closes: 1 });
    await fetchArray(server.url, "shared", { params: { length: 5000 } });
    expect(counts).toMatchObject({ opens: 2, closes: 2 });
    expect(server.stats()).toMatchObject({ openSourceCount: 0, sourceByteLength: 0 });
  });

  it("aborts the source's signal once no stream wants the array: not while one of two identical requests still waits", async () => {
    const aborted: string[] = [];
    let opens = 0;
    server.publish("hanging", {
      open: (params, context) => {
        opens++;
        return new Promise((_, reject) => {
          context.signal.addEventListener("abort", () => {
            aborted.push(String(params?.tag));
            reject(new Error("gave up"));
          });
        });
      },
    });
    const client = await ArrayClient.connect(server.url);
    try {
      const first = new AbortController();
      const second = new AbortController();
      const a = client.fetch("hanging", { params: { tag: "x" }, signal: first.signal }).catch((e: unknown) => e);
      const b = client.fetch("hanging", { params: { tag: "x" }, signal: second.signal }).catch((e: unknown) => e);
      await sleep(100);
      expect(opens).toBe(1); // shared
      first.abort();
      await a;
      await sleep(100);
      expect(aborted).toEqual([]); // the other request still wants it
      second.abort();
      await b;
      for (let i = 0; i < 50 && aborted.length === 0; i++) await sleep(10);
      expect(aborted).toEqual(["x"]);
      // A connection that goes away gives its arrays up too.
      void client.fetch("hanging", { params: { tag: "y" } }).catch(() => {});
      await sleep(100);
      client.close();
      for (let i = 0; i < 50 && aborted.length < 2; i++) await sleep(10);
      expect(aborted).toEqual(["x", "y"]);
      expect(server.stats().openSourceCount).toBe(0);
    } finally {
      client.close();
    }
  });

  it("serves an asynchronous source that fills scratch buffers, resumed mid-element, with the right checksum", async () => {
    const length = 300_000;
    const bytes = new Uint8Array(Float64Array.from({ length }, (_, i) => i * 1.5).buffer);
    const fileLike: SourceArray = {
      dtype: "float64",
      shape: [length],
      async read(offset, n, scratch) {
        await sleep(0);
        scratch.set(bytes.subarray(offset, offset + n));
        return scratch;
      },
    };
    server.publish("file", { open: () => fileLike });
    for (const transport of ["ws", "http"] as const) {
      const whole = await fetchArray<Float64Array>(server.url, "file", { transport, chunkByteLength: 64 * 1024 });
      expect(whole.array[length - 1]).toBe((length - 1) * 1.5);
      // A resume from byte 1,000,003 (mid-element) of the range [1000, 250000): the END checksum
      // covers the whole range, so the server hashed the prefix it did not send, and the client
      // verifies it over the prefix it holds plus what arrived.
      const held = whole.array.slice(1000, 250_000);
      held.fill(0, 125_001); // only the first 1,000,003 bytes are held
      const point = { array: held, receivedByteLength: 1_000_003, generation: whole.generation };
      const resumed = await fetchArray<Float64Array>(server.url, "file", {
        transport,
        range: [1000, 250_000],
        resumeFrom: point,
        verify: "crc32c",
      });
      expect(resumed.array[248_999]).toBe(249_999 * 1.5);
      expect(resumed.array[125_000]).toBe(126_000 * 1.5);
    }
  });

  it("answers a source whose read throws with E_INTERNAL (ws) and keeps the connection; calls close once", async () => {
    let closes = 0;
    server.publish("flaky", {
      open: () => ({
        dtype: "uint8",
        shape: [4 * MiB],
        read(offset, n, scratch) {
          if (offset >= 2 * MiB) throw new RangeError("disk gone");
          return scratch.fill(7, 0, n);
        },
        close() {
          closes++;
          throw new Error("close failed too");
        },
      }),
    });
    const client = await ArrayClient.connect(server.url);
    try {
      const err = await client.fetch("flaky", { chunkByteLength: MiB }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StreamError);
      expect(err).toMatchObject({ code: "E_INTERNAL" });
      const ok = await client.fetch("arange", { params: { length: 3 } });
      expect(Array.from(ok.array as Float64Array)).toEqual([0, 1, 2]);
    } finally {
      client.close();
    }
    // Over HTTP the body is cut instead (it cannot carry an ERROR once it has begun).
    const cut = await fetchArray(server.url, "flaky", { transport: "http" }).catch((e: unknown) => e);
    expect(["E_CONNECTION_CLOSED", "E_INCOMPLETE"]).toContain((cut as StreamError).code);
    for (let i = 0; i < 50 && closes < 2; i++) await sleep(10);
    expect(closes).toBe(2);
    expect(logs.some((l) => l.includes("RangeError: disk gone"))).toBe(true);
    expect(logs.some((l) => l.includes("close() threw Error"))).toBe(true);
  });

  it("never reuses a scratch buffer before the socket wrote it: a slow reader gets every generated value right", async () => {
    const slow = new ArrayServer({ port: 0, log: () => {}, maxQueuedBytes: 256 * 1024 });
    await slow.listen();
    slow.publish("arange", arange());
    try {
      const length = 4_000_000; // 32 MB through a 256 KiB queue, 64 KiB chunks
      let reads = 0;
      const result = await fetchArray<Float64Array>(slow.url, "arange", {
        transport: "ws",
        params: { length, start: 0.25 },
        chunkByteLength: 64 * 1024,
        progressIntervalMs: 0,
        onProgress: () => {
          reads++;
          if (reads % 64 === 0) {
            const until = performance.now() + 5; // a reader that is busy now and then
            while (performance.now() < until) {}
          }
        },
      });
      let mismatches = 0;
      for (let i = 0; i < length; i++) if (result.array[i] !== i + 0.25) mismatches++;
      expect(mismatches).toBe(0);
    } finally {
      await slow.close();
    }
  });
});
