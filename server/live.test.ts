/**
 * Live arrays: LiveArray itself, then subscriptions through the real client and byte by byte
 * (GROW before each growth, none to a subscriber without credit, END at close with the checksum
 * of the whole range), ranges in the middle, a late subscriber, and the lag policy
 * (E_SLOW_CONSUMER) on both sides of its bound, with a subscriber that never reads.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArrayClient, fetchArray, type LiveUpdate, StreamError, subscribe } from "../client/index.ts";
import {
  decodeMessage,
  encodeCredit,
  encodeRequest,
  type Message,
  type RequestMessage,
  xxh32,
} from "../shared/index.ts";
import { ArrayServer, LiveArray } from "./index.ts";
import { RawClient } from "./test-helpers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

function subscribeRequest(streamId: number, name: string, extra: Partial<RequestMessage> = {}): Uint8Array {
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
    subscribe: true,
    ...extra,
  });
}

/** Reads a raw connection message by message, payloads included (each after its DATA). */
class Frames {
  readonly raw: RawClient;
  #payloadNext = false;
  constructor(raw: RawClient) {
    this.raw = raw;
  }
  async next(timeoutMs = 5000): Promise<Message | { type: "PAYLOAD"; bytes: Uint8Array }> {
    const data = await this.raw.next(timeoutMs);
    if (typeof data === "string") throw new Error(`text message ${data}`);
    if (this.#payloadNext) {
      this.#payloadNext = false;
      return { type: "PAYLOAD", bytes: new Uint8Array(data) };
    }
    const message = decodeMessage(data, { maxTotalByteLength: Number.MAX_SAFE_INTEGER });
    if (message.type === "DATA") this.#payloadNext = true;
    return message;
  }
  /** Message types (and payload sizes) until `stop` matches, inclusive. */
  async until(stop: (m: Message | { type: "PAYLOAD"; bytes: Uint8Array }) => boolean): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const m = await this.next();
      seen.push(m.type === "PAYLOAD" ? `PAYLOAD:${m.bytes.byteLength}` : m.type);
      if (stop(m)) return seen;
    }
    throw new Error("no end in 10,000 messages");
  }
}

function values(from: number, count: number): Float64Array {
  return Float64Array.from({ length: count }, (_, i) => from + i);
}

