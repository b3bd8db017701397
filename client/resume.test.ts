import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer, fillArange } from "../server/index.ts";
import { CuttingProxy } from "../server/test-helpers.ts";
import { StreamError } from "../shared/index.ts";
import { ArrayClient, fetchArray } from "./index.ts";

const MiB = 1024 * 1024;
const LENGTH = 400_000; // 3.2 MB of float64: four 1 MiB chunks
const BYTES = LENGTH * 8;
const HEADER = 56 + 8 + 1; // fixed part + one dim + name "a"
const END = 32;

function sha256(view: ArrayBufferView): string {
  return createHash("sha256")
    .update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
    .digest("hex");
}

/** Deterministic pseudo-random offsets in [0, max). */
function randomOffsets(count: number, max: number, seed: number): number[] {
  let x = seed;
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % max;
  });
}

/** Interesting cut points of a body laid out as `parts` (byte lengths in order), plus random ones. */
function cutPoints(parts: number[]): number[] {
  const points = new Set<number>([0, 1]);
  let offset = 0;
  for (const part of parts) {
    offset += part;
    for (const d of [-1, 0, 1]) points.add(offset + d);
  }
  for (const r of randomOffsets(20, offset, 42)) points.add(r);
  return [...points].filter((p) => p >= 0 && p < offset).sort((a, b) => a - b);
}

const wsFrame = (n: number) => (n < 126 ? 2 : n < 65536 ? 4 : 10) + n;
// Over HTTP the body is header, the raw range (written in 1 MiB pieces), END.
const HTTP_PARTS = [HEADER, MiB, MiB, MiB, BYTES - 3 * MiB, END];
// Over WebSocket every message is a frame: header, then DATA + payload per chunk, then END.
const WS_PARTS = [
  wsFrame(HEADER),
  ...[MiB, MiB, MiB, BYTES - 3 * MiB].flatMap((c) => [wsFrame(24), wsFrame(c)]),
  wsFrame(END),
];

