/**
 * Real 4 GiB transfers into the Node client: 2^29 + 1 float64 (4 GiB + 8 bytes, one element past
 * byte 2^32), over both transports, cut by a proxy in the middle and resumed, the END checksum
 * verified, and every element checked (the array is arange, so element i is i). One transfer
 * comes from a typed array the server holds (typedArraySource, whole-array checksum in slices),
 * the others from arange generated per chunk. Peak memory: one 4 GiB target in this process
 * (two while the typedArraySource test runs), so it needs a machine with at least
 * {@link MIN_TOTAL_MEMORY} and skips, saying so, on a smaller one. Run it alone under the heavy
 * lock: `flock /tmp/aw-heavy.lock npx vitest run client/arrays-past-4gib.test.ts`.
 */
import { totalmem } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer, arange, fillArange } from "../server/index.ts";
import { CuttingProxy } from "../server/test-helpers.ts";
import { fetchArray } from "./index.ts";

const GiB = 2 ** 30;
const LENGTH = 2 ** 29 + 1; // float64: 4 GiB + 8 bytes
const BYTE_LENGTH = LENGTH * 8;
const MIN_TOTAL_MEMORY = 16 * GiB;
const bigEnough = totalmem() >= MIN_TOTAL_MEMORY;
if (!bigEnough) {
  console.warn(
    `arrays-past-4gib: skipped, this machine has ${(totalmem() / GiB).toFixed(1)} GiB of memory (needs ${MIN_TOTAL_MEMORY / GiB})`,
  );
}

/** Element i of arange is i: check them all, and name the first that is not. */
function expectArange(array: Float64Array, label: string): void {
  expect(array.length, label).toBe(LENGTH);
  expect(array.byteLength, label).toBe(BYTE_LENGTH);
  // The samples the brief names, then every element.
  const samples = [0, 1, 2 ** 28, 2 ** 29 - 1, 2 ** 29, LENGTH - 1];
  expect(
    samples.map((i) => array[i]),
    label,
  ).toEqual(samples);
  for (let i = 0; i < LENGTH; i++) {
    if (array[i] !== i) expect.fail(`${label}: element ${i} (byte ${i * 8}) is ${array[i]}`);
  }
}

describe.skipIf(!bigEnough)("arrays past 4 GiB in the Node client (4 GiB + 8 bytes, real allocations)", () => {
  let server: ArrayServer;
  let port: number;

  beforeAll(async () => {
    server = new ArrayServer({ port: 0, log: () => {} });
    port = (await server.listen()).port;
    server.publish("arange", arange({ maxByteLength: BYTE_LENGTH }));
  });

  afterAll(async () => {
    await server?.close();
  });

  for (const [transport, verify, cut] of [
    // WebSocket: cut about 2 GiB into the frames; XXH32 (the default).
    ["ws", true, 2 * GiB + 12_345],
    // HTTP: cut 1000 bytes short of byte 2^32 of the body (about 1100 below byte 2^32 of the
    // array: the header comes first), so the resumed stream crosses 2^32; CRC-32C. (Resumes from
    // offsets past 2^32 are in offsets-past-4gib.test.ts.)
    ["http", "crc32c", 4 * GiB - 1000],
  ] as const) {
    it(`fetches arange as 4 GiB + 8 bytes of float64, cut at ${cut} and resumed (${transport})`, {
      timeout: 180_000,
    }, async () => {
      const proxy = await CuttingProxy.start(port, [cut]);
      try {
        const started = performance.now();
        const result = await fetchArray<Float64Array>(`ws://127.0.0.1:${proxy.port}/arraywire`, "arange", {
          transport,
          verify,
          params: { length: LENGTH },
          maxBytes: BYTE_LENGTH,
          resume: { initialDelayMs: 1 },
        });
        const seconds = (performance.now() - started) / 1000;
        console.log(
          `arrays-past-4gib ${transport}: ${(BYTE_LENGTH / 1e6 / seconds).toFixed(0)} MB/s with one cut, rss ${(process.memoryUsage().rss / GiB).toFixed(2)} GiB`,
        );
        expect(proxy.connectionCount).toBe(2);
        expect(result.shape).toEqual([LENGTH]);
        expectArange(result.array, transport);
      } finally {
        await proxy.close();
      }
    });
  }

  it("refuses 4 GiB + 8 bytes under the default maxBytes (2 GiB) before allocating, with E_TOO_LARGE", async () => {
    const err = await fetchArray(`ws://127.0.0.1:${port}/arraywire`, "arange", {
      params: { length: LENGTH },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "E_TOO_LARGE",
      message: `Array too large: expected at most ${2 * GiB} bytes (maxBytes), got ${BYTE_LENGTH}`,
    });
  });

  it("serves a 4 GiB + 8 byte typed array the server holds (typedArraySource, whole-array XXH32)", {
    timeout: 180_000,
  }, async () => {
    const held = fillArange("float64", LENGTH) as Float64Array;
    server.publish("held", held);
    try {
      const result = await fetchArray<Float64Array>(`ws://127.0.0.1:${port}/arraywire`, "held", {
        transport: "ws",
        maxBytes: BYTE_LENGTH,
      });
      expectArange(result.array, "typedArraySource");
    } finally {
      server.unpublish("held");
    }
  });
});
