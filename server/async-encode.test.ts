/**
 * Asynchronous encoding in the WebSocket pump (server/stream-pump.ts), with the native codec
 * wrapped so a test decides when each compress settles (random delays, held, failing): several
 * streams on one connection each stay in order and end byte-identical (SHA-256) while their
 * encodes overlap; a codec failure sends the rest raw; a stream or connection that ends while an
 * encode is held sends nothing more, gives every counted byte back and closes its source only
 * once the encode settled; the bytes being encoded stay counted in the queue. Each case runs on
 * the native path and on the WebAssembly one (ARRAYWIRE_ZSTD=wasm), where it applies.
 */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ArrayClient } from "../client/index.ts";
import { decodeChunkInto, encodeRequest, loadZstd } from "../shared/index.ts";
import { ArrayServer, type ArraySource } from "./index.ts";
import type { AsyncZstd } from "./native-zstd.ts";
import { decodeFrames, get } from "./test-fixtures/zstd-body.ts";
import { RawClient } from "./test-helpers.ts";

/** What the wrapped codec does with the next compress calls. */
const codec = vi.hoisted(() => ({
  /** Most ms a compress is delayed (random below it). */
  maxDelayMs: 0,
  /** Compress calls after which every call fails. */
  failAfter: Number.POSITIVE_INFINITY,
  /** Hold whole-chunk compresses (source longer than 128 KiB) until released. */
  hold: false,
  held: [] as (() => void)[],
  calls: 0,
  inFlight: 0,
  maxInFlight: 0,
  reset() {
    Object.assign(this, { maxDelayMs: 0, failAfter: Number.POSITIVE_INFINITY, hold: false, held: [] });
    Object.assign(this, { calls: 0, inFlight: 0, maxInFlight: 0 });
  },
}));

vi.mock("./native-zstd.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("./native-zstd.ts")>();
  return {
    ...real,
    async loadNativeZstd(log: (message: string) => void): Promise<AsyncZstd | null> {
      const native = await real.loadNativeZstd(log);
      if (native === null) return null;
      return {
        async compress(source: Uint8Array, level: number): Promise<Uint8Array> {
          codec.calls++;
          codec.inFlight++;
          codec.maxInFlight = Math.max(codec.maxInFlight, codec.inFlight);
          try {
            if (codec.calls > codec.failAfter) throw new Error("codec broke on purpose");
            if (codec.hold && source.byteLength > 128 * 1024) await new Promise<void>((r) => codec.held.push(r));
            const frame = native.compress(source, level);
            if (codec.maxDelayMs > 0) await new Promise((r) => setTimeout(r, Math.random() * codec.maxDelayMs));
            return await frame;
          } finally {
            codec.inFlight--;
          }
        },
      };
    },
  };
});

/**
 * The native cases need the native codec: it installs here (linux-x64); elsewhere, or with
 * ARRAYWIRE_ZSTD=wasm in the environment, they are skipped (the WebAssembly cases still run).
 */
const nativeLoads = process.env.ARRAYWIRE_ZSTD !== "wasm" && (await import("./native-zstd.ts")).nativeInstalled();

const sha256 = (bytes: ArrayBufferView) =>
  createHash("sha256")
    .update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    .digest("hex");

const N = 400_000; // 3.2 MB of float64 each
const smooth = Float64Array.from({ length: N }, (_, i) => Math.sin(i / 500) * 100 + ((i * 2654435761) % 1000) * 1e-6);
const quantised = Float64Array.from(
  { length: N },
  (_, i) => [0.1, 2.5, -3.75, 1e6][((i * 2654435761) % 7) & 3] as number,
);
const integers = Float64Array.from({ length: N }, (_, i) => Math.round(Math.sin(i / 50) * 1000));

let server: ArrayServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  codec.reset();
  vi.unstubAllEnvs();
});

async function start(
  options: ConstructorParameters<typeof ArrayServer>[0] = {},
): Promise<{ url: string; log: string[] }> {
  const log: string[] = [];
  server = new ArrayServer({ ...options, log: (m) => log.push(m) });
  const { port } = await server.listen();
  server.publish("smooth", smooth);
  server.publish("quantised", quantised);
  server.publish("integers", integers);
  return { url: `ws://127.0.0.1:${port}/arraywire`, log };
}

/** Polls `check` every 5 ms for at most `ms`. */
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const CHUNK = 256 * 1024;

