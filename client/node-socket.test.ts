import { afterEach, describe, expect, it } from "vitest";
import { requestRaw } from "./node-socket.ts";
import {
  concat,
  cutAt,
  encodeChunked,
  firstDifference,
  latin1,
  nextTurn,
  patternBytes,
  type RawServer,
  readBody,
  responseHead,
  type ServerScript,
  startRawServer,
  TLS_CERT,
  writePieces,
} from "./test-fixtures/test-helpers.ts";

let server: RawServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function serve(script: ServerScript, options: { tls?: boolean } = {}): Promise<RawServer> {
  server = await startRawServer(script, options);
  return server;
}

const lengthHead = (n: number) =>
  responseHead("HTTP/1.1 200 OK", ["Content-Type: application/x-test", `Content-Length: ${n}`]);
const chunkedHead = () => responseHead("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]);

describe("requestRaw: the request", () => {
  it("sends a GET with Host, the path and query, the caller's headers, then Connection: close", async () => {
    const s = await serve((socket) => void socket.end(concat(lengthHead(0))));
    const url = new URL(s.url);
    url.search = "?name=a%20b&start=3";
    const response = await requestRaw(url, { headers: { Authorization: "Bearer x", "X-Tab": "a\tb" } });
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({ "content-type": "application/x-test", "content-length": "0" });
    expect(s.requests).toEqual([
      `GET /array?name=a%20b&start=3 HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer x\r\nX-Tab: a\tb\r\nConnection: close\r\n\r\n`,
    ]);
  });

  it("throws synchronously, before connecting, for an injected header, a non-http URL or a bad read-ahead", async () => {
    const s = await serve(() => {});
    expect(() => requestRaw(s.url, { headers: { "x-a": "1\r\nx-b: 2" } })).toThrow(TypeError);
    expect(() => requestRaw(s.url, { headers: { "x\r\ny": "1" } })).toThrow(TypeError);
    expect(() => requestRaw(new URL("ws://127.0.0.1:1/"))).toThrow(/expected an http: or https: URL, got ws:/);
    expect(() => requestRaw(s.url, { readAheadByteLength: 0 })).toThrow(RangeError);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(s.requests).toEqual([]);
  });
});

describe("requestRaw: a Content-Length body cut anywhere", () => {
  const body = patternBytes(20_000, 3);
  const head = lengthHead(body.byteLength);
  const wire = concat(head, body);
  const border = head.byteLength;

  async function receive(pieces: Uint8Array[], windowByteLength: number, pending = 1): Promise<Uint8Array> {
    const s = await serve((socket) => writePieces(socket, pieces));
    const { reader } = await requestRaw(s.url);
    const target = new Uint8Array(body.byteLength);
    expect(await readBody(reader, target, windowByteLength, pending)).toBe(body.byteLength);
    expect(reader.stats.directByteLength + reader.stats.copiedByteLength).toBe(body.byteLength);
    return target;
  }

  it("arrives whole in one write", async () => {
    expect(await receive([wire], 1000)).toEqual(body);
  });

  it("arrives in 1-byte writes across the head/body border", async () => {
    const offsets = Array.from({ length: 24 }, (_, i) => border - 12 + i);
    expect(await receive(cutAt(wire, offsets), 777)).toEqual(body);
  });

  it("arrives with the head alone, then the body", async () => {
    expect(await receive(cutAt(wire, [border]), 4096, 2)).toEqual(body);
  });

  it("arrives in writes that end exactly at window borders, and one byte either side", async () => {
    const w = 4096;
    const offsets = [w, 2 * w - 1, 3 * w + 1, 4 * w].map((o) => border + o);
    expect(await receive(cutAt(wire, offsets), w)).toEqual(body);
    expect(await receive(cutAt(wire, offsets), w, 2)).toEqual(body);
  });

  it("fills a window of 1 byte at a time", async () => {
    const small = patternBytes(300, 4);
    const s = await serve((socket) => writePieces(socket, cutAt(concat(lengthHead(300), small), [50, 100, 200])));
    const { reader } = await requestRaw(s.url);
    const target = new Uint8Array(300);
    expect(await readBody(reader, target, 1, 3)).toBe(300);
    expect(target).toEqual(small);
  });

  it("ends short in a view larger than the body, then reads empty", async () => {
    const s = await serve((socket) => writePieces(socket, [wire]));
    const { reader } = await requestRaw(s.url);
    const target = new Uint8Array(body.byteLength + 100).fill(0xee);
    const filled = await reader.readInto(target.subarray(50));
    expect(filled.byteLength).toBe(body.byteLength);
    expect(filled.byteOffset).toBe(50);
    expect(filled).toEqual(body);
    expect(target[49]).toBe(0xee); // nothing before the view
    expect(target[50 + body.byteLength]).toBe(0xee); // nothing after the body
    expect((await reader.readInto(new Uint8Array(8))).byteLength).toBe(0);
  });

  it("drops bytes a server sends past Content-Length", async () => {
    const s = await serve((socket) => writePieces(socket, [wire, latin1("HTTP/1.1 200 OK\r\n\r\ntrailing")]));
    const { reader } = await requestRaw(s.url);
    const target = new Uint8Array(body.byteLength);
    expect(await readBody(reader, target, 8192)).toBe(body.byteLength);
    expect(target).toEqual(body);
  });

  it("drops bytes past Content-Length that arrive in the head's own read", async () => {
    const s = await serve((socket) => writePieces(socket, [concat(lengthHead(5), latin1("helloEXTRA BYTES"))]));
    const { reader } = await requestRaw(s.url);
    const target = new Uint8Array(100);
    const filled = await reader.readInto(target);
    expect(Buffer.from(filled).toString()).toBe("hello");
    expect((await reader.readInto(target)).byteLength).toBe(0);
  });

  it("reads a Content-Length: 0 body and a 204 as empty", async () => {
    for (const head of [lengthHead(0), responseHead("HTTP/1.1 204 No Content", [])]) {
      const s = await serve((socket) => writePieces(socket, [head]));
      const { reader } = await requestRaw(s.url);
      expect((await reader.readInto(new Uint8Array(4))).byteLength).toBe(0);
      await s.close();
    }
  });

  it("skips interim 1xx responses, even split across reads, and reads the final one", async () => {
    const interim = latin1("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
    const all = concat(interim, wire);
    // The second cut leaves "HTTP/1.1 103" after the first interim head: it must move to the front.
    const s = await serve((socket) => writePieces(socket, cutAt(all, [10, 37, interim.byteLength + 5])));
    const response = await requestRaw(s.url);
    expect(response.status).toBe(200);
    expect(response.headers["content-length"]).toBe(String(body.byteLength));
    const target = new Uint8Array(body.byteLength);
    await readBody(response.reader, target, 5000);
    expect(target).toEqual(body);
  });

  it("skips interim 1xx responses that arrive in one read with the final one", async () => {
    const interim = latin1("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n");
    const s = await serve((socket) => writePieces(socket, [concat(interim, wire)]));
    const response = await requestRaw(s.url);
    expect(response.status).toBe(200);
    const target = new Uint8Array(body.byteLength);
    await readBody(response.reader, target, 5000);
    expect(target).toEqual(body);
  });

  it("reads a body without Content-Length until the server closes", async () => {
    const plainHead = responseHead("HTTP/1.1 200 OK", ["Connection: close"]);
    const s = await serve(async (socket) => {
      await writePieces(socket, cutAt(concat(plainHead, body), [plainHead.byteLength + 1, 9000, 9001]));
      socket.end();
    });
    const { reader } = await requestRaw(s.url);
    const target = new Uint8Array(body.byteLength + 10);
    expect(await readBody(reader, target, 3000, 2)).toBe(body.byteLength);
    expect(target.subarray(0, body.byteLength)).toEqual(body);
  });

  it("reads a 16 MiB body sent in one write, in 1 MiB windows and in one whole window", async () => {
    const big = patternBytes(16 * 1024 * 1024, 5);
    for (const [windowByteLength, pending] of [
      [1024 * 1024, 1],
      [1024 * 1024, 2],
      [big.byteLength, 1],
    ] as const) {
      const s = await serve((socket) => void socket.end(concat(lengthHead(big.byteLength), big)));
      const { reader } = await requestRaw(s.url);
      const target = new Uint8Array(big.byteLength);
      expect(await readBody(reader, target, windowByteLength, pending)).toBe(big.byteLength);
      expect(firstDifference(target, big)).toBe(-1);
      await s.close();
    }
  });
});

describe("requestRaw: no userland copy of a Content-Length body", () => {
  const n = 4 * 1024 * 1024;
  const body = patternBytes(n, 9);
  const windowByteLength = 256 * 1024;
  /** Body bytes read along with the head land in the head buffer (1 KiB reads) and are copied. */
  const HEAD_READ = 1024;

  async function receive(pending: number, headWithBody = false) {
    const pieces = cutAt(body, [1000, 70_000, 1 << 20]);
    // A 3 KiB head, then (in the same write or not) 70,000 body bytes. The head is read in 1 KiB
    // reads, so that few body bytes land in its buffer.
    const head = responseHead("HTTP/1.1 200 OK", [`X-Pad: ${"p".repeat(3000)}`, `Content-Length: ${n}`]);
    if (headWithBody) pieces.splice(0, 2, concat(head, ...pieces.slice(0, 2)));
    else pieces.unshift(head);
    const s = await serve((socket) => writePieces(socket, pieces));
    const { reader } = await requestRaw(s.url);
    const target = new Uint8Array(n);
    await readBody(reader, target, windowByteLength, pending);
    expect(firstDifference(target, body)).toBe(-1);
    return reader.stats;
  }

  it("copies nothing past the head's read when a second view is always pending", async () => {
    for (const headWithBody of [false, true]) {
      const stats = await receive(2, headWithBody);
      expect(stats.copiedByteLength).toBeLessThanOrEqual(HEAD_READ);
      expect(stats.directByteLength).toBe(n - stats.copiedByteLength);
      expect(stats.pauseCount).toBe(0);
      await server?.close();
    }
  });

  it("copies one byte per window border when each view is awaited before the next", async () => {
    const stats = await receive(1);
    const borders = n / windowByteLength - 1;
    expect(stats.copiedByteLength).toBeGreaterThanOrEqual(borders);
    expect(stats.copiedByteLength).toBeLessThanOrEqual(borders + HEAD_READ);
    expect(stats.directByteLength).toBe(n - stats.copiedByteLength);
  });

  it("pauses once the read-ahead is full while no view is pending, and loses nothing", async () => {
    for (const readAheadByteLength of [undefined, 4096]) {
      const s = await serve((socket) => writePieces(socket, [lengthHead(n), body]));
      const { reader } = await requestRaw(s.url, { readAheadByteLength });
      for (let i = 0; i < 200 && reader.stats.pauseCount === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(reader.stats.pauseCount).toBe(1);
      const target = new Uint8Array(n);
      await readBody(reader, target, windowByteLength);
      expect(firstDifference(target, body)).toBe(-1);
      const readAhead = readAheadByteLength ?? 64 * 1024;
      const borders = n / windowByteLength - 1;
      // The read-ahead filled once, plus the pause's 1-byte read, the head's read and 1 byte per border.
      expect(reader.stats.copiedByteLength).toBeGreaterThanOrEqual(readAhead);
      expect(reader.stats.copiedByteLength).toBeLessThanOrEqual(readAhead + 1 + HEAD_READ + borders);
      await s.close();
    }
  });
});

describe("requestRaw: a chunked body", () => {
  const body = patternBytes(3000, 11);

  it("decodes chunks of many sizes, with extensions and trailers, sent in 1-byte writes", async () => {
    const wire = concat(
      chunkedHead(),
      encodeChunked(body, [1, 2, 700, 13, 2000], { ext: ";q=1", trailers: "T: x\r\n" }),
    );
    const s = await serve((socket) => writePieces(socket, cutAt(wire, Array.from(wire.keys()).slice(1))));
    const { reader, headers } = await requestRaw(s.url);
    expect(headers["transfer-encoding"]).toBe("chunked");
    const target = new Uint8Array(body.byteLength);
    expect(await readBody(reader, target, 7, 2)).toBe(body.byteLength);
    expect(target).toEqual(body);
  });

  it("reads large chunks' data straight into the views: only bytes read with each size line are copied", async () => {
    const big = patternBytes(4 * 1024 * 1024, 12);
    const chunkByteLength = 512 * 1024;
    const wire = concat(chunkedHead(), encodeChunked(big, [chunkByteLength]));
    const s = await serve((socket) => writePieces(socket, cutAt(wire, [100, 1 << 20, 3 << 20])));
    const { reader } = await requestRaw(s.url);
    const target = new Uint8Array(big.byteLength);
    await readBody(reader, target, 256 * 1024, 2);
    expect(firstDifference(target, big)).toBe(-1);
    const chunks = big.byteLength / chunkByteLength;
    expect(reader.stats.copiedByteLength).toBeLessThanOrEqual(1024 + 16 * chunks);
    expect(reader.stats.directByteLength).toBeGreaterThanOrEqual(big.byteLength - 1024 - 16 * chunks);
  });

  it("fills the read-ahead in large reads, not size-line-sized ones, while no view is pending", async () => {
    const big = patternBytes(1024 * 1024, 13);
    const s = await serve((socket) => writePieces(socket, [concat(chunkedHead(), encodeChunked(big, [1024 * 1024]))]));
    const { reader } = await requestRaw(s.url);
    for (let i = 0; i < 200 && reader.stats.pauseCount === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(reader.stats.pauseCount).toBe(1);
    // The head, a 1-byte read, then 64 KiB in a few reads (a 16-byte read each would be ~4,000).
    expect(reader.stats.readCount).toBeLessThanOrEqual(40);
    expect(reader.stats.readCount).toBeGreaterThanOrEqual(3);
    const target = new Uint8Array(big.byteLength);
    await readBody(reader, target, 256 * 1024);
    expect(firstDifference(target, big)).toBe(-1);
  });

  it("rejects a read with EBADCHUNK at malformed framing", async () => {
    const wire = concat(chunkedHead(), latin1("5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n"));
    const s = await serve((socket) => writePieces(socket, [wire]));
    const { reader } = await requestRaw(s.url);
    await expect(reader.readInto(new Uint8Array(100))).rejects.toMatchObject({
      name: "NodeSocketError",
      code: "EBADCHUNK",
      message: "Invalid chunked body: expected CRLF after chunk data, got byte 88",
    });
  });
});

describe("requestRaw over TLS", () => {
  const body = patternBytes(1024 * 1024 + 3, 21);

  it("reads a Content-Length body and a chunked one through https", async () => {
    for (const wire of [
      concat(lengthHead(body.byteLength), body),
      concat(chunkedHead(), encodeChunked(body, [100_000])),
    ]) {
      const s = await serve((socket) => writePieces(socket, cutAt(wire, [10, 70_000])), { tls: true });
      const { reader, status } = await requestRaw(s.url, { tls: { ca: TLS_CERT } });
      expect(status).toBe(200);
      const target = new Uint8Array(body.byteLength);
      expect(await readBody(reader, target, 200_000, 2)).toBe(body.byteLength);
      expect(firstDifference(target, body)).toBe(-1);
      await s.close();
    }
  });

  it("fails with ECONNECT when the certificate is not trusted", async () => {
    const s = await serve((socket) => void socket.end(lengthHead(0)), { tls: true });
    await expect(requestRaw(s.url)).rejects.toMatchObject({ code: "ECONNECT", message: /Could not connect/ });
    await nextTurn();
  });
});
