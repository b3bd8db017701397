/**
 * Control replies (ERROR, ARRAY_HEADER, END) count against the connection's queue like data. A
 * peer that keeps sending while its replies go unread is closed with 1008 once more than
 * 4 x maxStreamsPerConnection replies wait; a client that opens its 16 streams while data fills
 * its queue stays connected.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeRequest, type Message } from "../shared/index.ts";
import { ArrayServer, arange } from "./index.ts";
import { RawClient } from "./test-helpers.ts";

const MAX_STREAMS = 16;
/** Unread control replies a connection may have before it is closed: 4 x maxStreamsPerConnection. */
const ALLOWANCE = 4 * MAX_STREAMS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function request(streamId: number, length: number) {
  return encodeRequest({
    streamId,
    name: "arange",
    params: { length },
    chunkByteLength: 0,
    range: null,
    resumeByteOffset: 0,
    creditByteLength: 0,
    expectedGeneration: null,
    checksum: "none",
  });
}

describe("control replies against the queue", () => {
  let server: ArrayServer;
  const logs: string[] = [];

  beforeEach(async () => {
    logs.length = 0;
    server = new ArrayServer({ port: 0, log: (m) => logs.push(m), heartbeatIntervalMs: 0 });
    await server.listen();
    server.publish("arange", arange());
  });

  afterEach(async () => {
    await server.close();
  });

  /** A client whose TCP socket is paused, with its queue filled by a big stream it never reads. */
  async function stuckClient(): Promise<RawClient> {
    const raw = await RawClient.connect(server.url);
    raw.ws.pause();
    raw.send(request(1, 30_000_000)); // 240 MB, far more than the socket buffers take
    for (let i = 0; i < 100 && server.stats().maxQueuedByteLength < 4 * 1024 * 1024; i++) await sleep(20);
    expect(server.stats().maxQueuedByteLength).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    return raw;
  }

  it(`keeps a peer whose ${ALLOWANCE} bad messages wait unanswered, and closes it with 1008 at one more`, async () => {
    const raw = await stuckClient();
    for (let i = 0; i < ALLOWANCE; i++) raw.send(new Uint8Array(0)); // each one earns an ERROR
    await sleep(300);
    expect(server.connectionCount).toBe(1);
    expect(raw.closeCode).toBeNull();
    const t0 = performance.now();
    raw.send(new Uint8Array(0));
    raw.ws.resume(); // reads the queued data, the replies, then the close frame
    const code = await raw.closed;
    const closedMs = performance.now() - t0;
    console.log(
      `control flood: closed with ${code} ${closedMs.toFixed(0)} ms after reply ${ALLOWANCE + 1} went unread`,
    );
    expect(code).toBe(1008);
    expect(closedMs).toBeLessThan(3000);
    expect(logs.some((l) => l.includes("1008"))).toBe(true);
  });

  it(`keeps a client that opens all ${MAX_STREAMS} streams while data fills its queue, and serves them all`, async () => {
    const raw = await stuckClient();
    for (let id = 2; id <= MAX_STREAMS; id++) raw.send(request(id, 10));
    await sleep(300);
    expect(server.connectionCount).toBe(1);
    expect(server.stats().streamCount).toBe(MAX_STREAMS);
    raw.ws.resume();
    const ended = new Set<number>();
    const seen: Message["type"][] = [];
    while (ended.size < MAX_STREAMS - 1) {
      const m = await raw.nextMessage(10_000);
      seen.push(m.type);
      if (m.type === "DATA") await raw.next();
      if (m.type === "END") ended.add(m.streamId);
      expect(m.type).not.toBe("ERROR");
    }
    expect(raw.closeCode).toBeNull();
    expect([...ended].sort((a, b) => a - b)).toEqual(Array.from({ length: MAX_STREAMS - 1 }, (_, i) => i + 2));
    raw.close();
  });
});
