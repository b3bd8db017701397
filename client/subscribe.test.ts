/**
 * subscribe() against a scripted server (client/test-helpers.ts fakeWebSocket): what a correct
 * server sends (with payloads at odd byte offsets), and each way a server can break the
 * subscription rules of docs/PROTOCOL.md §17 (GROW before the header, shrinking, part of a row,
 * another capacity, DATA past the announced end, END early or with a wrong checksum), the
 * caller's own failures (onAppend throws, abort, maxBytes, an into buffer too small) and option
 * checks. The server side is in server/live.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  decodeMessage,
  encodeArrayHeader,
  encodeData,
  encodeEnd,
  encodeError,
  encodeGrow,
  type RequestMessage,
  xxh32,
} from "../shared/index.ts";
import { StreamError, subscribe } from "./index.ts";
import { createResizableBuffer } from "./resizable.ts";
import { fakeWebSocket, type ServerMessage } from "./test-helpers.ts";

const URL = "ws://fake/arraywire";
/** Rows of two float64 values: 16 bytes a row. */
const ROW = 16;

function bytesOf(values: number[]): Uint8Array {
  return new Uint8Array(new Float64Array(values).buffer);
}

function header(request: RequestMessage, rows: number, extra: Partial<Parameters<typeof encodeArrayHeader>[0]> = {}) {
  const total = rows * ROW;
  const start = (request.range?.elementStart ?? 0) * 8;
  const end = Math.min(request.range ? request.range.elementEnd * 8 : total, total);
  return encodeArrayHeader({
    streamId: request.streamId,
    dtype: "float64",
    shape: [rows, 2],
    totalByteLength: total,
    rangeByteStart: start,
    rangeByteEnd: end,
    firstByteOffset: start,
    generation: 4,
    checksumAlgorithm: request.checksum,
    name: request.name,
    meta: null,
    ...extra,
  });
}

function grow(streamId: number, rows: number, maxRows = 100): Uint8Array {
  return encodeGrow({ streamId, totalByteLength: rows * ROW, maxTotalByteLength: maxRows * ROW });
}

function data(streamId: number, byteOffset: number, bytes: Uint8Array): ServerMessage[] {
  return [encodeData(streamId, byteOffset, bytes.byteLength), bytes];
}

function end(streamId: number, byteLength: number, bytes: Uint8Array | null): Uint8Array {
  return encodeEnd({
    streamId,
    byteLength,
    checksumAlgorithm: bytes === null ? "none" : "xxh32",
    checksum: bytes === null ? 0 : xxh32(bytes),
  });
}

/** Values 0..n-1, 2 per row. */
const ALL = Array.from({ length: 12 }, (_, i) => i * 1.5);
const ALL_BYTES = bytesOf(ALL);

/** A correct subscription to 6 rows: 2 exist, then 1, then 3 more, then END. */
function correctScript(request: RequestMessage): ServerMessage[] {
  const id = request.streamId;
  return [
    header(request, 2),
    grow(id, 2),
    ...data(id, 0, ALL_BYTES.subarray(0, 32)),
    grow(id, 3),
    ...data(id, 32, ALL_BYTES.subarray(32, 40)), // part of a row: a chunk need not be whole rows
    ...data(id, 40, ALL_BYTES.subarray(40, 48)),
    grow(id, 6),
    ...data(id, 48, ALL_BYTES.subarray(48, 96)),
    end(id, 96, ALL_BYTES),
  ];
}

