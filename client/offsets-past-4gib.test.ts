/**
 * Byte offsets past 2^32 end to end, without allocating 4 GiB: small ranges around byte 2^32 of
 * arrays of 8 GiB that the server never holds (arange, generated per chunk; an .npy file that is
 * sparse on disk), over both transports, with a cut in the middle and a resume whose offset
 * crosses 2^32, checked value by value and against the END checksum. The 4 GiB transfers that do
 * allocate are in arrays-past-4gib.test.ts.
 */
import { constants as bufferConstants } from "node:buffer";
import { closeSync, openSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, npyBytes } from "../server/file-sources/test-helpers.ts";
import { ArrayServer, arange, npyFile } from "../server/index.ts";
import { CuttingProxy } from "../server/test-helpers.ts";
import { ArrayClient, fetchArray } from "./index.ts";

const TWO_32 = 2 ** 32;
/** 2^30 float64 elements: an 8 GiB array, so 2^32 is in its middle. */
const LENGTH = 2 ** 30;
/** Element 2^29 starts at byte 2^32. */
const MIDDLE = 2 ** 29;
const CHUNK = 16 * 1024; // the server's smallest chunk: several payloads per range

describe("byte offsets past 2^32 (an 8 GiB array the server never holds)", () => {
  let server: ArrayServer;
  let port: number;
  let remove: () => void;
  /** Values written into the sparse .npy at these element indices; every other element is 0. */
  const written = new Map<number, number>([
    [MIDDLE - 2048, -1.5],
    [MIDDLE - 1, 7.25],
    [MIDDLE, 1e300],
    [MIDDLE + 1, -0.125],
    [MIDDLE + 2047, 42],
    [LENGTH - 1, 3.5],
  ]);

  beforeAll(async () => {
    let dir: string;
    ({ dir, remove } = makeTempDir("aw-past-4gib-"));
    // A sparse file: the header, then 8 GiB of zeros that take no disk, and a few values.
    const path = join(dir, "sparse.npy");
    const head = npyBytes({ descr: "<f8", shape: [LENGTH], data: new Uint8Array(0) });
    writeFileSync(path, head);
    truncateSync(path, head.byteLength + LENGTH * 8);
    const fd = openSync(path, "r+");
    try {
      for (const [index, value] of written) {
        writeSync(fd, new Uint8Array(Float64Array.of(value).buffer), 0, 8, head.byteLength + index * 8);
      }
    } finally {
      closeSync(fd);
    }
    server = new ArrayServer({ port: 0, chunkByteLength: CHUNK, log: () => {} });
    port = (await server.listen()).port;
    server.publish("arange", arange({ maxByteLength: LENGTH * 8 }));
    server.publish("sparse", npyFile(path));
    server.publish("huge", arange({ maxByteLength: 2 ** 50 }));
  });

  afterAll(async () => {
    await server?.close();
    remove?.();
  });

  for (const transport of ["ws", "http"] as const) {
    it(`serves arange elements just below, at and past byte 2^32 and at the end of the array (${transport})`, async () => {
      for (const [start, end] of [
        [MIDDLE - 4096, MIDDLE + 4096], // bytes [2^32 - 32 KiB, 2^32 + 32 KiB)
        [MIDDLE - 1, MIDDLE], // the 8 bytes just below 2^32
        [MIDDLE, MIDDLE + 1], // the 8 bytes from 2^32
        [LENGTH - 3, LENGTH], // the end of the 8 GiB array
      ] as const) {
        const result = await fetchArray<Float64Array>(`ws://127.0.0.1:${port}/arraywire`, "arange", {
          transport,
          params: { length: LENGTH },
          range: [start, end],
          chunkByteLength: CHUNK,
        });
        expect(result.range).toEqual([start, end]);
        expect(result.arrayShape).toEqual([LENGTH]);
        expect(result.array.length).toBe(end - start);
        const wrong = result.array.findIndex((v, i) => v !== start + i);
        expect(wrong, `[${start}, ${end}): element ${start + wrong} is ${result.array[wrong]}`).toBe(-1);
      }
    });

    it(`resumes a range across 2^32 after a cut, from an offset past 2^32, verified by XXH32 and CRC-32C (${transport})`, async () => {
      for (const verify of ["xxh32", "crc32c"] as const) {
        // Cut 40,000 bytes into the body: past the header and two 16 KiB payloads, so the held
        // bytes end at or past byte 2^32 of the array and the resume asks for an offset beyond it.
        const proxy = await CuttingProxy.start(port, [40_000]);
        try {
          // The first progress report of the second connection is its header's: the bytes held.
          let heldAtResume = -1;
          const result = await fetchArray<Float64Array>(`ws://127.0.0.1:${proxy.port}/arraywire`, "arange", {
            transport,
            params: { length: LENGTH },
            range: [MIDDLE - 4096, MIDDLE + 4096],
            chunkByteLength: CHUNK,
            verify,
            resume: { initialDelayMs: 1 },
            progressIntervalMs: 0,
            onProgress: (p) => {
              if (proxy.connectionCount === 2 && heldAtResume < 0) heldAtResume = p.receivedByteLength;
            },
          });
          expect(proxy.connectionCount, verify).toBe(2);
          const resumedAt = (MIDDLE - 4096) * 8 + heldAtResume;
          expect(resumedAt, `${verify}: the resume's first byte offset`).toBeGreaterThanOrEqual(TWO_32);
          expect(resumedAt, verify).toBeLessThan((MIDDLE + 4096) * 8);
          const wrong = result.array.findIndex((v, i) => v !== MIDDLE - 4096 + i);
          expect(wrong, verify).toBe(-1);
        } finally {
          await proxy.close();
        }
      }
    });

    it(`reads a sparse .npy file at offsets past 2^32 (${transport})`, async () => {
      const url = `ws://127.0.0.1:${port}/arraywire`;
      const result = await fetchArray<Float64Array>(url, "sparse", {
        transport,
        range: [MIDDLE - 2048, MIDDLE + 2048],
      });
      for (let i = 0; i < result.array.length; i++) {
        const index = MIDDLE - 2048 + i;
        if (result.array[i] !== (written.get(index) ?? 0)) {
          expect.fail(`element ${index}: expected ${written.get(index) ?? 0}, got ${result.array[i]}`);
        }
      }
      const tail = await fetchArray<Float64Array>(url, "sparse", { transport, range: [LENGTH - 2, LENGTH] });
      expect([...tail.array]).toEqual([0, 3.5]);
    });
  }

  describe("a target the runtime cannot allocate", () => {
    it.each([
      ["1 PiB of float64 (past any runtime's memory)", "float64", 2 ** 47, false],
      ["1 PiB of float64 over a SharedArrayBuffer", "float64", 2 ** 47, true],
    ] as const)(
      "fails %s with E_ALLOCATION_FAILED at the header, and the connection goes on",
      async (_, dtype, length, shared) => {
        const client = await ArrayClient.connect(`ws://127.0.0.1:${port}/arraywire`);
        try {
          const byteLength = length * 8;
          const err = await client
            .fetch("huge", { params: { length, dtype }, maxBytes: byteLength, shared })
            .catch((e: unknown) => e);
          expect(err).toMatchObject({ name: "StreamError", code: "E_ALLOCATION_FAILED" });
          expect((err as Error).message).toMatch(
            new RegExp(
              `^Cannot allocate the target: expected room for ${byteLength} bytes \\(${length} float64 elements${shared ? ", shared" : ""}\\), but this runtime refused \\(.+\\)\\. Its limit is`,
            ),
          );
          expect((err as Error).cause).toBeInstanceOf(RangeError);
          // The stream was cancelled at its header: the same connection serves the next one.
          const next = await client.fetch("arange", { params: { length: 4 }, range: [1, 3] });
          expect([...next.array]).toEqual([1, 2]);
        } finally {
          client.close();
        }
      },
    );

    it("does not retry E_ALLOCATION_FAILED under resume: one connection, one refusal", async () => {
      const proxy = await CuttingProxy.start(port, []);
      try {
        const err = await fetchArray(`ws://127.0.0.1:${proxy.port}/arraywire`, "huge", {
          params: { length: 2 ** 47 },
          maxBytes: 2 ** 50,
          resume: { initialDelayMs: 1 },
        }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: "E_ALLOCATION_FAILED" });
        expect(proxy.connectionCount).toBe(1);
      } finally {
        await proxy.close();
      }
    });

    it.skipIf(bufferConstants.MAX_LENGTH >= 2 ** 32 + 8)(
      "fails 4 GiB + 8 bytes of uint8 with E_ALLOCATION_FAILED where typed arrays stop at 2^32 elements (Node 20), allocating nothing",
      async () => {
        const before = process.memoryUsage().arrayBuffers;
        const err = await fetchArray(`ws://127.0.0.1:${port}/arraywire`, "huge", {
          params: { length: 2 ** 32 + 8, dtype: "uint8" },
          maxBytes: 2 ** 32 + 8,
        }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: "E_ALLOCATION_FAILED" });
        expect((err as Error).message).toContain(
          `expected room for ${2 ** 32 + 8} bytes (${2 ** 32 + 8} uint8 elements)`,
        );
        expect((err as Error).message).toContain("Invalid typed array length");
        expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
      },
    );

    it("serves a range of that uint8 array past the limit, across byte 2^32 (what the error suggests)", async () => {
      // Past the limit, a range is the way: the same array, 16 bytes of it across 2^32.
      const result = await fetchArray(`ws://127.0.0.1:${port}/arraywire`, "huge", {
        params: { length: 2 ** 32 + 8, dtype: "uint8" },
        range: [2 ** 32 - 8, 2 ** 32 + 8],
      });
      expect([...result.array]).toEqual(Array.from({ length: 16 }, (_, i) => (2 ** 32 - 8 + i) % 256));
    });
  });
});