describe("LiveArray", () => {
  it("appends whole rows up to maxLength, and refuses one row more", () => {
    const live = new LiveArray("a", { dtype: "int16", maxLength: 3, rowShape: [2] });
    expect(live.append(new Int16Array([1, 2]))).toBe(1);
    expect(live.append([3, 4, 5, 6])).toBe(3);
    expect(live.shape).toEqual([3, 2]);
    expect(live.byteLength).toBe(12);
    expect(() => live.append(new Int16Array([7, 8]))).toThrow(
      new RangeError('Live array "a" is full: 3 + 1 rows exceed maxLength 3'),
    );
    expect(live.length).toBe(3);
    expect([...new Int16Array(live.view(0, 12).slice().buffer)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("refuses values of another dtype, part of a row, and appends after close()", () => {
    const live = new LiveArray("a", { dtype: "float32", maxLength: 10, rowShape: [3] });
    expect(() => live.append(new Float64Array(3))).toThrow(
      new TypeError("Invalid values: expected float32, got float64"),
    );
    expect(() => live.append(new Float32Array(4))).toThrow(
      new TypeError("Invalid values: expected whole rows of 3 elements, got 4 elements"),
    );
    live.close();
    expect(live.closed).toBe(true);
    expect(() => live.append(new Float32Array(3))).toThrow(
      new RangeError('Live array "a" is closed: append() refused'),
    );
  });

  it("keeps the XXH32 of everything appended, whatever the pieces", () => {
    const live = new LiveArray("a", { dtype: "uint8", maxLength: 100 });
    const all = Uint8Array.from({ length: 61 }, (_, i) => (i * 37) & 255);
    live.append(all.subarray(0, 7));
    live.append(all.subarray(7, 40));
    live.append(all.subarray(40));
    expect(live.xxh32()).toBe(xxh32(all));
    expect(live.appendCount).toBe(3);
  });

  it.each([
    [{ maxLength: 0 }, "Invalid maxLength: expected a positive integer, got 0"],
    [{ maxLength: 1.5 }, "Invalid maxLength: expected a positive integer, got 1.5"],
    [{ rowShape: [0] }, "Invalid rowShape: expected positive integers, got [0]"],
    [{ maxLagByteLength: 0 }, "Invalid maxLagByteLength: expected a positive integer, got 0"],
  ])("refuses %j", (options, message) => {
    expect(() => new LiveArray("a", { dtype: "float64", maxLength: 4, ...options })).toThrow(message);
  });
});

describe("subscriptions", () => {
  let server: ArrayServer;
  let live: LiveArray;

  beforeEach(async () => {
    server = new ArrayServer({ log: () => {} });
    await server.listen();
    live = server.publishLive("signal", { dtype: "float64", maxLength: 100_000, rowShape: [4], meta: { unit: "V" } });
  });

  afterEach(async () => {
    await server.close();
  });

  it("gives a late subscriber what exists, then every append, into one growing buffer", async () => {
    live.append(values(0, 40)); // 10 rows before anyone subscribes
    const updates: LiveUpdate[] = [];
    let firstBuffer: ArrayBufferLike | null = null;
    const done = subscribe(server.url, "signal", {
      onAppend: (update) => {
        updates.push({ ...update });
        firstBuffer ??= update.array.buffer;
        if (update.length === 40) {
          live.append(values(40, 8));
          live.append(values(48, 4)); // may arrive in one GROW with the previous one
        }
        if (update.length === 52) live.close();
      },
    });
    const result = await done;
    expect(updates[0]).toMatchObject({ previousLength: 0, length: 40, start: 0, arrayShape: [10, 4] });
    expect(updates.at(-1)).toMatchObject({ length: 52, arrayShape: [13, 4] });
    for (let i = 1; i < updates.length; i++) {
      expect(updates[i]?.previousLength).toBe(updates[i - 1]?.length);
      expect(updates[i]?.appended.length).toBe((updates[i]?.length ?? 0) - (updates[i - 1]?.length ?? 0));
    }
    expect(result).toMatchObject({
      dtype: "float64",
      shape: [13, 4],
      arrayShape: [13, 4],
      range: [0, 52],
      meta: { unit: "V" },
    });
    expect([...result.array]).toEqual([...values(0, 52)]);
    // Growth never moved the data: every update and the result share the first buffer.
    expect(result.array.buffer).toBe(firstBuffer);
    expect((result.array.buffer as ArrayBuffer & { resizable: boolean }).resizable).toBe(true);
  });

  it("verifies END's checksum over the whole range: the live array's XXH32, and a CRC-32C of its own", async () => {
    live.append(values(0, 400));
    const xx = subscribe(server.url, "signal");
    const crc = subscribe(server.url, "signal", { verify: "crc32c" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    live.append(values(400, 4));
    live.close();
    const [a, b] = await Promise.all([xx, crc]);
    expect([...a.array]).toEqual([...values(0, 404)]);
    expect([...b.array]).toEqual([...values(0, 404)]);
  });

  it("serves a range in the middle: from a start, ending at its end even while the array goes on", async () => {
    live.append(values(0, 40));
    const result = subscribe(server.url, "signal", { range: [18, 62] });
    await new Promise((resolve) => setTimeout(resolve, 30));
    live.append(values(40, 12)); // 52: not yet at 62
    await new Promise((resolve) => setTimeout(resolve, 30));
    live.append(values(52, 16)); // 68: past the range end, and the array stays open
    const r = await result;
    expect(r.range).toEqual([18, 62]);
    expect(r.shape).toEqual([44]);
    expect([...r.array]).toEqual([...values(18, 44)]);
    expect(live.closed).toBe(false);
  });

  it("refuses a start past the array's length and an end past its capacity, not one at either bound", async () => {
    live.append(values(0, 8));
    await expect(subscribe(server.url, "signal", { range: [9, 12] })).rejects.toMatchObject({ code: "E_BAD_RANGE" });
    await expect(subscribe(server.url, "signal", { range: [0, 400_001] })).rejects.toMatchObject({
      code: "E_BAD_RANGE",
    });
    const atLength = subscribe(server.url, "signal", { range: [8, 12] });
    const toCapacity = subscribe(server.url, "signal", { range: [399_996, 400_000], maxBytes: 64 });
    live.append(values(8, 4));
    expect([...(await atLength).array]).toEqual([8, 9, 10, 11]);
    live.append(new Float64Array(400_000 - 12));
    expect((await toCapacity).range).toEqual([399_996, 400_000]);
  });

  it("hands a fetch of the live name a snapshot of its length now", async () => {
    live.append(values(0, 12));
    const snapshot = await fetchArray(server.url, "signal");
    expect(snapshot.shape).toEqual([3, 4]);
    live.append(values(12, 4));
    expect((await fetchArray(server.url, "signal", { transport: "http" })).shape).toEqual([4, 4]);
  });

  it("subscribes to a fixed array as to a closed live one: the array, then END", async () => {
    server.publish("fixed", values(0, 10), { shape: [5, 2] });
    const r = await subscribe(server.url, "fixed", { range: [3, 7] });
    expect([...r.array]).toEqual([3, 4, 5, 6]);
    expect(r.arrayShape).toEqual([5, 2]);
  });

  it("runs many subscriptions on one connection, next to a download", async () => {
    server.publish("fixed", values(0, 1000));
    const client = await ArrayClient.connect(server.url);
    const subs = [subscribe(client, "signal"), subscribe(client, "signal", { range: [4, 8] })];
    const fetched = client.fetch("fixed");
    live.append(values(0, 8));
    live.close();
    const [whole, part] = await Promise.all(subs);
    expect([...(whole as { array: Float64Array }).array]).toEqual([...values(0, 8)]);
    expect([...(part as { array: Float64Array }).array]).toEqual([4, 5, 6, 7]);
    expect((await fetched).array.length).toBe(1000);
    expect(server.stats().streamCount).toBe(0);
    expect(live.subscriberCount).toBe(0);
    client.close();
  });

  it("sends GROW right after the header, then one before each growth, and none while the subscriber has no credit", async () => {
    live.append(values(0, 4)); // one row: 32 bytes
    const raw = await RawClient.connect(server.url);
    const frames = new Frames(raw);
    raw.send(subscribeRequest(1, "signal", { creditByteLength: 32 }));
    expect(await frames.until((m) => m.type === "PAYLOAD")).toEqual(["ARRAY_HEADER", "GROW", "DATA", "PAYLOAD:32"]);
    // No credit left: appends are not announced.
    live.append(values(4, 4));
    live.append(values(8, 4));
    await expect(raw.next(200)).rejects.toThrow("no message within 200 ms");
    // Credit for everything: one GROW announces both appends.
    raw.send(encodeCredit(1, 1 * MiB));
    const grow = await frames.next();
    expect(grow).toEqual({ type: "GROW", streamId: 1, totalByteLength: 96, maxTotalByteLength: 100_000 * 32 });
    expect(await frames.until((m) => m.type === "PAYLOAD")).toEqual(["DATA", "PAYLOAD:64"]);
    live.close();
    const end = await frames.next();
    expect(end).toMatchObject({ type: "END", streamId: 1, byteLength: 96 });
    raw.close();
  });

  it("refuses HEADER_ONLY and SUBSCRIBE together", async () => {
    const raw = await RawClient.connect(server.url);
    raw.send(subscribeRequest(3, "signal", { headerOnly: true }));
    expect(await raw.nextMessage()).toMatchObject({ type: "ERROR", streamId: 3, code: "E_BAD_REQUEST" });
    raw.close();
  });

  it("ends subscriptions with E_SHUTDOWN when the server closes", async () => {
    const pending = subscribe(server.url, "signal").catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.close();
    expect(await pending).toMatchObject({ code: "E_SHUTDOWN" });
  });
});

describe("slow subscribers", () => {
  let server: ArrayServer;

  beforeEach(async () => {
    server = new ArrayServer({ log: () => {} });
    await server.listen();
  });

  afterEach(async () => {
    await server.close();
  });

  it("ends a subscriber exactly one row past maxLagByteLength behind, not at it", async () => {
    const row = 1 * KiB;
    const maxLag = 64 * KiB;
    const window = 16 * KiB;
    const live = server.publishLive("s", {
      dtype: "uint8",
      maxLength: 1000,
      rowShape: [row],
      maxLagByteLength: maxLag,
    });
    const raw = await RawClient.connect(server.url);
    const frames = new Frames(raw);
    raw.send(subscribeRequest(1, "s", { creditByteLength: window }));
    await frames.until((m) => m.type === "GROW");
    // The subscriber read `window` bytes and then has no credit: its position stays there.
    const rows = (maxLag + window) / row;
    for (let i = 0; i < rows; i++) live.append(new Uint8Array(row).fill(i));
    let received = 0;
    await frames.until((m) => {
      if (m.type === "PAYLOAD") received += m.bytes.byteLength;
      return received === window;
    });
    await expect(raw.next(200)).rejects.toThrow("no message within 200 ms");
    expect(live.subscriberCount).toBe(1);
    live.append(new Uint8Array(row));
    const error = await frames.next();
    expect(error).toMatchObject({ type: "ERROR", streamId: 1, code: "E_SLOW_CONSUMER" });
    expect(live.subscriberCount).toBe(0);
    raw.close();
  });

  it("bounds what a subscriber that never reads costs, while a healthy one keeps up (default lag bound)", async () => {
    const row = 1 * MiB;
    const live = server.publishLive("big", { dtype: "uint8", maxLength: 200, rowShape: [row] });
    const stalled = await RawClient.connect(server.url);
    stalled.send(subscribeRequest(1, "big", { creditByteLength: 1024 * MiB }));
    await stalled.next(); // the header: then the socket stops reading
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    let healthyLength = 0;
    const healthy = subscribe(server.url, "big", {
      verify: false,
      onAppend: (u) => {
        healthyLength = u.length;
      },
    });
    const rssBefore = process.memoryUsage().rss;
    let maxQueued = 0;
    for (let i = 0; i < 100; i++) {
      live.append(new Uint8Array(row).fill(i & 255));
      await new Promise((resolve) => setTimeout(resolve, 2));
      maxQueued = Math.max(maxQueued, server.stats().maxQueuedByteLength);
    }
    live.close();
    const result = await healthy;
    expect(result.array.length).toBe(100 * row);
    expect(healthyLength).toBe(100 * row);
    expect(result.array[99 * row]).toBe(99);
    // The stalled one holds a read position: its connection's queue stays within maxQueuedBytes
    // (4 MiB) plus a chunk, whatever the array grew to, and it was ended once 64 MiB behind.
    expect(maxQueued).toBeLessThanOrEqual(4 * MiB + 1 * MiB + 1024);
    expect(live.subscriberCount).toBe(0);
    // The process (server and the healthy client) grew by the live array's 100 MiB, the healthy
    // subscriber's own 100 MiB, and a margin: no copy of the data per subscriber on the server.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * MiB + 64 * MiB);
    (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const frames = new Frames(stalled);
    let error: Message | null = null;
    await frames.until((m) => {
      if (m.type === "ERROR") error = m;
      return error !== null;
    });
    expect(error).toMatchObject({ type: "ERROR", streamId: 1, code: "E_SLOW_CONSUMER" });
    stalled.close();
  });
});

describe("StreamError from a subscription", () => {
  it("is a StreamError with the server's code for an unknown name", async () => {
    const server = new ArrayServer({ log: () => {} });
    await server.listen();
    const error = await subscribe(server.url, "nope").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamError);
    expect(error).toMatchObject({ code: "E_UNKNOWN_NAME" });
    await server.close();
  });
});
