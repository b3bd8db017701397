import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ArrayClient, fetchArray } from "../client/index.ts";
import {
  type ArrayHeaderMessage,
  type DataMessage,
  type EndMessage,
  type ErrorMessage,
  encodeCancel,
  encodeCredit,
  encodeRequest,
  StreamError,
} from "../shared/index.ts";
import { ArrayServer, arange, fillArange } from "./index.ts";
import { RawClient } from "./test-helpers.ts";

const MiB = 1024 * 1024;
const REFERENCE_LENGTH = 50_000_000;

function request(streamId: number, name: string, extra: Partial<Parameters<typeof encodeRequest>[0]> = {}) {
  return encodeRequest({
    streamId,
    name,
    params: null,
    chunkByteLength: 0,
    range: null,
    resumeByteOffset: 0,
    creditByteLength: 0,
    expectedGeneration: null,
    checksum: "none",
    ...extra,
  });
}

/** Plain array of a typed array's values, for toEqual. */
function list(array: ArrayLike<number> | ArrayLike<bigint>): (number | bigint)[] {
  return Array.prototype.slice.call(array) as (number | bigint)[];
}

function sha256(view: ArrayBufferView): string {
  return createHash("sha256")
    .update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
    .digest("hex");
}

describe("ArrayServer with the Node client", () => {
  let server: ArrayServer;
  const logs: string[] = [];

  beforeEach(async () => {
    logs.length = 0;
    server = new ArrayServer({ port: 0, log: (m) => logs.push(m) });
    await server.listen();
    server.publish("arange", arange());
  });

  afterEach(async () => {
    await server.close();
  });

  it("delivers the 400 MB reference array byte-identical to the server's copy", async () => {
    const reference = fillArange("float64", REFERENCE_LENGTH) as Float64Array;
    server.publish("reference", reference);
    const result = await fetchArray<Float64Array>(server.url, "reference");
    expect(result.dtype).toBe("float64");
    expect(result.shape).toEqual([REFERENCE_LENGTH]);
    expect(result.array).toBeInstanceOf(Float64Array);
    expect(list(result.array.subarray(0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(result.array[REFERENCE_LENGTH - 1]).toBe(REFERENCE_LENGTH - 1);
    expect(result.array.buffer).not.toBe(reference.buffer);
    expect(sha256(result.array)).toBe(sha256(reference));
  });

  it.each([
    ["ws", 6], // the client asks for 4 MiB chunks
    ["http", 24], // the server's 1 MiB default
  ] as const)(
    "hands the socket views of the published array's own memory: no copy of any chunk (%s)",
    async (transport, writes) => {
      const source = fillArange("float64", 3 * 1024 * 1024) as Float64Array; // 24 MiB
      server.publish("zero-copy", source);
      const write = vi.spyOn(Socket.prototype, "write");
      try {
        const result = await fetchArray(server.url, "zero-copy", {
          transport,
          chunkByteLength: 4 * MiB,
          verify: false,
        });
        expect(result.array[source.length - 1]).toBe(source.length - 1);
        // Server-side writes of payloads: big chunks whose memory is the source's ArrayBuffer.
        const payloadWrites = write.mock.calls
          .map(([chunk]) => chunk as Uint8Array)
          .filter((chunk) => chunk instanceof Uint8Array && chunk.byteLength >= MiB);
        // Every payload byte reached the socket as a view of the source: a copy would show up as a
        // big write over another buffer, or as bytes missing from the sum.
        expect(payloadWrites.length).toBe(writes);
        for (const chunk of payloadWrites) expect(chunk.buffer).toBe(source.buffer);
        expect(payloadWrites.reduce((sum, chunk) => sum + chunk.byteLength, 0)).toBe(source.byteLength);
      } finally {
        write.mockRestore();
      }
    },
  );

  it("streams a generated arange with params, verifying the checksum trailer", async () => {
    const result = await fetchArray<Float64Array>(server.url, "arange", {
      params: { length: 1_000_003, start: 5, step: 0.5 },
      verify: true,
    });
    expect(result.array.length).toBe(1_000_003);
    expect(result.array[0]).toBe(5);
    expect(result.array[1_000_002]).toBe(5 + 1_000_002 * 0.5);
    expect(result.meta).toEqual({ source: "arange", start: 5, step: 0.5 });
  });

  it("writes into a caller-supplied array (recv_into) without allocating another", async () => {
    const into = new Int32Array(300_000).fill(-1);
    const result = await fetchArray(server.url, "arange", { params: { length: 250_000, dtype: "int32" }, into });
    expect(result.array.buffer).toBe(into.buffer);
    expect(result.array.length).toBe(250_000);
    expect(into[249_999]).toBe(249_999);
    expect(into[250_000]).toBe(-1); // past the array: untouched
  });

  it("rejects a caller array of another dtype or too small with E_TARGET_MISMATCH, and the connection keeps working", async () => {
    const client = await ArrayClient.connect(server.url);
    try {
      await expect(
        client.fetch("arange", { params: { length: 10 }, into: new Float32Array(10) }),
      ).rejects.toMatchObject({
        name: "StreamError",
        code: "E_TARGET_MISMATCH",
        message: expect.stringMatching(/expected Float64Array/),
      });
      await expect(client.fetch("arange", { params: { length: 10 }, into: new Float64Array(9) })).rejects.toMatchObject(
        { code: "E_TARGET_MISMATCH", message: "Target too small: expected at least 80 bytes, got 72" },
      );
      const ok = await client.fetch("arange", { params: { length: 10 } });
      expect(list(ok.array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      client.close();
    }
  });

  it("reports an unknown name with E_UNKNOWN_NAME and keeps the connection usable", async () => {
    const client = await ArrayClient.connect(server.url);
    try {
      const err = await client.fetch("nope").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StreamError);
      expect(err).toMatchObject({ code: "E_UNKNOWN_NAME", message: 'Unknown array: "nope" is not published' });
      const ok = await client.fetch("arange", { params: { length: 3 } });
      expect(list(ok.array)).toEqual([0, 1, 2]);
    } finally {
      client.close();
    }
  });

  it("fetches two arrays in a row on one connection", async () => {
    const client = await ArrayClient.connect(server.url);
    try {
      const a = await client.fetch("arange", { params: { length: 2_000_000 } });
      const b = await client.fetch("arange", { params: { length: 1000, dtype: "uint8" } });
      expect(a.array.length).toBe(2_000_000);
      expect(a.array[1_999_999]).toBe(1_999_999);
      expect(b.array).toBeInstanceOf(Uint8Array);
      expect(b.array[999]).toBe(999 % 256);
    } finally {
      client.close();
    }
  });

  it("multiplexes concurrent streams on one connection", async () => {
    const small = new Uint16Array([7, 8, 9]);
    server.publish("small", small, { shape: [3, 1], meta: { unit: "K" } });
    const client = await ArrayClient.connect(server.url);
    try {
      const [big, tiny, other] = await Promise.all([
        client.fetch("arange", { params: { length: 3_000_000 }, chunkByteLength: 64 * 1024 }),
        client.fetch("small"),
        client.fetch("arange", { params: { length: 500_000, dtype: "float32" } }),
      ]);
      expect(big.array[2_999_999]).toBe(2_999_999);
      expect(list(tiny.array)).toEqual([7, 8, 9]);
      expect(tiny.shape).toEqual([3, 1]);
      expect(tiny.meta).toEqual({ unit: "K" });
      expect(other.array[499_999]).toBe(499_999);
    } finally {
      client.close();
    }
  });

  it("sends an element range of the flattened array", async () => {
    const result = await fetchArray(server.url, "arange", {
      params: { length: 100, shape: [10, 10] },
      range: [15, 25],
    });
    expect(list(result.array)).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    expect(result.shape).toEqual([10]);
  });

  it("refuses a range past the end with E_BAD_RANGE", async () => {
    await expect(fetchArray(server.url, "arange", { params: { length: 10 }, range: [5, 11] })).rejects.toMatchObject({
      code: "E_BAD_RANGE",
      message: "Invalid element range: expected end <= 10 (the array's length), got [5, 11)",
    });
  });

  it("carries every dtype, n-d shapes and empty arrays", async () => {
    const client = await ArrayClient.connect(server.url);
    try {
      for (const dtype of [
        "int8",
        "uint8",
        "uint8clamped",
        "int16",
        "uint16",
        "int32",
        "uint32",
        "float32",
        "float64",
        "bigint64",
        "biguint64",
      ]) {
        const expected = fillArange(dtype as "int8", 1000);
        const result = await client.fetch("arange", { params: { length: 1000, dtype, shape: [10, 100] } });
        expect(result.dtype).toBe(dtype);
        expect(result.shape).toEqual([10, 100]);
        expect(result.array.constructor).toBe(expected.constructor);
        expect(sha256(result.array)).toBe(sha256(expected));
      }
      const empty = await client.fetch("arange", { params: { length: 0, shape: [3, 0] } });
      expect(empty.array.length).toBe(0);
      expect(empty.shape).toEqual([3, 0]);
    } finally {
      client.close();
    }
  });

  it("refuses an array over the client's maxBytes before allocating it", async () => {
    await expect(fetchArray(server.url, "arange", { params: { length: 1000 }, maxBytes: 7999 })).rejects.toMatchObject({
      code: "E_TOO_LARGE",
      message: "Array too large: expected at most 7999 bytes (maxBytes), got 8000",
    });
  });

  it("aborts a stream in flight: rejects with the signal's reason and the connection stays usable", async () => {
    const client = await ArrayClient.connect(server.url);
    try {
      const controller = new AbortController();
      let seen = 0;
      const pending = client.fetch("arange", {
        params: { length: 20_000_000 },
        progressIntervalMs: 0,
        onProgress: (p) => {
          seen = p.receivedByteLength;
          if (p.receivedByteLength > 8 * MiB) controller.abort();
        },
        signal: controller.signal,
      });
      const err = await pending.catch((e: unknown) => e);
      expect(err).toMatchObject({ name: "AbortError" });
      expect(seen).toBeGreaterThan(8 * MiB);
      expect(seen).toBeLessThan(160_000_000);
      expect(client.streamCount).toBe(0);
      const after = await client.fetch("arange", { params: { length: 5 } });
      expect(list(after.array)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      client.close();
    }
  });

  it("rejects at once when the signal is already aborted", async () => {
    const client = await ArrayClient.connect(server.url);
    try {
      const controller = new AbortController();
      controller.abort(new Error("stop"));
      await expect(client.fetch("arange", { params: { length: 5 }, signal: controller.signal })).rejects.toThrow(
        "stop",
      );
    } finally {
      client.close();
    }
  });

  it("reports progress that is monotonic and ends at the total", async () => {
    const seen: number[] = [];
    let total = 0;
    await fetchArray(server.url, "arange", {
      params: { length: 3_000_000 },
      progressIntervalMs: 0,
      onProgress: (p) => {
        seen.push(p.receivedByteLength);
        total = p.totalByteLength;
        expect(p.bytesPerSecond).toBeGreaterThanOrEqual(0);
      },
    });
    expect(total).toBe(24_000_000);
    expect(seen.length).toBeGreaterThan(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] as number);
    expect(seen.at(-1)).toBe(24_000_000);
  });

  it("fails streams in flight with E_CONNECTION_CLOSED when the server goes away", async () => {
    const client = await ArrayClient.connect(server.url);
    const pending = client.fetch("arange", { params: { length: 30_000_000 }, creditByteLength: 4 * MiB });
    await new Promise((r) => setTimeout(r, 50));
    const closing = server.close();
    const err = await pending.catch((e: unknown) => e);
    await closing;
    expect(err).toBeInstanceOf(StreamError);
    expect(["E_SHUTDOWN", "E_CONNECTION_CLOSED"]).toContain((err as StreamError).code);
    server = new ArrayServer({ port: 0 }); // for afterEach
    await server.listen();
  });
});

describe("ArrayServer on the wire", () => {
  let server: ArrayServer;
  let raw: RawClient;

  beforeEach(async () => {
    server = new ArrayServer({ port: 0, log: () => {} });
    await server.listen();
    server.publish("arange", arange());
    raw = await RawClient.connect(server.url);
  });

  afterEach(async () => {
    raw.close();
    await server.close();
  });

  it("sends the header, then DATA + payload pairs that cover the range in order, then END", async () => {
    raw.send(request(3, "arange", { params: { length: 1000 }, chunkByteLength: 64 * 1024 }));
    raw.send(request(4, "arange", { params: { length: 20_000 }, chunkByteLength: 64 * 1024 }));
    const header = (await raw.nextMessage()) as ArrayHeaderMessage;
    expect(header).toMatchObject({
      type: "ARRAY_HEADER",
      streamId: 3,
      dtype: "float64",
      shape: [1000],
      totalByteLength: 8000,
    });
    // Stream 3 fits in one chunk; stream 4 (160 kB) needs three 64 KiB chunks.
    const got = new Map<number, number[]>();
    let ends = 0;
    while (ends < 2) {
      const m = await raw.nextMessage();
      if (m.type === "DATA") {
        const payload = (await raw.next()) as Buffer;
        expect(payload.byteLength).toBe(m.payloadByteLength);
        const offsets = got.get(m.streamId) ?? [];
        offsets.push(m.byteOffset);
        got.set(m.streamId, offsets);
        const values = new Float64Array(
          payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength),
        );
        expect(values[0]).toBe(m.byteOffset / 8);
      } else if (m.type === "END") {
        ends++;
        expect(m.byteLength).toBe(m.streamId === 3 ? 8000 : 160_000);
      }
    }
    expect(got.get(3)).toEqual([0]);
    expect(got.get(4)).toEqual([0, 65536, 131072]);
  });

  it("never sends past the client's credit, and resumes when credit is granted", async () => {
    raw.send(
      request(1, "arange", { params: { length: 1_000_000 }, chunkByteLength: 64 * 1024, creditByteLength: 100_000 }),
    );
    expect((await raw.nextMessage()).type).toBe("ARRAY_HEADER");
    let received = 0;
    const drain = async () => {
      for (;;) {
        const m = await raw.nextMessage(300).catch(() => null);
        if (!m) return;
        expect(m.type).toBe("DATA");
        received += ((await raw.next()) as Buffer).byteLength;
      }
    };
    await drain();
    expect(received).toBe(100_000);
    raw.send(encodeCredit(1, 50_000));
    await drain();
    expect(received).toBe(150_000);
  });

  it("stops sending a stream after CANCEL", async () => {
    raw.send(
      request(1, "arange", { params: { length: 1_000_000 }, chunkByteLength: 64 * 1024, creditByteLength: 200_000 }),
    );
    expect((await raw.nextMessage()).type).toBe("ARRAY_HEADER");
    raw.send(encodeCancel(1));
    raw.send(encodeCredit(1, 8_000_000));
    let received = 0;
    for (;;) {
      const m = await raw.nextMessage(300).catch(() => null);
      if (!m) break;
      received += ((await raw.next()) as Buffer).byteLength;
    }
    expect(received).toBeLessThanOrEqual(200_000);
  });

  it("keeps a slow reader's queue bounded instead of buffering the array", async () => {
    server.publish("big", new Float64Array(25_000_000)); // 200 MB
    const socket = (raw.ws as unknown as { _socket: import("node:net").Socket })._socket;
    socket.pause(); // a reader that stops reading
    raw.send(request(1, "big", { chunkByteLength: MiB }));
    let maxQueued = 0;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 25));
      maxQueued = Math.max(maxQueued, server.stats().maxQueuedByteLength);
    }
    expect(maxQueued).toBeGreaterThan(0);
    expect(maxQueued).toBeLessThanOrEqual(4 * MiB + MiB + 64);
    socket.resume();
  });

  it("answers a malformed message with an ERROR on its stream and keeps serving", async () => {
    const bad = request(9, "arange", { params: { length: 4 } });
    bad[0] = 0; // break the magic
    raw.send(bad);
    const err = (await raw.nextMessage()) as ErrorMessage;
    expect(err).toMatchObject({ type: "ERROR", streamId: 9, code: "E_BAD_MAGIC" });
    raw.send("hello");
    expect(await raw.nextMessage()).toMatchObject({ type: "ERROR", streamId: 0, code: "E_TEXT_FRAME" });
    raw.send(request(10, "arange", { params: { length: 4 } }));
    expect(await raw.nextMessage()).toMatchObject({ type: "ARRAY_HEADER", streamId: 10 });
  });

  it("refuses a duplicate active stream id with E_STREAM_EXISTS", async () => {
    raw.send(request(5, "arange", { params: { length: 1_000_000 }, creditByteLength: 64 * 1024 }));
    expect(await raw.nextMessage()).toMatchObject({ type: "ARRAY_HEADER", streamId: 5 });
    raw.send(request(5, "arange", { params: { length: 10 } }));
    let m = await raw.nextMessage();
    while (m.type === "DATA") {
      await raw.next();
      m = await raw.nextMessage();
    }
    expect(m).toMatchObject({ type: "ERROR", streamId: 5, code: "E_STREAM_EXISTS" });
  });

  it("refuses bad arange params with E_BAD_REQUEST", async () => {
    raw.send(request(2, "arange", { params: { length: -1 } }));
    expect(await raw.nextMessage()).toMatchObject({ type: "ERROR", streamId: 2, code: "E_BAD_REQUEST" });
    raw.send(request(3, "arange", { params: { length: 10, dtype: "complex128" } }));
    expect(await raw.nextMessage()).toMatchObject({ type: "ERROR", streamId: 3, code: "E_BAD_REQUEST" });
  });

  it("sends END with the CRC-32C of the range when asked", async () => {
    raw.send(request(1, "arange", { params: { length: 2 }, checksum: "crc32c" }));
    const header = (await raw.nextMessage()) as ArrayHeaderMessage;
    expect(header.checksumAlgorithm).toBe("crc32c");
    const data = (await raw.nextMessage()) as DataMessage;
    expect(data.payloadByteLength).toBe(16);
    await raw.next();
    const end = (await raw.nextMessage()) as EndMessage;
    // CRC-32C of float64 [0, 1] little-endian, computed independently with a bitwise loop.
    let crc = 0xffffffff;
    for (const byte of new Uint8Array(new Float64Array([0, 1]).buffer)) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    expect(end).toMatchObject({
      type: "END",
      byteLength: 16,
      checksumAlgorithm: "crc32c",
      checksum: (crc ^ 0xffffffff) >>> 0,
    });
  });
});

describe("ArrayServer attached to an existing http server", () => {
  it("serves its path and leaves other upgrade paths to other handlers", async () => {
    const http = createServer();
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    const other: string[] = [];
    http.on("upgrade", (req, socket) => {
      if (req.url === "/other") {
        other.push(req.url);
        socket.destroy();
      }
    });
    const server = new ArrayServer({ server: http, path: "/arrays" });
    server.publish("a", new Float32Array([1.5, 2.5]));
    const { port } = http.address() as AddressInfo;
    try {
      const result = await fetchArray(`ws://127.0.0.1:${port}/arrays`, "a", { transport: "ws" });
      expect(list(result.array)).toEqual([1.5, 2.5]);
      await RawClient.connect(`ws://127.0.0.1:${port}/other`).catch(() => null);
      expect(other).toEqual(["/other"]);
    } finally {
      await server.close();
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});