describe.each(["native", "wasm"] as const)("%s path", (path) => {
  it.skipIf(path === "native" && !nativeLoads)(
    "sends three streams on one connection in order, byte-identical (SHA-256), their encodes overlapping",
    async () => {
      if (path === "wasm") vi.stubEnv("ARRAYWIRE_ZSTD", "wasm");
      codec.maxDelayMs = 15;
      const { url } = await start();
      const client = await ArrayClient.connect(url, { compression: "on" });
      try {
        const names = ["smooth", "quantised", "integers"] as const;
        const results = await Promise.all(
          names.map((name) => client.fetch<Float64Array>(name, { chunkByteLength: CHUNK, idleTimeoutMs: 15_000 })),
        );
        expect(results.map((r) => sha256(r.array))).toEqual([smooth, quantised, integers].map(sha256));
      } finally {
        client.close();
      }
      if (path === "native") {
        // 3 x 13 chunks: each sampled at least once (two compresses) or encoded whole.
        expect(codec.calls).toBeGreaterThanOrEqual(39);
        // Streams encode at once (pipelined), but never more than one chunk each plus its samples.
        expect(codec.maxInFlight).toBeGreaterThanOrEqual(2);
        expect(codec.maxInFlight).toBeLessThanOrEqual(3 * 2);
      } else {
        expect(codec.calls).toBe(0);
      }
    },
  );
});

describe.skipIf(!nativeLoads)("native path", () => {
  it("sends the rest raw when the codec fails mid-stream, and the array still arrives intact", async () => {
    codec.failAfter = 6;
    const { url, log } = await start();
    const client = await ArrayClient.connect(url, { compression: "on" });
    try {
      const result = await client.fetch<Float64Array>("smooth", { chunkByteLength: CHUNK, idleTimeoutMs: 15_000 });
      expect(sha256(result.array)).toBe(sha256(smooth));
    } finally {
      client.close();
    }
    expect(codec.calls).toBe(7); // the failing call, then no more: the stream went raw
    expect(log.filter((m) => m.startsWith("compression failed, sending raw chunks: codec broke"))).toHaveLength(1);
  });

  it("keeps the chunk and its shuffle buffer counted while encoding; a stream cancelled then sends nothing and closes its source after", async () => {
    codec.hold = true;
    let closed = 0;
    const backing = new Float64Array(smooth);
    const source: ArraySource = {
      open: () => ({
        dtype: "float64",
        shape: [N],
        read: (offset, n) => new Uint8Array(backing.buffer, offset, n), // a view: the encode reads it
        close: () => {
          closed++;
        },
      }),
    };
    const { url } = await start();
    server?.publish("source", source);
    const client = await ArrayClient.connect(url, { compression: "on" });
    const abort = new AbortController();
    const fetching = client.fetch<Float64Array>("source", {
      chunkByteLength: CHUNK,
      signal: abort.signal,
      idleTimeoutMs: 15_000,
    });
    fetching.catch(() => {});
    try {
      await until(() => codec.held.length === 1);
      const stats = (server as ArrayServer).stats();
      // The raw chunk and the shuffle buffer: at least two chunks, at most those and the header.
      expect(stats.queuedByteLength).toBeGreaterThanOrEqual(2 * CHUNK);
      expect(stats.queuedByteLength).toBeLessThanOrEqual(2 * CHUNK + 4096);
      abort.abort();
      await expect(fetching).rejects.toThrow();
      await until(() => (server as ArrayServer).stats().streamCount === 0);
      expect(closed).toBe(0); // the threadpool may still read the source's memory
      for (const release of codec.held.splice(0)) release();
      await until(() => closed === 1);
      await until(() => (server as ArrayServer).stats().queuedByteLength === 0);
      // The connection still works: another stream after the cancelled one.
      codec.hold = false;
      const again = await client.fetch<Float64Array>("quantised", { chunkByteLength: CHUNK, idleTimeoutMs: 15_000 });
      expect(sha256(again.array)).toBe(sha256(quantised));
    } finally {
      client.close();
    }
  });

  it("compresses a live array's subscription (chunks read from its growing, resizable buffer) byte-identically", async () => {
    const { url } = await start();
    const live = (server as ArrayServer).publishLive("live", { dtype: "float64", maxLength: N });
    // The Node client offers no codec for subscriptions: speak the protocol directly.
    const raw = await RawClient.connect(url);
    const zstd = await loadZstd();
    try {
      raw.send(
        encodeRequest({
          streamId: 1,
          name: "live",
          params: null,
          chunkByteLength: CHUNK,
          range: null,
          resumeByteOffset: 0,
          creditByteLength: 0,
          expectedGeneration: null,
          checksum: "none",
          codecs: ["zstd"],
          subscribe: true,
        }),
      );
      for (let row = 0; row < N; row += N / 4) {
        live.append(smooth.subarray(row, row + N / 4));
        await new Promise((r) => setTimeout(r, 20));
      }
      live.close();
      const target = new Uint8Array(8 * N);
      let encodedChunks = 0;
      for (let i = 0; i < 1000; i++) {
        const message = await raw.nextMessage();
        if (message.type === "END") break;
        if (message.type === "DATA") target.set((await raw.next()) as Buffer, message.byteOffset);
        if (message.type === "DATA_ENCODED") {
          const payload = new Uint8Array((await raw.next()) as Buffer);
          const window = target.subarray(message.byteOffset, message.byteOffset + message.rawByteLength);
          decodeChunkInto(zstd, message, payload, window, 8);
          encodedChunks++;
        }
      }
      expect(sha256(target)).toBe(sha256(smooth));
      expect(encodedChunks).toBeGreaterThanOrEqual(Math.ceil((8 * N) / CHUNK) - 1);
    } finally {
      raw.close();
    }
  });

  it("gives every byte back when the connection closes during an encode, sending nothing after", async () => {
    codec.hold = true;
    const { url, log } = await start();
    const client = await ArrayClient.connect(url, { compression: "on" });
    const fetching = client.fetch<Float64Array>("smooth", { chunkByteLength: CHUNK, idleTimeoutMs: 15_000 });
    fetching.catch(() => {});
    await until(() => codec.held.length === 1);
    client.close();
    await expect(fetching).rejects.toThrow();
    await until(() => (server as ArrayServer).stats().connectionCount === 0);
    expect((server as ArrayServer).stats().queuedByteLength).toBe(0);
    const calls = codec.calls;
    codec.hold = false;
    for (const release of codec.held.splice(0)) release();
    await new Promise((r) => setTimeout(r, 100));
    expect(codec.calls).toBe(calls); // no next chunk read and encoded for a closed connection
    expect((server as ArrayServer).stats()).toMatchObject({ queuedByteLength: 0, streamCount: 0 });
    expect(log.filter((m) => m.includes("failed"))).toEqual([]);
  });
});

