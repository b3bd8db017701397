/**
 * Uploads on the server (docs/PROTOCOL.md §16, SERVER.md §10): with the real client (round trip,
 * into targets, publishing only after the checksum, readers that see the old array meanwhile)
 * and byte by byte for every hostile case: over the size limit (and at it), fewer bytes then END,
 * more bytes, past the credit (1008) and exactly at it, a payload over the cap, a stalled
 * uploader, many uploads against the budget (E_BUSY), a wrong checksum, resume after a cut and
 * after expiry. Other streams on the connection go on throughout.
 */
import { afterEach, describe, expect, it } from "vitest";
import { fetchArray, type StreamError, uploadArray } from "../client/index.ts";
import {
  type AcceptMessage,
  encodeCancel,
  encodeData,
  encodeEnd,
  encodePut,
  encodeRequest,
  type Message,
  StreamError as SharedStreamError,
  xxh32,
} from "../shared/index.ts";
import { ArrayServer, arange, type UploadOptions, type UploadRequest, type UploadResult } from "./index.ts";
import { CuttingProxy, RawClient } from "./test-helpers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

let server: ArrayServer | null = null;

afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(upload: Partial<UploadOptions> | null, extra: ConstructorParameters<typeof ArrayServer>[0] = {}) {
  const s = new ArrayServer({
    log: () => {},
    ...extra,
    upload: upload === null ? undefined : { onUpload: () => ({ allocate: true, publish: true }), ...upload },
  });
  await s.listen();
  server = s;
  return s;
}

function float64(n: number, from = 0): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => from + i * 0.5);
}