describe("subscribe against a correct server", () => {
  it.each(["arraybuffer", "view"] as const)(
    "receives what exists, then each GROW's rows, into one resizable buffer (%s delivery)",
    async (delivery) => {
      const { WebSocket, log } = fakeWebSocket({ onRequest: correctScript, delivery });
      const updates: { length: number; previousLength: number; appended: number[]; arrayShape: number[] }[] = [];
      const result = await subscribe(URL, "live", {
        WebSocket,
        onAppend: (u) =>
          updates.push({
            length: u.length,
            previousLength: u.previousLength,
            appended: [...(u.appended as Float64Array)],
            arrayShape: u.arrayShape,
          }),
      });
      expect(updates).toEqual([
        { length: 4, previousLength: 0, appended: ALL.slice(0, 4), arrayShape: [2, 2] },
        { length: 6, previousLength: 4, appended: ALL.slice(4, 6), arrayShape: [3, 2] },
        { length: 12, previousLength: 6, appended: ALL.slice(6, 12), arrayShape: [6, 2] },
      ]);
      expect([...result.array]).toEqual(ALL);
      expect(result).toMatchObject({ shape: [6, 2], arrayShape: [6, 2], range: [0, 12], generation: 4 });
      const sent = decodeMessage(log.sent[0] as Uint8Array);
      expect(sent).toMatchObject({ type: "REQUEST", subscribe: true, checksum: "xxh32" });
      expect(log.badSends).toEqual([]);
      expect(log.listenerErrors).toEqual([]);
    },
  );

  it("writes into the caller's resizable buffer and grows it", async () => {
    const { WebSocket } = fakeWebSocket({ onRequest: correctScript });
    const into = createResizableBuffer(0, 96);
    const result = await subscribe(URL, "live", { WebSocket, into });
    expect(result.array.buffer).toBe(into);
    expect(into.byteLength).toBe(96);
    expect([...new Float64Array(into)]).toEqual(ALL);
  });

  it("asks for a range and gets the flat range back", async () => {
    const { WebSocket, log } = fakeWebSocket({
      onRequest: (request) => {
        const id = request.streamId;
        return [
          header(request, 3),
          grow(id, 3),
          ...data(id, 24, ALL_BYTES.subarray(24, 48)),
          grow(id, 5),
          ...data(id, 48, ALL_BYTES.subarray(48, 64)),
          end(id, 40, ALL_BYTES.subarray(24, 64)),
        ];
      },
    });
    const result = await subscribe(URL, "live", { WebSocket, range: [3, 8] });
    expect([...result.array]).toEqual(ALL.slice(3, 8));
    expect(result).toMatchObject({ shape: [5], range: [3, 8], arrayShape: [5, 2] });
    expect(decodeMessage(log.sent[0] as Uint8Array)).toMatchObject({ range: { elementStart: 3, elementEnd: 8 } });
  });
});

describe("subscribe refuses a server that breaks the rules", () => {
  const cases: [string, (request: RequestMessage) => ServerMessage[], string, string][] = [
    ["a GROW before the header", (r) => [grow(r.streamId, 2), header(r, 2)], "E_PROTOCOL", "E_UNEXPECTED_MESSAGE"],
    [
      "DATA before the first GROW",
      (r) => [header(r, 2), ...data(r.streamId, 0, ALL_BYTES.subarray(0, 32))],
      "E_PROTOCOL",
      "E_UNEXPECTED_MESSAGE",
    ],
    [
      "a GROW that shrinks",
      (r) => [header(r, 2), grow(r.streamId, 2), grow(r.streamId, 1)],
      "E_PROTOCOL",
      "E_BAD_RANGE",
    ],
    [
      "a GROW by part of a row",
      (r) => [
        header(r, 2),
        grow(r.streamId, 2),
        encodeGrow({ streamId: r.streamId, totalByteLength: 40, maxTotalByteLength: 1600 }),
      ],
      "E_PROTOCOL",
      "E_BAD_RANGE",
    ],
    [
      "a GROW with another capacity",
      (r) => [header(r, 2), grow(r.streamId, 2, 100), grow(r.streamId, 3, 101)],
      "E_PROTOCOL",
      "E_BAD_RANGE",
    ],
    [
      "DATA past the end announced",
      (r) => [header(r, 2), grow(r.streamId, 2), ...data(r.streamId, 0, ALL_BYTES.subarray(0, 48))],
      "E_PROTOCOL",
      "E_BAD_RANGE",
    ],
    [
      "DATA out of order",
      (r) => [header(r, 2), grow(r.streamId, 2), ...data(r.streamId, 8, ALL_BYTES.subarray(8, 16))],
      "E_PROTOCOL",
      "E_BAD_RANGE",
    ],
    [
      "END before every announced byte",
      (r) => [
        header(r, 2),
        grow(r.streamId, 2),
        ...data(r.streamId, 0, ALL_BYTES.subarray(0, 16)),
        end(r.streamId, 16, null),
      ],
      "E_INCOMPLETE",
      "",
    ],
    [
      "END with another checksum",
      (r) => [
        header(r, 2),
        grow(r.streamId, 2),
        ...data(r.streamId, 0, ALL_BYTES.subarray(0, 32)),
        end(r.streamId, 32, ALL_BYTES.subarray(0, 31)),
      ],
      "E_CHECKSUM",
      "",
    ],
    ["a header for another name", (r) => [header(r, 2, { name: "other" })], "E_PROTOCOL", "E_UNEXPECTED_MESSAGE"],
    ["a header that announces no checksum", (r) => [header(r, 2, { checksumAlgorithm: "none" })], "E_CHECKSUM", ""],
  ];

  it.each(cases)("fails on %s, and cancels", async (_what, script, code, causeCode) => {
    const { WebSocket, log } = fakeWebSocket({ onRequest: script, closeAfterReplies: false });
    const error = await subscribe(URL, "live", { WebSocket }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamError);
    expect(error).toMatchObject({ code });
    if (causeCode) expect((error as StreamError).cause).toMatchObject({ code: causeCode });
    expect(log.sent.map((b) => decodeMessage(b).type)).toContain("CANCEL");
    expect(log.listenerErrors).toEqual([]);
  });

  it("reports the server's refusal, E_RESERVED from a server without SUBSCRIBE, with no CANCEL", async () => {
    const { WebSocket, log } = fakeWebSocket({
      onRequest: (r) => [encodeError(r.streamId, "E_RESERVED", "Invalid REQUEST flags: unknown bits 0x10")],
      closeAfterReplies: false,
    });
    await expect(subscribe(URL, "live", { WebSocket })).rejects.toMatchObject({ code: "E_RESERVED" });
    expect(log.sent.map((b) => decodeMessage(b).type)).toEqual(["REQUEST"]);
  });
});

