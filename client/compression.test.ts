/**
 * Compression over WebSocket end to end (issue 12): the real ArrayServer and ArrayClient on
 * loopback with `compression: "on"`, the bytes on the wire counted by a forwarding TCP proxy;
 * what the client offers for each `compression` value and host; and hostile DATA_ENCODED from a
 * scripted server (a frame that lies about its length, an encoded chunk never offered).
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer } from "../server/index.ts";
import {
  decodeMessage,
  encodeDataEncoded,
  loadZstd,
  type RequestMessage,
  StreamError,
  shuffleBytes,
} from "../shared/index.ts";
import { ArrayClient } from "./connection.ts";
import { isLoopbackHost } from "./resolve-options.ts";
import { bytesOf, encodeStream, fakeWebSocket, fillPseudoRandom, sameBytes } from "./test-helpers.ts";

/** Forwards TCP to `port`, counting the bytes that flow from the server to the client. */
async function countingProxy(port: number): Promise<{ port: number; fromServer: () => number; close: () => void }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    upstream.on("data", (d: Buffer) => {
      count += d.byteLength;
    });
    upstream.pipe(client);
    client.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    fromServer: () => count,
    close: () => {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}

const N = 1_000_000; // 8 MB of float64
const smooth = new Float64Array(N);
for (let i = 0; i < N; i++) smooth[i] = Math.sin(i / 500) * 100 + ((i * 2654435761) % 1000) * 1e-6;
const random = new Float64Array(N);
fillPseudoRandom(bytesOf(random), 7);

const mixed = new Float64Array(N);
mixed.set(random.subarray(0, N / 2));
mixed.set(smooth.subarray(N / 2), N / 2);

let server: ArrayServer;
let port: number;
beforeAll(async () => {
  server = new ArrayServer({});
  port = (await server.listen()).port;
  server.publish("smooth", smooth);
  server.publish("random", random);
  server.publish("mixed", mixed);
});
afterAll(async () => {
  await server.close();
});

/** Fetches through the counting proxy; returns the array and the bytes the server sent. */
async function fetchCounted(
  name: string,
  compression: "on" | "off" | "auto",
  options: { range?: [number, number]; creditByteLength?: number; chunkByteLength?: number; serverPort?: number } = {},
): Promise<{ array: Float64Array; wire: number; offered: boolean }> {
  const proxy = await countingProxy(options.serverPort ?? port);
  try {
    const client = await ArrayClient.connect(`ws://127.0.0.1:${proxy.port}/arraywire`, { compression });
    try {
      const result = await client.fetch<Float64Array>(name, {
        range: options.range,
        creditByteLength: options.creditByteLength,
        chunkByteLength: options.chunkByteLength,
        idleTimeoutMs: 15_000,
      });
      return { array: result.array, wire: proxy.fromServer(), offered: client.compressionOffered };
    } finally {
      client.close();
    }
  } finally {
    proxy.close();
  }
}

describe("compression over WebSocket (real server and client, loopback)", () => {
  it('sends a smooth range in the middle compressed with "on": fewer bytes on the wire, the same values, checksum checked', async () => {
    const range: [number, number] = [123_457, 876_543];
    const { array, wire, offered } = await fetchCounted("smooth", "on", { range });
    expect(offered).toBe(true);
    expect(sameBytes(bytesOf(array), bytesOf(smooth.subarray(...range)))).toBe(true);
    const raw = (range[1] - range[0]) * 8;
    expect(wire).toBeLessThan(raw / 1.2); // shuffled zstd-1 gives ~1.5x here
  });

  it('sends the same range raw with "off", and with "auto" on a loopback host', async () => {
    const range: [number, number] = [123_457, 876_543];
    const raw = (range[1] - range[0]) * 8;
    for (const compression of ["off", "auto"] as const) {
      const { array, wire, offered } = await fetchCounted("smooth", compression, { range });
      expect(offered).toBe(false);
      expect(sameBytes(bytesOf(array), bytesOf(smooth.subarray(...range)))).toBe(true);
      expect(wire).toBeGreaterThan(raw);
    }
  });

  it("sends random data raw even when offered: never more than raw plus the framing", async () => {
    const { array, wire } = await fetchCounted("random", "on");
    expect(sameBytes(bytesOf(array), bytesOf(random))).toBe(true);
    expect(wire).toBeGreaterThanOrEqual(N * 8);
    expect(wire).toBeLessThan(N * 8 * 1.01);
  });

  it("mixes raw and encoded chunks in one stream (random first half, smooth second half) and gets every byte", async () => {
    const { array, wire } = await fetchCounted("mixed", "on", { chunkByteLength: 256 * 1024 });
    expect(sameBytes(bytesOf(array), bytesOf(mixed))).toBe(true);
    // The random half goes raw (~4 MB), the smooth half at ~1.5x: well under raw, well over half.
    expect(wire).toBeLessThan(N * 8 * 0.9);
    expect(wire).toBeGreaterThan((N * 8) / 2);
  });

  it("counts credit in wire bytes: a small window with small chunks completes (no stall, no over-send)", async () => {
    const { array, wire } = await fetchCounted("smooth", "on", {
      creditByteLength: 256 * 1024,
      chunkByteLength: 64 * 1024,
    });
    expect(sameBytes(bytesOf(array), bytesOf(smooth))).toBe(true);
    expect(wire).toBeLessThan((N * 8) / 1.2);
  });

  it("sends raw chunks when the server's compression option is false, whatever the client offers", async () => {
    const plain = new ArrayServer({ compression: false });
    const plainPort = (await plain.listen()).port;
    plain.publish("smooth", smooth);
    try {
      const { array, wire, offered } = await fetchCounted("smooth", "on", { serverPort: plainPort });
      expect(offered).toBe(true);
      expect(sameBytes(bytesOf(array), bytesOf(smooth))).toBe(true);
      expect(wire).toBeGreaterThan(N * 8);
    } finally {
      await plain.close();
    }
  });
});