function bytes(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** A PUT for a uint8 array of `byteLength` bytes. */
function put(streamId: number, name: string, byteLength: number, uploadId = 0): Uint8Array {
  return encodePut({
    streamId,
    name,
    dtype: "uint8",
    shape: [byteLength],
    checksumAlgorithm: "xxh32",
    uploadId,
    meta: null,
    params: null,
  });
}

function pattern(byteLength: number, seed = 7): Uint8Array {
  return Uint8Array.from({ length: byteLength }, (_, i) => (i * 31 + seed) & 255);
}

/** Sends DATA + payload for `bytes` at `byteOffset`, in pieces of at most `piece` bytes. */
function sendBytes(raw: RawClient, streamId: number, byteOffset: number, data: Uint8Array, piece = 256 * KiB): void {
  for (let at = 0; at < data.byteLength; at += piece) {
    const part = data.subarray(at, Math.min(at + piece, data.byteLength));
    raw.send(encodeData(streamId, byteOffset + at, part.byteLength));
    raw.send(part);
  }
}

async function accept(raw: RawClient): Promise<AcceptMessage> {
  const m = await raw.nextMessage();
  if (m.type !== "ACCEPT") throw new Error(`expected ACCEPT, got ${JSON.stringify(m)}`);
  return m;
}

/** Reads control messages until one that is not a CREDIT. */
async function nextNotCredit(raw: RawClient): Promise<Message> {
  for (;;) {
    const m = await raw.nextMessage();
    if (m.type !== "CREDIT") return m;
  }
}

describe("uploads with the client", () => {
  it("uploads a 2-d float64 array with meta; it is published only once verified", async () => {
    const results: UploadResult[] = [];
    const s = await start({ onUploaded: (r) => void results.push(r) });
    const data = float64(300_000);
    const progress: number[] = [];
    const result = await uploadArray(s.url, "up", data, {
      shape: [600, 500],
      meta: { unit: "V" },
      onProgress: (p) => progress.push(p.acknowledgedByteLength),
    });
    expect(result).toMatchObject({ name: "up", dtype: "float64", shape: [600, 500], byteLength: 2_400_000 });
    expect(result.checksum).toBe(xxh32(bytes(data)));
    expect(progress.at(-1)).toBe(2_400_000);
    expect(progress.every((p, i) => i === 0 || p >= (progress[i - 1] as number))).toBe(true);
    const back = await fetchArray(s.url, "up");
    expect(back).toMatchObject({ shape: [600, 500], meta: { unit: "V" } });
    expect(Buffer.compare(bytes(back.array), bytes(data))).toBe(0);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ name: "up", published: true, checksumAlgorithm: "xxh32" });
    expect(s.stats()).toMatchObject({ uploadCount: 0, uploadByteLength: 0 });
  });

  it("writes into the hook's own array, hands onUploaded what arrived, and publishes nothing unasked", async () => {
    const target = new Int32Array(1000).fill(-1);
    const seen: UploadRequest[] = [];
    let uploaded: UploadResult | null = null;
    const s = await start({
      onUpload: (request) => {
        seen.push(request);
        return { into: target };
      },
      onUploaded: (r) => {
        uploaded = r;
      },
    });
    const data = Int32Array.from({ length: 600 }, (_, i) => i * 3 - 900);
    await uploadArray(s.url, "into", data, { params: { mode: "replace" }, meta: { k: 1 } });
    expect(seen[0]).toMatchObject({
      name: "into",
      dtype: "int32",
      shape: [600],
      byteLength: 2400,
      params: { mode: "replace" },
      meta: { k: 1 },
      checksumAlgorithm: "xxh32",
    });
    expect(seen[0]?.req.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect([...target.subarray(0, 600)]).toEqual([...data]);
    expect(target[600]).toBe(-1); // nothing past the upload is touched
    expect((uploaded as unknown as UploadResult).array.length).toBe(600);
    expect((uploaded as unknown as UploadResult).array.buffer).toBe(target.buffer);
    await expect(fetchArray(s.url, "into")).rejects.toMatchObject({ code: "E_UNKNOWN_NAME" });
  });

  it("lets readers of the name see the old array until the new one is verified, never part of it", async () => {
    const s = await start({});
    s.publish("x", float64(1000, 100));
    const data = float64(500_000); // 4 MB, sent from a source that waits halfway
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let halfway!: () => void;
    const reachedHalf = new Promise<void>((resolve) => {
      halfway = resolve;
    });
    const all = bytes(data);
    const upload = uploadArray(s.url, "x", {
      dtype: "float64",
      shape: [500_000],
      read: async (byteOffset, byteLength) => {
        if (byteOffset >= all.byteLength / 2) {
          halfway();
          await gate;
        }
        return all.subarray(byteOffset, byteOffset + byteLength);
      },
    });
    await reachedHalf;
    const meanwhile = await fetchArray(s.url, "x");
    expect(meanwhile.array.length).toBe(1000);
    expect(meanwhile.array[0]).toBe(100);
    release();
    await upload;
    const after = await fetchArray(s.url, "x");
    expect(after.array.length).toBe(500_000);
    expect(after.generation).toBeGreaterThan(meanwhile.generation);
  });

  it("answers PUT with E_UNEXPECTED_MESSAGE when uploads are off, and keeps the connection", async () => {
    const s = await start(null);
    s.publish("arange", arange());
    await expect(uploadArray(s.url, "x", new Uint8Array(10))).rejects.toMatchObject({ code: "E_UNEXPECTED_MESSAGE" });
    const raw = await RawClient.connect(s.url);
    raw.send(put(1, "x", 16));
    raw.send(encodeData(1, 0, 16));
    raw.send(new Uint8Array(16)); // its payload, dropped unread
    raw.send(encodeEnd({ streamId: 1, byteLength: 16, checksumAlgorithm: "xxh32", checksum: 0 }));
    raw.send(
      encodeRequest({
        streamId: 2,
        name: "arange",
        params: { length: 2 },
        chunkByteLength: 0,
        range: null,
        resumeByteOffset: 0,
        creditByteLength: 0,
        expectedGeneration: null,
        checksum: "none",
      }),
    );
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push(await raw.nextMessage());
    expect(codes.map((m) => (m.type === "ERROR" ? m.code : m.type))).toEqual([
      "E_UNEXPECTED_MESSAGE",
      "E_UNEXPECTED_MESSAGE",
      "E_UNEXPECTED_MESSAGE",
    ]);
    expect(await raw.nextMessage()).toMatchObject({ type: "ARRAY_HEADER", streamId: 2 });
    raw.close();
  });

  it("passes the hook's refusal on: false, its own code, and E_INTERNAL for its bugs", async () => {
    const answers: unknown[] = [
      false,
      new SharedStreamError("E_QUOTA", "over your quota"),
      new TypeError("a bug"),
      { into: "nope" },
      { allocate: false },
    ];
    const s = await start({
      onUpload: () => {
        const a = answers.shift();
        if (a instanceof Error) throw a;
        return a as false;
      },
    });
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const err = (await uploadArray(s.url, `n${i}`, new Uint8Array(4)).catch((e: unknown) => e)) as StreamError;
      codes.push(err.remoteCode === undefined ? err.code : `${err.code}:${err.remoteCode}`);
    }
    // The hook's own code travels as is; the client, which does not know it, reports E_REMOTE with it.
    expect(codes).toEqual(["E_UPLOAD_REFUSED", "E_REMOTE:E_QUOTA", "E_INTERNAL", "E_INTERNAL", "E_INTERNAL"]);
    expect(s.stats().uploadByteLength).toBe(0);
  });

  it("never has more than the credit window in flight, and a well-behaved uploader is never cut", async () => {
    const window = 1 * MiB;
    const s = await start({ windowByteLength: window, maxPayloadByteLength: 256 * KiB });
    let maxInFlight = 0;
    const data = pattern(24 * MiB);
    await uploadArray(s.url, "big", data, {
      progressIntervalMs: 0,
      onProgress: (p) => {
        maxInFlight = Math.max(maxInFlight, p.sentByteLength - p.acknowledgedByteLength);
      },
    });
    expect(maxInFlight).toBeGreaterThan(window / 2); // the window is used...
    expect(maxInFlight).toBeLessThanOrEqual(window); // ...and never exceeded
    const back = await fetchArray(s.url, "big");
    expect(Buffer.compare(bytes(back.array), data)).toBe(0);
  });
});

