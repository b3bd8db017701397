/**
 * `Content-Encoding: zstd` HTTP bodies (issue 12): asked for with `?compress=zstd` and sent only
 * when Accept-Encoding lists zstd. The body is concatenated zstd frames (compressed chunks, and
 * hand-written raw-block frames for what does not compress) that decode to exactly the identity
 * body; every frame's window stays within the 8 MiB browsers accept. Frames are walked and decoded
 * one by one here with the shipped codec.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadZstd, MAX_ZSTD_WINDOW_BYTES, readZstdFrameHeader, type ZstdCodec } from "../shared/index.ts";
import { acceptsZstd } from "./http-transport.ts";
import { ArrayServer } from "./index.ts";
import { decodeFrames, get } from "./test-fixtures/zstd-body.ts";
import { RAW_BLOCK_BYTE_LENGTH, rawFramePieces } from "./zstd-raw-frame.ts";

const N = 2_000_000; // 16 MB of float64
// Integer-valued samples of a slow signal: plain zstd compresses them (unshuffled floats with
// noisy mantissas would not: over HTTP there is no shuffle, see SERVER.md §13).
const smooth = Float64Array.from({ length: N }, (_, i) => Math.round(Math.sin(i / 700) * 4000));
const random = new Float64Array(new Uint32Array(N * 2).map((_, i) => Math.imul(i + 1, 0x9e3779b1) ^ (i * 7919)).buffer);

let server: ArrayServer;
let port: number;
let zstd: ZstdCodec;
beforeAll(async () => {
  zstd = await loadZstd();
  server = new ArrayServer({});
  port = (await server.listen()).port;
  server.publish("smooth", smooth);
  server.publish("random", random);
});
afterAll(async () => {
  await server.close();
});

describe("Content-Encoding: zstd over HTTP", () => {
  it("sends a range of integer-valued data as zstd frames that decode to exactly the identity body, smaller, windows <= 8 MiB", async () => {
    const q = "name=smooth&start=123457&end=1876543&checksum=xxh32";
    const identity = await get(port, q);
    expect(identity.headers["content-encoding"]).toBeUndefined();
    expect(Number(identity.headers["content-length"])).toBe(identity.body.byteLength);
    const encoded = await get(port, `${q}&compress=zstd`, { "accept-encoding": "gzip, deflate, br, zstd" });
    expect(encoded.status).toBe(200);
    expect(encoded.headers["content-encoding"]).toBe("zstd");
    expect(encoded.headers["content-length"]).toBeUndefined();
    expect(encoded.body.byteLength).toBeLessThan(identity.body.byteLength / 1.5);
    const { decoded, windows, compressed } = decodeFrames(zstd, encoded.body);
    expect(decoded.equals(identity.body)).toBe(true);
    expect(compressed).toBeGreaterThan(0);
    expect(Math.max(...windows)).toBeLessThanOrEqual(MAX_ZSTD_WINDOW_BYTES);
  });

  it("sends random data as raw-block frames: decodes to the identity body, barely larger", async () => {
    const q = "name=random&checksum=crc32c";
    const identity = await get(port, q);
    const encoded = await get(port, `${q}&compress=zstd`, { "accept-encoding": "zstd" });
    expect(encoded.headers["content-encoding"]).toBe("zstd");
    const { decoded, compressed, raw } = decodeFrames(zstd, encoded.body);
    expect(decoded.equals(identity.body)).toBe(true);
    expect(compressed).toBe(0);
    expect(raw).toBeGreaterThan(2);
    // 10-byte frame headers and a 3-byte header per 128 KiB block.
    expect(encoded.body.byteLength).toBeLessThan(identity.body.byteLength * 1.001);
  });

  it("answers identity when Accept-Encoding lacks zstd, or refuses it with q=0, even when asked", async () => {
    for (const accept of [undefined, "gzip, br", "zstd;q=0"]) {
      const r = await get(
        port,
        "name=smooth&start=0&end=1000&compress=zstd",
        accept ? { "accept-encoding": accept } : {},
      );
      expect(r.status, String(accept)).toBe(200);
      expect(r.headers["content-encoding"], String(accept)).toBeUndefined();
    }
  });

  it("gives a zstd 200 Vary but no ETag or Accept-Ranges; the identity bodies keep both, Vary only when compress was asked", async () => {
    const q = "name=smooth&start=1000&end=9000";
    const plain = await get(port, q);
    expect(plain.headers.etag).toMatch(/^"/);
    expect(plain.headers["accept-ranges"]).toBe("bytes");
    expect(plain.headers.vary ?? "").not.toMatch(/accept-encoding/i);
    const refused = await get(port, `${q}&compress=zstd`, { "accept-encoding": "gzip" });
    expect(refused.headers["content-encoding"]).toBeUndefined();
    expect(refused.headers.etag).toBe(plain.headers.etag);
    expect(refused.headers["accept-ranges"]).toBe("bytes");
    expect(refused.headers.vary).toMatch(/(^|, )Accept-Encoding$/);
    const encoded = await get(port, `${q}&compress=zstd`, { "accept-encoding": "zstd" });
    expect(encoded.headers["content-encoding"]).toBe("zstd");
    expect(encoded.headers.vary).toMatch(/(^|, )Accept-Encoding$/);
    expect(encoded.headers.etag).toBeUndefined();
    expect(encoded.headers["accept-ranges"]).toBeUndefined();
  });

  it("answers a Range request with compress=zstd uncompressed: 206 with exactly those identity bytes and the identity ETag", async () => {
    const q = "name=smooth&start=123457&end=1876543&checksum=xxh32";
    const identity = await get(port, q);
    const length = identity.body.byteLength;
    // A range in the middle of the body: past the header, ending before END.
    const [a, b] = [4096, length - 4096];
    const part = await get(port, `${q}&compress=zstd`, { "accept-encoding": "zstd", range: `bytes=${a}-${b - 1}` });
    expect(part.status).toBe(206);
    expect(part.headers["content-encoding"]).toBeUndefined();
    expect(part.headers["content-range"]).toBe(`bytes ${a}-${b - 1}/${length}`);
    expect(Number(part.headers["content-length"])).toBe(b - a);
    expect(part.headers.etag).toBe(identity.headers.etag);
    expect(part.body.equals(identity.body.subarray(a, b))).toBe(true);
    // A Range the If-Range voids still counts: the whole identity body, not a zstd one.
    const whole = await get(port, `${q}&compress=zstd`, {
      "accept-encoding": "zstd",
      range: `bytes=${a}-`,
      "if-range": '"not-this-one"',
    });
    expect(whole.status).toBe(200);
    expect(whole.headers["content-encoding"]).toBeUndefined();
    expect(whole.body.equals(identity.body)).toBe(true);
  });

  it("refuses compress values other than zstd with 400 E_BAD_REQUEST", async () => {
    const r = await get(port, "name=smooth&compress=gzip", { "accept-encoding": "zstd" });
    expect(r.status).toBe(400);
    expect(r.body.toString("latin1")).toContain("E_BAD_REQUEST");
  });

  it("parses Accept-Encoding q-values", () => {
    expect(acceptsZstd("gzip, deflate, br, zstd")).toBe(true);
    expect(acceptsZstd("ZSTD;q=0.5")).toBe(true);
    expect(acceptsZstd("zstd;q=0")).toBe(false);
    expect(acceptsZstd("zstdx, gzip")).toBe(false);
    expect(acceptsZstd(undefined)).toBe(false);
    expect(acceptsZstd(["gzip", "zstd"])).toBe(true);
  });
});

describe("rawFramePieces", () => {
  it.each([
    0,
    1,
    RAW_BLOCK_BYTE_LENGTH - 1,
    RAW_BLOCK_BYTE_LENGTH,
    RAW_BLOCK_BYTE_LENGTH + 1,
    3 * RAW_BLOCK_BYTE_LENGTH + 17,
  ])("frames %i bytes from the middle of a buffer: views, not copies, and the codec decodes them back", (n) => {
    const host = new Uint8Array(n + 64).map((_, i) => (i * 31) & 0xff);
    const content = host.subarray(32, 32 + n);
    const pieces = rawFramePieces(content);
    const views = pieces.filter((p) => p.buffer === host.buffer);
    expect(views.reduce((a, p) => a + p.byteLength, 0)).toBe(n);
    const frame = Buffer.concat(pieces);
    expect(readZstdFrameHeader(frame)).toMatchObject({ contentSize: n, windowSize: RAW_BLOCK_BYTE_LENGTH });
    expect(Buffer.from(zstd.decompress(frame, n)).equals(Buffer.from(content))).toBe(true);
  });
});