describe("what the client offers", () => {
  it.each([
    ["on", "127.0.0.1", 1],
    ["off", "data.example", 0],
    ["auto", "127.0.0.1", 0],
    ["auto", "localhost", 0],
    ["auto", "[::1]", 0],
    ["auto", "data.example", 1],
    ["auto", "10.0.0.2", 1],
  ] as const)('compression "%s" to %s writes codecs byte %i', async (compression, host, bits) => {
    let request: RequestMessage | null = null;
    const { WebSocket, log } = fakeWebSocket({
      onRequest: (r) => {
        request = r;
        return [];
      },
    });
    const client = await ArrayClient.connect(`ws://${host}:9/arraywire`, { WebSocket, compression });
    await client.fetch("a").catch(() => {});
    expect(request).not.toBeNull();
    expect(log.sent[0]?.[15]).toBe(bits);
    expect(decodeMessage(log.sent[0] as Uint8Array)).toMatchObject(bits ? { codecs: ["zstd"] } : {});
  });

  it("treats localhost, *.localhost, 127/8 and ::1 as loopback, and nothing else", () => {
    for (const host of ["localhost", "a.localhost", "127.0.0.1", "127.255.3.4", "[::1]", "::1", "[::ffff:7f00:1]"]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ["128.0.0.1", "10.0.0.1", "localhost.example", "[::2]", "[::ffff:a00:1]", "example.com"]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe("hostile DATA_ENCODED from a scripted server", () => {
  const source = new Uint8Array(new Float64Array(4096).map((_, i) => Math.cos(i / 40)).buffer);
  const spec = {
    streamId: 0,
    dtype: "float64" as const,
    shape: [4096],
    source,
    range: null,
    chunkByteLength: 8192,
    checksum: "xxh32" as const,
    name: "a",
    meta: null,
    generation: 1,
  };

  /** The stream with its second chunk sent encoded by `encode` (bytes and announced raw length). */
  async function fetchWithEncodedChunk(
    encode: (raw: Uint8Array) => { payload: Uint8Array; rawByteLength: number },
    compression: "on" | "off" = "on",
  ): Promise<unknown> {
    const { WebSocket } = fakeWebSocket({
      onRequest: (r) => {
        const s = encodeStream({ ...spec, streamId: r.streamId });
        const second = s.chunks[1] as (typeof s.chunks)[number];
        const { payload, rawByteLength } = encode(second.payload);
        const messages = s.messages.slice();
        const at = messages.indexOf(second.data);
        messages.splice(
          at,
          2,
          encodeDataEncoded({
            streamId: r.streamId,
            payloadByteLength: payload.byteLength,
            byteOffset: second.byteOffset,
            rawByteLength,
            codec: "zstd",
            filter: "shuffle",
          }),
          payload,
        );
        return messages;
      },
    });
    const client = await ArrayClient.connect("ws://data.example:9/arraywire", { WebSocket, compression });
    return client.fetch("a").then(
      (r) => r,
      (e: unknown) => e,
    );
  }

  function shuffledFrame(raw: Uint8Array, zstd: Awaited<ReturnType<typeof loadZstd>>): Uint8Array {
    const shuffled = new Uint8Array(raw.byteLength);
    shuffleBytes(raw, shuffled, 8);
    return zstd.compress(shuffled, 1);
  }

  it("accepts an honest encoded chunk among raw ones (the control case)", async () => {
    const zstd = await loadZstd();
    const result = await fetchWithEncodedChunk((raw) => ({
      payload: shuffledFrame(raw, zstd),
      rawByteLength: raw.byteLength,
    }));
    expect(result).not.toBeInstanceOf(Error);
    expect(sameBytes(bytesOf((result as { array: Float64Array }).array), source)).toBe(true);
  });

  it("fails the stream with E_PROTOCOL (cause E_BAD_LENGTH) when the frame's content size is not the announced length", async () => {
    const zstd = await loadZstd();
    // Announces 8 bytes fewer than the frame holds: refused from the frame header.
    const error = await fetchWithEncodedChunk((raw) => ({
      payload: shuffledFrame(raw, zstd),
      rawByteLength: raw.byteLength - 8,
    }));
    expect(error).toBeInstanceOf(StreamError);
    expect((error as StreamError).code).toBe("E_PROTOCOL");
    expect(((error as StreamError).cause as { code: string }).code).toBe("E_BAD_LENGTH");
  });

  it("fails the stream when an encoded chunk arrives although no codec was offered", async () => {
    const zstd = await loadZstd();
    const error = await fetchWithEncodedChunk(
      (raw) => ({ payload: shuffledFrame(raw, zstd), rawByteLength: raw.byteLength }),
      "off",
    );
    expect(error).toBeInstanceOf(StreamError);
    expect(((error as StreamError).cause as { code: string }).code).toBe("E_UNEXPECTED_MESSAGE");
  });
});