describe.skipIf(!nativeLoads)("HTTP Content-Encoding: zstd, native path", () => {
  const accept = { "accept-encoding": "gzip, zstd" };

  it("sends the rest of a body as raw-block frames when the codec fails mid-body; it decodes to the identity body", async () => {
    const { url, log } = await start();
    const port = Number(new URL(url).port);
    const q = "name=integers&start=12345&end=387654";
    const identity = await get(port, q);
    codec.failAfter = 4; // two chunks (sample + chunk each), then a failure
    const encoded = await get(port, `${q}&compress=zstd`, accept);
    expect(encoded.headers["content-encoding"]).toBe("zstd");
    const { decoded, compressed, raw } = decodeFrames(await loadZstd(), encoded.body);
    expect(sha256(decoded)).toBe(sha256(identity.body));
    expect(compressed).toBe(2);
    expect(raw).toBeGreaterThanOrEqual(3); // the header, the chunks after the failure, END
    expect(log.filter((m) => m.startsWith("compression failed, sending raw frames"))).toHaveLength(1);
  });

  it("closes the source only after an encode held when the client went away, and serves the next request", async () => {
    let closed = 0;
    const backing = new Float64Array(integers);
    const { url } = await start();
    server?.publish("source", {
      open: () => ({
        dtype: "float64",
        shape: [N],
        read: (offset, n) => new Uint8Array(backing.buffer, offset, n),
        close: () => {
          closed++;
        },
      }),
    });
    const port = Number(new URL(url).port);
    codec.hold = true;
    const request = (await import("node:http")).get({
      host: "127.0.0.1",
      port,
      path: "/arraywire?name=source&compress=zstd",
      headers: accept,
    });
    request.on("error", () => {});
    await until(() => codec.held.length === 1);
    request.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(0);
    for (const release of codec.held.splice(0)) release();
    await until(() => closed === 1);
    expect((server as ArrayServer).stats().httpStreamCount).toBe(0);
    codec.hold = false;
    const again = await get(port, "name=integers&start=0&end=1000&compress=zstd", accept);
    expect(again.status).toBe(200);
  });
});
