/**
 * uploadArray() against a scripted server (client/test-helpers.ts fakeWebSocket): payloads are
 * views of the caller's array and never exceed the credit, END carries the checksum of every byte,
 * and each way a server can break the upload rules (CREDIT before ACCEPT, an ACCEPT past the end,
 * an acknowledgement of another checksum) fails with a typed error and a CANCEL; the caller's own
 * failures (abort, a throwing onProgress or read) are theirs. The server side is in
 * server/upload.test.ts.
 */
import { describe, expect, it } from "vitest";
import { encodeAccept, encodeCredit, encodeEnd, encodeError, type Message, xxh32 } from "../shared/index.ts";
import { ArrayClient, uploadArray } from "./index.ts";
import { fakeWebSocket, type ServerMessage } from "./test-helpers.ts";

const URL = "ws://fake/arraywire";
const KiB = 1024;

/** A server that accepts with `window` of credit, grants back what it gets, and acknowledges END. */
function acceptingServer(window: number, maxPayload = 64 * KiB, firstByteOffset = 0) {
  const received: { byteOffset: number; byteLength: number }[] = [];
  let pendingOffset = 0;
  let sid = 0;
  const { WebSocket, log } = fakeWebSocket({
    onRequest: () => [],
    closeAfterReplies: false,
    onClientMessage: (message: Message | null, payload): ServerMessage[] => {
      if (payload !== null) {
        received.push({ byteOffset: pendingOffset, byteLength: payload.byteLength });
        return [encodeCredit(sid, payload.byteLength)];
      }
      if (message?.type === "PUT") {
        sid = message.streamId;
        return [
          encodeAccept({
            streamId: message.streamId,
            uploadId: 77,
            firstByteOffset,
            creditByteLength: window,
            maxPayloadByteLength: maxPayload,
          }),
        ];
      }
      if (message?.type === "DATA") pendingOffset = message.byteOffset;
      if (message?.type === "END") return [encodeEnd({ ...message })];
      return [];
    },
  });
  return { WebSocket, log, received };
}

