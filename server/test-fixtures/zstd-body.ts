/**
 * For tests of `Content-Encoding: zstd` bodies: a plain GET, and a walk over the body's zstd
 * frames (block headers), each decoded with the shipped codec.
 */
import http from "node:http";
import { readZstdFrameHeader, type ZstdCodec } from "../../shared/index.ts";

/** GET `/arraywire?query` on 127.0.0.1:port, the whole body in one Buffer. */
export function get(
  port: number,
  query: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: `/arraywire?${query}`, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

/** Splits a body into its zstd frames (walking the block headers) and decodes each. */
export function decodeFrames(
  zstd: ZstdCodec,
  body: Uint8Array,
): { decoded: Buffer; windows: number[]; raw: number; compressed: number } {
  const out: Uint8Array[] = [];
  const windows: number[] = [];
  let raw = 0;
  let compressed = 0;
  let at = 0;
  while (at < body.byteLength) {
    const frame = readZstdFrameHeader(body.subarray(at));
    windows.push(frame.windowSize);
    let p = at + frame.headerByteLength;
    let onlyRaw = true;
    for (;;) {
      const h = (body[p] as number) | ((body[p + 1] as number) << 8) | ((body[p + 2] as number) << 16);
      const last = h & 1;
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      if (type !== 0) onlyRaw = false;
      p += 3 + (type === 1 ? 1 : size);
      if (last) break;
    }
    if ((body[at + 4] as number) & 0x04) p += 4; // content checksum
    if (onlyRaw) raw++;
    else compressed++;
    out.push(zstd.decompress(body.subarray(at, p), frame.contentSize as number));
    at = p;
  }
  return { decoded: Buffer.concat(out), windows, raw, compressed };
}
