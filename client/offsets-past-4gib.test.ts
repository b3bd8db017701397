/**
 * Byte offsets past 2^32 end to end, without allocating 4 GiB: small ranges around byte 2^32 of
 * arrays of 8 GiB that the server never holds (arange, generated per chunk; an .npy file that is
 * sparse on disk), over both transports, with a cut in the middle and a resume whose offset
 * crosses 2^32, checked value by value and against the END checksum. The 4 GiB transfers that do
 * allocate are in arrays-past-4gib.test.ts.
 */
import { closeSync, openSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, npyBytes } from "../server/file-sources/test-helpers.ts";
import { ArrayServer, arange, npyFile } from "../server/index.ts";
import { CuttingProxy } from "../server/test-helpers.ts";
import { fetchArray } from "./index.ts";

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
});