describe("disconnects and resume", () => {
  let server: ArrayServer;
  let port: number;
  const source = fillArange("float64", LENGTH) as Float64Array;
  const digest = sha256(source);

  beforeAll(async () => {
    server = new ArrayServer({ port: 0, chunkByteLength: MiB, log: () => {} });
    port = (await server.listen()).port;
    server.publish("a", source);
  });

  afterAll(async () => {
    await server.close();
  });

  for (const [transport, parts] of [
    ["http", HTTP_PARTS],
    ["ws", WS_PARTS],
  ] as const) {
    const points = cutPoints(parts);

    it(`never reports an incomplete array as complete when cut at any of ${points.length} offsets (${transport})`, async () => {
      for (const cut of points) {
        const proxy = await CuttingProxy.start(port, [cut]);
        try {
          const err = await fetchArray(`ws://127.0.0.1:${proxy.port}/arraywire`, "a", {
            transport,
            chunkByteLength: MiB,
          }).catch((e: unknown) => e);
          expect(err, `cut at ${cut}`).toBeInstanceOf(StreamError);
          expect(["E_CONNECTION_CLOSED", "E_INCOMPLETE"], `cut at ${cut}: ${(err as Error).message}`).toContain(
            (err as StreamError).code,
          );
        } finally {
          await proxy.close();
        }
      }
    });

    it(`resumes from the last byte held and delivers the array byte-identical after a cut at any of ${points.length} offsets (${transport})`, async () => {
      for (const cut of points) {
        const proxy = await CuttingProxy.start(port, [cut]);
        try {
          const result = await fetchArray<Float64Array>(`ws://127.0.0.1:${proxy.port}/arraywire`, "a", {
            transport,
            chunkByteLength: MiB,
            resume: { initialDelayMs: 1 },
          });
          expect(sha256(result.array), `cut at ${cut}`).toBe(digest);
          expect(proxy.connectionCount, `cut at ${cut}`).toBe(2);
        } finally {
          await proxy.close();
        }
      }
    });
  }

  it("resumes a 400 MB stream through four cuts and the result is byte-identical (SHA-256)", async () => {
    const reference = fillArange("float64", 50_000_000) as Float64Array;
    server.publish("reference", reference);
    const cuts = [5_000_000, 120_000_000, 60_000_000, 150_000_000]; // per connection, in frame bytes
    const proxy = await CuttingProxy.start(port, cuts);
    try {
      let lastProgress = 0;
      const result = await fetchArray<Float64Array>(`ws://127.0.0.1:${proxy.port}/arraywire`, "reference", {
        transport: "ws",
        resume: { initialDelayMs: 1 },
        progressIntervalMs: 0,
        onProgress: (p) => {
          lastProgress = p.receivedByteLength;
        },
      });
      expect(proxy.connectionCount).toBe(5);
      expect(lastProgress).toBe(400_000_000);
      expect(result.array[49_999_999]).toBe(49_999_999);
      expect(sha256(result.array)).toBe(sha256(reference));
    } finally {
      await proxy.close();
      server.unpublish("reference");
    }
  });

  it("gives up after the configured attempts when the server stays away", async () => {
    const proxy = await CuttingProxy.start(port, [10, 10, 10]);
    try {
      const err = await fetchArray(`ws://127.0.0.1:${proxy.port}/arraywire`, "a", {
        transport: "ws",
        resume: { attempts: 2, initialDelayMs: 1 },
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: "StreamError", code: "E_CONNECTION_CLOSED" });
      expect(proxy.connectionCount).toBe(3);
    } finally {
      await proxy.close();
    }
  });

  it("refuses a resume of a changed or removed array with E_GONE", async () => {
    server.publish("changing", new Float64Array(1000));
    const client = await ArrayClient.connect(server.url);
    try {
      const first = await client.fetch("changing");
      const point = { array: first.array, receivedByteLength: 800, generation: first.generation };
      // Republished unchanged: the same generation, and the resume is still valid.
      server.publish("changing", new Float64Array(1000));
      const resumed = await client.fetch("changing", { resumeFrom: point });
      expect(resumed.generation).toBe(first.generation);
      server.publish("changing", new Float64Array(1000).fill(1)); // another content: a new generation
      await expect(client.fetch("changing", { resumeFrom: point })).rejects.toMatchObject({
        code: "E_GONE",
        message: expect.stringContaining(`expected generation ${first.generation}`),
      });
      server.unpublish("changing");
      await expect(client.fetch("changing", { resumeFrom: point })).rejects.toMatchObject({ code: "E_GONE" });
    } finally {
      client.close();
    }
  });

  it("refuses a resume offset past the range with E_BAD_REQUEST and keeps the connection as it was", async () => {
    const client = await ArrayClient.connect(server.url);
    try {
      const first = await client.fetch<Float64Array>("a");
      // An offset past the array given is a caller bug, refused before anything is sent...
      expect(() =>
        client.fetch("a", {
          resumeFrom: { array: first.array, receivedByteLength: BYTES + 8, generation: first.generation },
        }),
      ).toThrow(
        new RangeError(`Invalid resumeFrom.receivedByteLength: expected an integer in 0..${BYTES}, got ${BYTES + 8}`),
      );
      // ...and one that fits the array but not the range is the server's to refuse.
      const larger = new Float64Array(LENGTH + 1);
      const point = { array: larger, receivedByteLength: BYTES + 8, generation: first.generation };
      await expect(client.fetch("a", { resumeFrom: point })).rejects.toMatchObject({
        code: "E_BAD_REQUEST",
        message: `Invalid resumeByteOffset: expected at most ${BYTES}, got ${BYTES + 8}`,
      });
      expect(first.array[LENGTH - 1]).toBe(LENGTH - 1); // the held bytes are untouched
      const again = await client.fetch<Float64Array>("a");
      expect(sha256(again.array)).toBe(digest);
    } finally {
      client.close();
    }
  });
});
