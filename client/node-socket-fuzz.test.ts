/**
 * Seeded random responses through real sockets: body length, framing (Content-Length, chunked,
 * close-delimited), where the server cuts its writes (1-byte runs included), the caller's window
 * size and how many reads it keeps pending. Every case must deliver the body byte for byte.
 */
import { describe, expect, it } from "vitest";
import { requestRaw } from "./node-socket.ts";
import {
  concat,
  cutAt,
  encodeChunked,
  firstDifference,
  patternBytes,
  readBody,
  responseHead,
  startRawServer,
  writePieces,
} from "./test-fixtures/test-helpers.ts";

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Offsets to cut `byteLength` bytes at: a few random cuts plus a run of 1-byte pieces somewhere. */
function randomCuts(next: (n: number) => number, byteLength: number): number[] {
  const cuts = new Set<number>();
  for (let i = next(12); i > 0; i--) cuts.add(1 + next(byteLength));
  const run = next(byteLength);
  for (let i = 0; i < next(20); i++) cuts.add(run + i);
  return [...cuts].filter((c) => c > 0 && c < byteLength).sort((a, b) => a - b);
}

const CASES = 60;

describe("requestRaw with random splits, framings and windows", () => {
  it(`delivers ${CASES} random responses byte for byte`, async () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const next = random(seed);
      const byteLength = [0, 1, 7, 4096, 65_536, 200_000][next(6)] as number;
      const body = patternBytes(byteLength, seed);
      const framing = (["length", "chunked", "close"] as const)[next(3)];
      const wire =
        framing === "length"
          ? concat(responseHead("HTTP/1.1 200 OK", [`Content-Length: ${byteLength}`]), body)
          : framing === "chunked"
            ? concat(
                responseHead("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]),
                encodeChunked(body, [1 + next(5000), 1 + next(70_000)]),
              )
            : concat(responseHead("HTTP/1.1 200 OK", []), body);
      const pieces = randomCuts(next, wire.byteLength);
      const server = await startRawServer(async (socket) => {
        await writePieces(socket, cutAt(wire, pieces));
        if (framing === "close") socket.end();
      });
      try {
        const { reader } = await requestRaw(server.url, { readAheadByteLength: 1 + next(100_000) });
        const windowByteLength = 1 + next(next(2) === 0 ? 100 : 80_000);
        const pending = 1 + next(3);
        const target = new Uint8Array(byteLength + (framing === "close" ? 5 : 0));
        const received = await readBody(reader, target, windowByteLength, pending);
        const context = { seed, byteLength, framing, windowByteLength, pending };
        expect({ ...context, received }).toEqual({ ...context, received: byteLength });
        expect({ ...context, at: firstDifference(target.subarray(0, byteLength), body) }).toEqual({
          ...context,
          at: -1,
        });
        expect(reader.stats.directByteLength + reader.stats.copiedByteLength).toBe(byteLength);
      } finally {
        await server.close();
      }
    }
  });
});
