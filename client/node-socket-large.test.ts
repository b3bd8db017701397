/**
 * 400 MB through the Node socket reader, from a node:http server writing 4 MiB views of a
 * Float64Array: into a fresh target and into a reused one, byte-identical by SHA-256. Heavy: run
 * it under `flock /tmp/aw-heavy.lock` (the whole suite is).
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestRaw } from "./node-socket.ts";
import { readBody } from "./test-fixtures/test-helpers.ts";

const ELEMENT_COUNT = 50_000_000; // 400 MB of float64
const WRITE_BYTE_LENGTH = 4 * 1024 * 1024;
const MiB = 1024 * 1024;

const source = new Float64Array(ELEMENT_COUNT);
const sourceBytes = new Uint8Array(source.buffer);
let sourceDigest = "";
let server: Server;
let url = "";

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

beforeAll(async () => {
  for (let i = 0; i < ELEMENT_COUNT; i++) source[i] = i * 1.5 - 7;
  sourceDigest = sha256(sourceBytes);
  server = createServer((_req, res) => {
    res.writeHead(200, { "content-length": sourceBytes.byteLength, "content-type": "application/octet-stream" });
    let offset = 0;
    const write = () => {
      while (offset < sourceBytes.byteLength) {
        const view = sourceBytes.subarray(offset, offset + WRITE_BYTE_LENGTH);
        offset += view.byteLength;
        if (!res.write(view)) return void res.once("drain", write);
      }
      res.end();
    };
    write();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("requestRaw: 400 MB", () => {
  it("arrives byte-identical in a fresh target, in 16 MiB windows with the next one pending", async () => {
    const { reader, headers } = await requestRaw(url);
    expect(headers["content-length"]).toBe(String(sourceBytes.byteLength));
    const target = new Uint8Array(sourceBytes.byteLength);
    expect(await readBody(reader, target, 16 * MiB, 2)).toBe(sourceBytes.byteLength);
    expect(sha256(target)).toBe(sourceDigest);
    expect(reader.stats.copiedByteLength).toBeLessThanOrEqual(1024); // only what came with the head
  });

  it("arrives byte-identical twice in a reused target, without growing RSS past 64 MB", async () => {
    const target = new Uint8Array(sourceBytes.byteLength).fill(0xff);
    for (const [windowByteLength, pending] of [
      [4 * MiB, 1],
      [target.byteLength, 1],
    ] as const) {
      target.fill(0xff, 1000, 2000); // a stale range the next transfer must overwrite
      const rssBefore = process.memoryUsage.rss();
      const { reader } = await requestRaw(url);
      expect(await readBody(reader, target, windowByteLength, pending)).toBe(sourceBytes.byteLength);
      expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(64 * MiB);
      expect(sha256(target)).toBe(sourceDigest);
      // Awaiting each window copies 1 byte per border (at most 1 KiB came with the head).
      const borders = Math.ceil(target.byteLength / windowByteLength) - 1;
      expect(reader.stats.copiedByteLength).toBeGreaterThanOrEqual(borders);
      expect(reader.stats.copiedByteLength).toBeLessThanOrEqual(borders + 1024);
    }
  });
});