describe("uploadArray against a scripted server", () => {
  it("sends views of the caller's array within the credit, then END with the XXH32 of every byte", async () => {
    const data = Float64Array.from({ length: 40_000 }, (_, i) => Math.sin(i)); // 320,000 bytes
    const { WebSocket, log, received } = acceptingServer(100 * KiB, 48 * KiB);
    const result = await uploadArray(URL, "up", data, { WebSocket, shape: [200, 200], chunkByteLength: 64 * KiB });
    expect(result).toMatchObject({
      name: "up",
      dtype: "float64",
      shape: [200, 200],
      byteLength: 320_000,
      uploadId: 77,
    });
    expect(result.checksum).toBe(xxh32(new Uint8Array(data.buffer)));
    // Chunks are at most the server's maxPayloadByteLength (48 KiB), contiguous, and cover the array.
    expect(received.every((r) => r.byteLength <= 48 * KiB)).toBe(true);
    expect(received.reduce((n, r) => n + r.byteLength, 0)).toBe(320_000);
    // Payloads went out as views of the caller's own memory (no copy before send()).
    const payloads = log.sentObjects.filter((b) => b.buffer === data.buffer);
    expect(payloads).toHaveLength(received.length);
    expect(payloads[1]?.byteOffset).toBe(48 * KiB);
  });

  it("starts where the server's ACCEPT says, and still sends the checksum of the whole array", async () => {
    const data = new Uint8Array(10_000).map((_, i) => i * 7);
    const { WebSocket, received } = acceptingServer(64 * KiB, 64 * KiB, 6000);
    const result = await uploadArray(URL, "up", data, { WebSocket });
    expect(received[0]?.byteOffset).toBe(6000);
    expect(received.reduce((n, r) => n + r.byteLength, 0)).toBe(4000);
    expect(result.checksum).toBe(xxh32(data));
  });

  it("never sends past its credit: it waits for CREDIT, and reports progress up to the total", async () => {
    const sent: number[] = [];
    let credits = 0;
    let sid = 0;
    const { WebSocket } = fakeWebSocket({
      onRequest: () => [],
      closeAfterReplies: false,
      onClientMessage: (message, payload) => {
        if (payload !== null) {
          sent.push(payload.byteLength);
          // Grant only after 3 KiB arrived since the last grant.
          credits += payload.byteLength;
          if (credits >= 3 * KiB) {
            const grant = credits;
            credits = 0;
            return [encodeCredit(sid, grant)];
          }
          return [];
        }
        if (message?.type === "PUT") {
          sid = message.streamId;
          return [
            encodeAccept({
              streamId: sid,
              uploadId: 5,
              firstByteOffset: 0,
              creditByteLength: 4 * KiB,
              maxPayloadByteLength: KiB,
            }),
          ];
        }
        if (message?.type === "END") return [encodeEnd({ ...message })];
        return [];
      },
    });
    const progress: number[] = [];
    let maxOutstanding = 0;
    let granted = 4 * KiB;
    await uploadArray(URL, "up", new Uint8Array(20 * KiB), {
      WebSocket,
      progressIntervalMs: 0,
      onProgress: (p) => {
        progress.push(p.sentByteLength);
        granted = 4 * KiB + p.acknowledgedByteLength;
        maxOutstanding = Math.max(maxOutstanding, p.sentByteLength - p.acknowledgedByteLength);
      },
    });
    expect(sent.every((n) => n <= KiB)).toBe(true);
    expect(maxOutstanding).toBeLessThanOrEqual(4 * KiB);
    expect(progress.at(-1)).toBe(20 * KiB);
    expect(granted).toBeGreaterThanOrEqual(20 * KiB);
  });

  it.each([
    ["a CREDIT before ACCEPT", (id: number) => [encodeCredit(id, 10)], "E_PROTOCOL", "E_UNEXPECTED_MESSAGE"],
    [
      "an ACCEPT past the array's end",
      (id: number) => [
        encodeAccept({
          streamId: id,
          uploadId: 2,
          firstByteOffset: 101,
          creditByteLength: 10,
          maxPayloadByteLength: 10,
        }),
      ],
      "E_PROTOCOL",
      "E_BAD_RANGE",
    ],
  ])("fails on %s, with CANCEL", async (_what, replies, code, causeCode) => {
    const { WebSocket, log } = fakeWebSocket({
      onRequest: () => [],
      closeAfterReplies: false,
      onClientMessage: (m) => (m?.type === "PUT" ? (replies(m.streamId) as ServerMessage[]) : []),
    });
    const error = await uploadArray(URL, "up", new Uint8Array(100), { WebSocket }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code, cause: { code: causeCode } });
    expect(log.sent.at(-1)?.[5]).toBe(0x03); // CANCEL
  });

  it("fails with E_CHECKSUM when the server acknowledges another checksum", async () => {
    const { WebSocket } = fakeWebSocket({
      onRequest: () => [],
      closeAfterReplies: false,
      onClientMessage: (m) => {
        if (m?.type === "PUT") {
          return [
            encodeAccept({
              streamId: m.streamId,
              uploadId: 2,
              firstByteOffset: 0,
              creditByteLength: 1000,
              maxPayloadByteLength: 1000,
            }),
          ];
        }
        if (m?.type === "END") return [encodeEnd({ ...m, checksum: (m.checksum + 1) >>> 0 })];
        return [];
      },
    });
    await expect(uploadArray(URL, "up", new Uint8Array(100), { WebSocket })).rejects.toMatchObject({
      code: "E_CHECKSUM",
    });
  });

  it("reports a server without uploads (E_UNEXPECTED_MESSAGE) and its refusals, without CANCEL", async () => {
    const { WebSocket, log } = fakeWebSocket({
      onRequest: () => [],
      closeAfterReplies: false,
      onClientMessage: (m) =>
        m?.type === "PUT" ? [encodeError(m.streamId, "E_UNEXPECTED_MESSAGE", "no uploads")] : [],
    });
    await expect(uploadArray(URL, "up", new Uint8Array(8), { WebSocket })).rejects.toMatchObject({
      code: "E_UNEXPECTED_MESSAGE",
    });
    expect(log.sent.map((b) => b[5])).toEqual([0x04]); // the PUT only
  });

  it("rejects with the caller's own errors: abort (CANCEL sent), onProgress and read", async () => {
    const controller = new AbortController();
    const stalled = fakeWebSocket({
      onRequest: () => [],
      closeAfterReplies: false,
      onClientMessage: (m) =>
        m?.type === "PUT"
          ? [
              encodeAccept({
                streamId: m.streamId,
                uploadId: 2,
                firstByteOffset: 0,
                creditByteLength: 10,
                maxPayloadByteLength: 10,
              }),
            ]
          : [],
    });
    const pending = uploadArray(URL, "up", new Uint8Array(100), {
      WebSocket: stalled.WebSocket,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new Error("stop"));
    expect(await pending).toMatchObject({ message: "stop" });
    expect(stalled.log.sent.at(-1)?.[5]).toBe(0x03);

    const thrown = new Error("progress");
    const { WebSocket } = acceptingServer(1000);
    const p = await uploadArray(URL, "up", new Uint8Array(100), {
      WebSocket,
      onProgress: () => {
        throw thrown;
      },
    }).catch((e: unknown) => e);
    expect(p).toBe(thrown);

    const short = await uploadArray(
      URL,
      "up",
      { dtype: "uint8", shape: [100], read: () => new Uint8Array(3) },
      { WebSocket: acceptingServer(1000).WebSocket },
    ).catch((e: unknown) => e);
    expect(short).toBeInstanceOf(TypeError);
    expect((short as Error).message).toBe("UploadSource.read returned 3 bytes: expected a Uint8Array of 100 bytes");
  });

  it("fails with E_TIMEOUT when the server says nothing for idleTimeoutMs", async () => {
    const { WebSocket } = fakeWebSocket({ onRequest: () => [], closeAfterReplies: false });
    await expect(uploadArray(URL, "up", new Uint8Array(8), { WebSocket, idleTimeoutMs: 100 })).rejects.toMatchObject({
      code: "E_TIMEOUT",
    });
  });

  it.each([
    [new DataView(new ArrayBuffer(8)), {}, TypeError, "Expected a typed array, got DataView"],
    [
      new Float32Array(6),
      { shape: [4, 2] },
      RangeError,
      "Invalid shape: expected a product of 6 (the array's length), got [4, 2]",
    ],
    [{ dtype: "float128", shape: [1], read: () => new Uint8Array(0) }, {}, TypeError, 'UploadSource.dtype "float128"'],
    [new Uint8Array(4), { checksum: "none" }, TypeError, 'Invalid checksum: expected "xxh32" or "crc32c", got "none"'],
    [new Uint8Array(4), { meta: [1] }, TypeError, "Invalid meta: expected a JSON object, got an array"],
  ])("refuses %o with %j before any I/O", async (data, options, ctor, message) => {
    const { WebSocket, log } = fakeWebSocket({ onRequest: () => [] });
    const error = await uploadArray(URL, "up", data as Uint8Array, { WebSocket, ...(options as object) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ctor);
    expect((error as Error).message).toContain(message);
    expect(log.sent).toEqual([]);
  });

  it("refuses resume with an ArrayClient (it cannot open new connections)", async () => {
    const { WebSocket } = fakeWebSocket({ onRequest: () => [], closeAfterReplies: false });
    const client = await ArrayClient.connect(URL, { WebSocket });
    await expect(uploadArray(client, "up", new Uint8Array(4), { resume: true })).rejects.toThrow(
      new TypeError("Invalid resume: it needs a URL target, to open new connections"),
    );
    client.close();
  });
});
