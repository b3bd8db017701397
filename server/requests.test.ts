/**
 * Requests are validated once, the same way for both transports (element ranges included), and
 * flow control counts every credit the client grants, even one that arrives before the header.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchArray } from "../client/index.ts";
import { decodeMessage, type ErrorMessage, encodeCredit, encodeRequest } from "../shared/index.ts";
import { ArrayServer, type ArraySource, arange } from "./index.ts";
import { RawClient } from "./test-helpers.ts";

const KiB = 1024;

/** A source that takes `delayMs` to open a float64 array of `length` zeros. */
function slowSource(delayMs: number, length: number): ArraySource {
  const bytes = new Uint8Array(length * 8);
  return {
    open: async () => {
      await new Promise((r) => setTimeout(r, delayMs));
      return { dtype: "float64", shape: [length], read: (o: number, n: number) => bytes.subarray(o, o + n) };
    },
  };
}

describe("requests on both transports", () => {
  let server: ArrayServer;
  let http: string;

  beforeEach(async () => {
    server = new ArrayServer({ port: 0, log: () => {} });
    await server.listen();
    server.publish("arange", arange());
    http = server.url.replace(/^ws:/, "http:");
  });

  afterEach(async () => {
    await server.close();
  });

  it("refuses a range past the array's end with the same E_BAD_RANGE and message on ws and http", async () => {
    const errors = [];
    for (const transport of ["ws", "http"] as const) {
      errors.push(
        await fetchArray(server.url, "arange", { transport, params: { length: 10 }, range: [5, 11] }).catch(
          (e: unknown) => e,
        ),
      );
    }
    for (const err of errors) {
      expect(err).toMatchObject({
        name: "StreamError",
        code: "E_BAD_RANGE",
        message: "Invalid element range: expected end <= 10 (the array's length), got [5, 11)",
      });
    }
  });

  it.each([
    ["start without end", "start=5"],
    ["end without start", "end=5"],
    ["a fractional start", "start=1.5&end=3"],
    ["a negative end", "start=0&end=-1"],
    ["a start that is not a number", "start=abc&end=3"],
    ["an end past 2^53", "start=0&end=9007199254740993"],
    ["start after end", "start=4&end=3"],
    ["an end past the array", "start=0&end=11"],
  ])("answers %s in the query with 400 E_BAD_RANGE", async (_, range) => {
    const response = await fetch(`${http}?name=arange&params=${encodeURIComponent('{"length":10}')}&${range}`);
    expect(response.status).toBe(400);
    const body = decodeMessage(new Uint8Array(await response.arrayBuffer())) as ErrorMessage;
    expect(body.code).toBe("E_BAD_RANGE");
    expect(body.message).toMatch(/^Invalid element range: /);
  });

  it("serves a range in the middle of the array on both transports", async () => {
    for (const transport of ["ws", "http"] as const) {
      const result = await fetchArray(server.url, "arange", { transport, params: { length: 100 }, range: [40, 45] });
      expect(Array.from(result.array as Float64Array), transport).toEqual([40, 41, 42, 43, 44]);
    }
  });

  it("counts a CREDIT that arrives while the stream is still being opened", async () => {
    server.publish("slow", slowSource(150, 64 * KiB)); // 512 KiB
    const raw = await RawClient.connect(server.url);
    try {
      // The initial window is one 64 KiB chunk; the CREDIT for 192 KiB more arrives before the header.
      raw.send(
        encodeRequest({
          streamId: 1,
          name: "slow",
          params: null,
          chunkByteLength: 64 * KiB,
          range: null,
          resumeByteOffset: 0,
          creditByteLength: 64 * KiB,
          expectedGeneration: null,
          checksum: "none",
        }),
      );
      raw.send(encodeCredit(1, 192 * KiB));
      expect((await raw.nextMessage()).type).toBe("ARRAY_HEADER");
      let received = 0;
      for (;;) {
        const m = await raw.nextMessage(500).catch(() => null);
        if (!m) break;
        expect(m.type).toBe("DATA");
        received += ((await raw.next()) as Buffer).byteLength;
      }
      // Both grants, and not a byte more.
      expect(received).toBe(256 * KiB);
    } finally {
      raw.close();
    }
  });
});