describe("subscribe and the caller's limits", () => {
  it("holds up to maxBytes and fails with E_TOO_LARGE one row past it", async () => {
    const { WebSocket } = fakeWebSocket({ onRequest: correctScript });
    expect((await subscribe(URL, "live", { WebSocket, maxBytes: 96 })).array.length).toBe(12);
    const { WebSocket: W2, log } = fakeWebSocket({ onRequest: correctScript, closeAfterReplies: false });
    await expect(subscribe(URL, "live", { WebSocket: W2, maxBytes: 95 })).rejects.toMatchObject({
      code: "E_TOO_LARGE",
    });
    expect(log.sent.map((b) => decodeMessage(b).type)).toContain("CANCEL");
  });

  it("fails with E_TARGET_MISMATCH when the into buffer cannot grow far enough", async () => {
    const { WebSocket } = fakeWebSocket({ onRequest: correctScript, closeAfterReplies: false });
    await expect(subscribe(URL, "live", { WebSocket, into: createResizableBuffer(0, 80) })).rejects.toMatchObject({
      code: "E_TARGET_MISMATCH",
    });
  });

  it("rejects with the very error onAppend throws, and cancels", async () => {
    const thrown = new Error("from onAppend");
    const { WebSocket, log } = fakeWebSocket({ onRequest: correctScript, closeAfterReplies: false });
    const error = await subscribe(URL, "live", {
      WebSocket,
      onAppend: () => {
        throw thrown;
      },
    }).catch((e: unknown) => e);
    expect(error).toBe(thrown);
    expect(log.sent.map((b) => decodeMessage(b).type)).toContain("CANCEL");
  });

  it("rejects with the signal's reason on abort, and cancels", async () => {
    const controller = new AbortController();
    const { WebSocket, log } = fakeWebSocket({
      onRequest: (r) => [header(r, 2), grow(r.streamId, 2)],
      closeAfterReplies: false,
    });
    const pending = subscribe(URL, "live", {
      WebSocket,
      signal: controller.signal,
      onAppend: () => {},
    }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new Error("stop"));
    expect(await pending).toMatchObject({ message: "stop" });
    expect(log.sent.map((b) => decodeMessage(b).type)).toEqual(["REQUEST", "CANCEL"]);
  });

  it("fails with E_TIMEOUT after idleTimeoutMs without a byte, and waits forever by default", async () => {
    const script = (r: RequestMessage) => [header(r, 2), grow(r.streamId, 2)];
    const { WebSocket } = fakeWebSocket({ onRequest: script, closeAfterReplies: false });
    await expect(subscribe(URL, "live", { WebSocket, idleTimeoutMs: 100 })).rejects.toMatchObject({
      code: "E_TIMEOUT",
    });
    const { WebSocket: W2 } = fakeWebSocket({ onRequest: script, closeAfterReplies: false });
    const controller = new AbortController();
    const quiet = subscribe(URL, "live", { WebSocket: W2, signal: controller.signal }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort(new Error("still waiting"));
    expect(await quiet).toMatchObject({ message: "still waiting" });
  });

  it.each([
    [{ into: new ArrayBuffer(8) }, TypeError, "Invalid into: expected a resizable ArrayBuffer"],
    [{ range: [5, 2] as [number, number] }, RangeError, "Invalid element range: expected start <= end, got [5, 2)"],
    [{ creditByteLength: 10, chunkByteLength: 20 }, RangeError, "Invalid creditByteLength"],
    [{ onAppend: 3 as unknown as () => void }, TypeError, "Invalid onAppend: expected a function, got 3"],
    [{ idleTimeoutMs: -1 }, RangeError, "Invalid idleTimeoutMs"],
  ])("refuses %j before any I/O", async (options, ctor, message) => {
    const { WebSocket, log } = fakeWebSocket({ onRequest: correctScript });
    const error = await subscribe(URL, "live", { WebSocket, ...options }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ctor);
    expect((error as Error).message).toContain(message);
    expect(log.sent).toEqual([]);
  });
});