describe("hostile uploads, byte by byte", () => {
  it("refuses a declared length over maxUploadByteLength before any byte, and takes one at it", async () => {
    const s = await start({ maxUploadByteLength: 1000 });
    const raw = await RawClient.connect(s.url);
    raw.send(put(1, "a", 1001));
    expect(await raw.nextMessage()).toMatchObject({ type: "ERROR", streamId: 1, code: "E_TOO_LARGE" });
    raw.send(put(3, "a", 1000));
    const ok = await accept(raw);
    expect(ok).toMatchObject({ streamId: 3, firstByteOffset: 0 });
    raw.close();
  });

  it("fails fewer bytes than declared, then END, with E_INCOMPLETE; nothing is published or kept", async () => {
    const s = await start({});
    const raw = await RawClient.connect(s.url);
    raw.send(put(1, "short", 1000));
    await accept(raw);
    const data = pattern(1000);
    sendBytes(raw, 1, 0, data.subarray(0, 600));
    raw.send(encodeEnd({ streamId: 1, byteLength: 600, checksumAlgorithm: "xxh32", checksum: xxh32(data) }));
    expect(await nextNotCredit(raw)).toMatchObject({ type: "ERROR", streamId: 1, code: "E_INCOMPLETE" });
    await expect(fetchArray(s.url, "short")).rejects.toMatchObject({ code: "E_UNKNOWN_NAME" });
    expect(s.stats()).toMatchObject({ uploadCount: 0, uploadByteLength: 0 });
    raw.close();
  });

  it("fails more bytes than declared with E_BAD_RANGE and drops the payload unread", async () => {
    const s = await start({});
    s.publish("arange", arange());
    const raw = await RawClient.connect(s.url);
    raw.send(put(1, "long", 1000));
    await accept(raw);
    sendBytes(raw, 1, 0, pattern(1000));
    raw.send(encodeData(1, 1000, 8));
    raw.send(new Uint8Array(8));
    raw.send(
      encodeRequest({
        streamId: 2,
        name: "arange",
        params: { length: 1 },
        chunkByteLength: 0,
        range: null,
        resumeByteOffset: 0,
        creditByteLength: 0,
        expectedGeneration: null,
        checksum: "none",
      }),
    );
    expect(await nextNotCredit(raw)).toMatchObject({ type: "ERROR", streamId: 1, code: "E_BAD_RANGE" });
    expect(await nextNotCredit(raw)).toMatchObject({ type: "ARRAY_HEADER", streamId: 2 });
    expect(s.stats().uploadByteLength).toBe(0);
    raw.close();
  });

  it("closes with 1008 a client that announces one byte past its credit, not one that uses all of it", async () => {
    // The server grants back what it wrote once a quarter window accumulates: after a 1-byte
    // payload (no grant yet) the credit left is window - 1.
    const window = 256 * KiB;
    const s = await start({ windowByteLength: window, maxPayloadByteLength: window });
    const exact = await RawClient.connect(s.url);
    exact.send(put(1, "a", 2 * window));
    expect(await accept(exact)).toMatchObject({ creditByteLength: window, maxPayloadByteLength: window });
    sendBytes(exact, 1, 0, pattern(1), window);
    sendBytes(exact, 1, 1, pattern(window - 1), window); // exactly the credit left
    expect(await exact.nextMessage()).toEqual({ type: "CREDIT", streamId: 1, grantByteLength: window });
    expect(exact.closeCode).toBeNull();
    exact.close();

    const over = await RawClient.connect(s.url);
    over.send(put(1, "b", 2 * window));
    await accept(over);
    sendBytes(over, 1, 0, pattern(1), window);
    sendBytes(over, 1, 1, pattern(window), window); // one byte more than the credit left
    expect(await over.closed).toBe(1008);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The violator's upload is dropped; the first one, cut by its close(), is kept for a resume.
    expect(s.stats()).toMatchObject({ uploadCount: 1, uploadByteLength: 2 * window });
  });

  it("closes with 1008 a client that sends DATA before its ACCEPT (it has no credit yet)", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const s = await start({
      onUpload: async () => {
        await gate;
        return { allocate: true };
      },
    });
    const raw = await RawClient.connect(s.url);
    raw.send(put(1, "early", 100));
    sendBytes(raw, 1, 0, pattern(100));
    expect(await raw.closed).toBe(1008);
    release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(s.stats()).toMatchObject({ uploadCount: 0, uploadByteLength: 0 });
  });

  it("closes with 1009 a payload over maxPayloadByteLength, and a control message over 64 KiB", async () => {
    const s = await start({ maxPayloadByteLength: 128 * KiB });
    const big = await RawClient.connect(s.url);
    big.send(put(1, "a", MiB));
    await accept(big);
    big.send(encodeData(1, 0, 128 * KiB + 1)); // fails to decode (E_TOO_LARGE); its payload follows
    big.send(new Uint8Array(128 * KiB + 1)); // over ws's maxPayload: 1009
    expect(await big.closed).toBe(1009);
    const control = await RawClient.connect(s.url);
    control.send(new Uint8Array(64 * KiB + 1));
    expect(await control.closed).toBe(1009);
  });

  it("fails a wrong checksum with E_CHECKSUM: nothing published, onUploaded not called, budget back", async () => {
    let uploaded = 0;
    const s = await start({ onUploaded: () => void uploaded++ });
    const raw = await RawClient.connect(s.url);
    raw.send(put(1, "bad", 5000));
    await accept(raw);
    const data = pattern(5000);
    sendBytes(raw, 1, 0, data);
    raw.send(
      encodeEnd({ streamId: 1, byteLength: 5000, checksumAlgorithm: "xxh32", checksum: (xxh32(data) + 1) >>> 0 }),
    );
    expect(await nextNotCredit(raw)).toMatchObject({ type: "ERROR", streamId: 1, code: "E_CHECKSUM" });
    await expect(fetchArray(s.url, "bad")).rejects.toMatchObject({ code: "E_UNKNOWN_NAME" });
    expect(uploaded).toBe(0);
    expect(s.stats().uploadByteLength).toBe(0);
    raw.close();
  });

  it("refuses uploads past maxUploadBytes with E_BUSY while others hold it, and takes them once freed", async () => {
    const s = await start({ maxUploadBytes: 3000 });
    const raw = await RawClient.connect(s.url);
    for (const id of [1, 3, 5]) raw.send(put(id, `u${id}`, 1000));
    for (let i = 0; i < 3; i++) await accept(raw);
    raw.send(put(7, "u7", 1));
    expect(await raw.nextMessage()).toMatchObject({ type: "ERROR", streamId: 7, code: "E_BUSY" });
    expect(s.stats()).toMatchObject({ uploadCount: 3, uploadByteLength: 3000 });
    // The other uploads go on: finish one, and the next fits.
    const data = pattern(1000);
    sendBytes(raw, 3, 0, data);
    raw.send(encodeEnd({ streamId: 3, byteLength: 1000, checksumAlgorithm: "xxh32", checksum: xxh32(data) }));
    expect(await nextNotCredit(raw)).toMatchObject({ type: "END", streamId: 3, byteLength: 1000 });
    raw.send(put(9, "u9", 1000));
    expect(await accept(raw)).toMatchObject({ streamId: 9 });
    raw.send(encodeCancel(1));
    raw.send(encodeCancel(5));
    raw.send(encodeCancel(9));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.stats()).toMatchObject({ uploadCount: 0, uploadByteLength: 0 });
    raw.close();
  });

  it("ends a stalled upload with E_TIMEOUT and keeps it: a resume from its last byte completes it", async () => {
    const s = await start({}, { stallTimeoutMs: 300 });
    const raw = await RawClient.connect(s.url);
    raw.send(put(1, "slow", 4000));
    const first = await accept(raw);
    const data = pattern(4000);
    sendBytes(raw, 1, 0, data.subarray(0, 1500));
    expect(await nextNotCredit(raw)).toMatchObject({ type: "ERROR", streamId: 1, code: "E_TIMEOUT" });
    expect(s.stats()).toMatchObject({ uploadCount: 1, uploadByteLength: 4000 });
    raw.send(put(3, "slow", 4000, first.uploadId));
    const resumed = await accept(raw);
    expect(resumed).toMatchObject({ streamId: 3, uploadId: first.uploadId, firstByteOffset: 1500 });
    sendBytes(raw, 3, 1500, data.subarray(1500));
    raw.send(encodeEnd({ streamId: 3, byteLength: 2500, checksumAlgorithm: "xxh32", checksum: xxh32(data) }));
    expect(await nextNotCredit(raw)).toMatchObject({
      type: "END",
      streamId: 3,
      byteLength: 2500,
      checksum: xxh32(data),
    });
    const back = await fetchArray(s.url, "slow");
    expect(Buffer.compare(bytes(back.array), data)).toBe(0);
    raw.close();
  });

  it("keeps a cut upload for resumeTimeoutMs, then forgets it (E_GONE) and gives its bytes back", async () => {
    const s = await start({ resumeTimeoutMs: 200 });
    const raw = await RawClient.connect(s.url);
    raw.send(put(1, "cut", 3000));
    const first = await accept(raw);
    sendBytes(raw, 1, 0, pattern(3000).subarray(0, 1000));
    await new Promise((resolve) => setTimeout(resolve, 30));
    raw.ws.terminate();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.stats()).toMatchObject({ uploadCount: 1, uploadByteLength: 3000 });
    const wrong = await RawClient.connect(s.url);
    wrong.send(put(1, "other", 3000, first.uploadId)); // another array: refused, the upload stays
    expect(await wrong.nextMessage()).toMatchObject({ type: "ERROR", code: "E_BAD_REQUEST" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(s.stats()).toMatchObject({ uploadCount: 0, uploadByteLength: 0 });
    wrong.send(put(3, "cut", 3000, first.uploadId));
    expect(await wrong.nextMessage()).toMatchObject({ type: "ERROR", streamId: 3, code: "E_GONE" });
    wrong.close();
  });

  it("drops an upload on CANCEL and on an id reused while it runs, keeping nothing", async () => {
    const s = await start({});
    const raw = await RawClient.connect(s.url);
    raw.send(put(1, "c", 1000));
    await accept(raw);
    raw.send(encodeCancel(1));
    raw.send(put(3, "d", 1000));
    await accept(raw);
    raw.send(put(3, "e", 10));
    expect(await raw.nextMessage()).toMatchObject({ type: "ERROR", streamId: 3, code: "E_STREAM_EXISTS" });
    expect(s.stats()).toMatchObject({ uploadCount: 0, uploadByteLength: 0 });
    raw.close();
  });

  it("refuses a PUT without a checksum, for part of the array, or with another key in its upload object", async () => {
    const s = await start({});
    const raw = await RawClient.connect(s.url);
    const plain = { streamId: 1, name: "a", dtype: "uint8" as const, shape: [4], uploadId: 0, params: null };
    raw.send(encodePut({ ...plain, checksumAlgorithm: "none", meta: null }));
    expect(await raw.nextMessage()).toMatchObject({ streamId: 1, code: "E_BAD_REQUEST" });
    raw.send(encodePut({ ...plain, streamId: 3, checksumAlgorithm: "xxh32", meta: null, params: { x: 1 } }));
    expect(await accept(raw)).toMatchObject({ streamId: 3 });
    raw.close();
  });

  it("sends E_SHUTDOWN to uploads in flight when the server closes", async () => {
    const s = await start({});
    const raw = await RawClient.connect(s.url);
    raw.send(put(1, "a", 1000));
    await accept(raw);
    const closing = s.close();
    expect(await raw.nextMessage()).toMatchObject({ type: "ERROR", streamId: 1, code: "E_SHUTDOWN" });
    await closing;
    expect(s.stats().uploadCount).toBe(0);
  });

  it("resumes a cut upload from the client, from the server's last byte (resume: true)", async () => {
    let decisions = 0;
    const s = await start({
      windowByteLength: 1 * MiB,
      maxPayloadByteLength: 256 * KiB,
      onUpload: () => {
        decisions++;
        return { allocate: true, publish: true };
      },
    });
    // The first connection is cut after the upgrade's ACCEPT (2 + 40 bytes) and three CREDITs
    // (2 + 24 bytes each): 768 KiB or more of the upload arrived; the next connection is not cut.
    const proxy = await CuttingProxy.start(Number(new URL(s.url).port), [42 + 3 * 26]);
    try {
      const data = pattern(8 * MiB, 3);
      const result = await uploadArray(`ws://127.0.0.1:${proxy.port}/arraywire`, "resumed", data, {
        resume: { initialDelayMs: 10 },
        chunkByteLength: 256 * KiB,
      });
      expect(proxy.connectionCount).toBe(2);
      expect(decisions).toBe(1); // a resume, not a new upload
      expect(result.checksum).toBe(xxh32(data));
      const back = await fetchArray(s.url, "resumed");
      expect(Buffer.compare(bytes(back.array), data)).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it("never retries the caller's own failure (a read() that throws)", async () => {
    const s = await start({});
    const thrown = new Error("disk gone");
    const source = {
      dtype: "uint8" as const,
      shape: [4 * MiB],
      read: (byteOffset: number, byteLength: number) => {
        if (byteOffset >= MiB) throw thrown;
        return new Uint8Array(byteLength);
      },
    };
    const error = await uploadArray(s.url, "x", source, { resume: true }).catch((e: unknown) => e);
    expect(error).toBe(thrown);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.stats()).toMatchObject({ uploadCount: 0, uploadByteLength: 0 }); // CANCEL: nothing kept
  });
});
