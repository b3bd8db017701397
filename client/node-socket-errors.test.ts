import { getEventListeners } from "node:events";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ByteReader } from "./node-socket.ts";
import { NodeSocketError, requestRaw } from "./node-socket.ts";
import {
  concat,
  latin1,
  nextTurn,
  patternBytes,
  type RawServer,
  responseHead,
  type ServerScript,
  startRawServer,
  writePieces,
} from "./test-fixtures/test-helpers.ts";

let server: RawServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function serve(script: ServerScript): Promise<RawServer> {
  server = await startRawServer(script);
  return server;
}

/** Reads windows of `windowByteLength` until a read rejects; returns what arrived and the error. */
async function readUntilError(reader: ByteReader, byteLength: number, windowByteLength: number) {
  const target = new Uint8Array(byteLength);
  let received = 0;
  for (;;) {
    try {
      const filled = await reader.readInto(
        target.subarray(received, Math.min(byteLength, received + windowByteLength)),
      );
      if (filled.byteLength === 0) return { received: target.subarray(0, received), error: null };
      received += filled.byteLength;
    } catch (error) {
      return { received: target.subarray(0, received), error: error as NodeSocketError };
    }
  }
}

/** Resolves once `socket`-side close is seen by the server script's socket. */
function closed(socket: import("node:net").Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));
}

const body = patternBytes(10_000, 31);
const head = responseHead("HTTP/1.1 200 OK", [`Content-Length: ${body.byteLength}`]);
const wire = concat(head, body);

describe("requestRaw: the connection closes early", () => {
  it.each([
    ["before any byte", 0],
    ["inside the status line", 7],
    ["inside a header line", head.byteLength - 6],
    ["between the last header CRLF and the blank line", head.byteLength - 2],
  ])("rejects with EINCOMPLETE when it closes %s", async (_where, cut) => {
    const s = await serve((socket) => void socket.end(wire.subarray(0, cut)));
    const error = await requestRaw(s.url).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NodeSocketError);
    expect(error).toMatchObject({
      code: "EINCOMPLETE",
      message: `The connection closed before the end of the response head (after ${cut} bytes)`,
    });
  });

  it.each([
    ["right after the head", 0],
    ["after 1 body byte", 1],
    ["mid-body, at a window border", 4096],
    ["one byte before the end", body.byteLength - 1],
  ])("delivers every byte that arrived, then rejects with EINCOMPLETE, when it closes %s", async (_where, cut) => {
    const s = await serve((socket) => writePieces(socket, [head, body.subarray(0, cut)]).then(() => void socket.end()));
    const { reader } = await requestRaw(s.url);
    const { received, error } = await readUntilError(reader, body.byteLength, 4096);
    expect(received).toEqual(body.subarray(0, cut));
    expect(error).toMatchObject({
      code: "EINCOMPLETE",
      message: `The connection closed before the end of the body: ${body.byteLength - cut} bytes missing`,
    });
    await expect(reader.readInto(new Uint8Array(1))).rejects.toBe(error); // stays failed
  });

  it.each([
    ["inside a chunk-size line", "1"],
    ["after a chunk-size line", "10\r\n"],
    ["inside chunk data", "10\r\n0123"],
    ["before the CRLF after the data", "4\r\nabcd"],
    ["after the last chunk, before the final CRLF", "4\r\nabcd\r\n0\r\n"],
    ["inside a trailer", "4\r\nabcd\r\n0\r\nX-T: 1"],
  ])("rejects a chunked body with EINCOMPLETE when it closes %s", async (_where, partial) => {
    const chunkedHead = responseHead("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]);
    const s = await serve((socket) => void socket.end(concat(chunkedHead, latin1(partial))));
    const { reader } = await requestRaw(s.url);
    const { error } = await readUntilError(reader, 100, 100);
    expect(error).toMatchObject({ code: "EINCOMPLETE", message: "The connection closed before the end of the body" });
  });

  it("rejects with ECONNRESET when the server resets the connection mid-body", async () => {
    const s = await serve(async (socket) => {
      await writePieces(socket, [head, body.subarray(0, 5000)]);
      socket.resetAndDestroy();
    });
    const { reader } = await requestRaw(s.url);
    const { received, error } = await readUntilError(reader, body.byteLength, 1000);
    expect(error).toMatchObject({ code: "ECONNRESET", cause: { code: "ECONNRESET" } });
    expect(received).toEqual(body.subarray(0, received.byteLength));
    expect(received.byteLength).toBeLessThanOrEqual(5000);
  });

  it("rejects with ECONNECT when nothing listens on the port", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    await expect(requestRaw(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({
      code: "ECONNECT",
      cause: { code: "ECONNREFUSED" },
    });
  });
});

describe("requestRaw: bad response heads", () => {
  it.each([
    ["a bad status line", "HTTP/1.1 OK\r\n\r\n", /expected a status line/],
    ["an HTTP/0.9-style body without a head", "<html>\r\n\r\n", /expected a status line/],
    [
      "a duplicate Content-Length",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
      /one Content-Length/,
    ],
    [
      "conflicting Content-Length",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
      /one Content-Length/,
    ],
    [
      "Content-Length with chunked",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
      /got both/,
    ],
    [
      "a 101 nobody asked for",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
      /got 101 without an upgrade/,
    ],
  ])("rejects %s with EBADHEAD and closes the connection", async (_what, response, message) => {
    let serverSocket: import("node:net").Socket | null = null;
    const s = await serve((socket) => {
      serverSocket = socket;
      socket.write(response); // no end(): the client must close
    });
    const error = await requestRaw(s.url).catch((err: unknown) => err);
    expect(error).toMatchObject({ name: "NodeSocketError", code: "EBADHEAD", message });
    await closed(serverSocket as unknown as import("node:net").Socket);
  });

  /** A head of exactly `byteLength` bytes (one long header pads it), then a 3-byte body. */
  const headOf = (byteLength: number) => {
    const start = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Pad: ";
    return latin1(`${start}${"p".repeat(byteLength - start.length - 4)}\r\n\r\nabc`);
  };

  it("accepts a head of exactly 64 KiB, sent in one write or in pieces", async () => {
    for (const pieces of [[headOf(65536)], [headOf(65536).subarray(0, 30_000), headOf(65536).subarray(30_000)]]) {
      const s = await serve((socket) => writePieces(socket, pieces));
      const { reader, headers } = await requestRaw(s.url);
      expect(headers["x-pad"]).toHaveLength(65536 - 47); // the start line, Content-Length, "X-Pad: " and CRLF CRLF
      expect(Buffer.from(await reader.readInto(new Uint8Array(3))).toString()).toBe("abc");
      await s.close();
    }
  });

  it("rejects a head of 64 KiB + 1 byte with EBADHEAD", async () => {
    const s = await serve((socket) => void socket.write(headOf(65537)));
    await expect(requestRaw(s.url)).rejects.toMatchObject({
      code: "EBADHEAD",
      message: "Invalid response head: expected at most 65536 bytes",
    });
  });

  it("stops reading a head that never ends at 64 KiB", async () => {
    let sent = 0;
    const s = await serve(async (socket) => {
      socket.write("HTTP/1.1 200 OK\r\n");
      for (let i = 0; i < 10_000 && !socket.destroyed; i++) {
        const line = `X-${i}: ${"v".repeat(100)}\r\n`;
        socket.write(line);
        sent += line.length;
        await nextTurn();
      }
    });
    await expect(requestRaw(s.url)).rejects.toMatchObject({ code: "EBADHEAD" });
    expect(sent).toBeLessThan(10_000 * 100); // the server saw the close long before its loop ended
  });
});

describe("requestRaw: abort and cancel", () => {
  it("rejects at once with ABORTED, without connecting, when the signal has already fired", async () => {
    const s = await serve(() => {});
    const reason = new Error("stop");
    const error = await requestRaw(s.url, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "NodeSocketError", code: "ABORTED", cause: reason });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(s.requests).toEqual([]);
  });

  it("rejects with ABORTED and closes the connection when aborted while waiting for the head", async () => {
    let serverSide: Promise<void> | null = null;
    const s = await serve((socket) => {
      serverSide = closed(socket); // never answers
    });
    const controller = new AbortController();
    const pending = requestRaw(s.url, { signal: controller.signal });
    while (s.requests.length === 0) await nextTurn();
    controller.abort("why");
    await expect(pending).rejects.toMatchObject({ code: "ABORTED", cause: "why" });
    await serverSide;
  });

  it("rejects the next read with ABORTED when aborted after the head, and drops what was queued", async () => {
    const s = await serve((socket) => writePieces(socket, [concat(head, body.subarray(0, 100))]));
    const controller = new AbortController();
    const { reader } = await requestRaw(s.url, { signal: controller.signal });
    controller.abort();
    await expect(reader.readInto(new Uint8Array(10))).rejects.toMatchObject({ code: "ABORTED" });
  });

  it("rejects every pending read with ABORTED when aborted mid-body", async () => {
    const s = await serve((socket) => writePieces(socket, [head, body.subarray(0, 3000)])); // then stalls
    const controller = new AbortController();
    const { reader } = await requestRaw(s.url, { signal: controller.signal });
    const target = new Uint8Array(body.byteLength);
    const first = reader.readInto(target.subarray(0, 5000));
    const second = reader.readInto(target.subarray(5000));
    while (reader.stats.directByteLength + reader.stats.copiedByteLength < 3000) await nextTurn();
    controller.abort();
    await expect(first).rejects.toMatchObject({ code: "ABORTED" });
    await expect(second).rejects.toMatchObject({ code: "ABORTED" });
    expect(target.subarray(0, 3000)).toEqual(body.subarray(0, 3000));
  });

  it("removes its abort listener once the connection is closed", async () => {
    const s = await serve((socket) => writePieces(socket, [wire]));
    const controller = new AbortController();
    const { reader } = await requestRaw(s.url, { signal: controller.signal });
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    await reader.readInto(new Uint8Array(body.byteLength));
    for (let i = 0; i < 100 && getEventListeners(controller.signal, "abort").length > 0; i++) await nextTurn();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("ignores an abort once the whole body is read", async () => {
    const s = await serve((socket) => writePieces(socket, [wire]));
    const controller = new AbortController();
    const { reader } = await requestRaw(s.url, { signal: controller.signal });
    expect((await reader.readInto(new Uint8Array(body.byteLength))).byteLength).toBe(body.byteLength);
    controller.abort();
    expect((await reader.readInto(new Uint8Array(1))).byteLength).toBe(0);
  });

  it("rejects pending and later reads with CANCELED after cancel(), and closes the connection", async () => {
    let serverSide: Promise<void> | null = null;
    const s = await serve((socket) => {
      serverSide = closed(socket);
      socket.write(head);
    });
    const { reader } = await requestRaw(s.url);
    const pending = reader.readInto(new Uint8Array(10));
    reader.cancel();
    reader.cancel(); // idempotent
    await expect(pending).rejects.toMatchObject({ code: "CANCELED" });
    await expect(reader.readInto(new Uint8Array(10))).rejects.toMatchObject({ code: "CANCELED" });
    await serverSide;
  });

  it("throws synchronously for a view that is not a Uint8Array or is empty", async () => {
    const s = await serve((socket) => void socket.write(wire));
    const { reader } = await requestRaw(s.url);
    expect(() => reader.readInto(new Float64Array(4) as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => reader.readInto(new Uint8Array(0))).toThrow(/at least 1 byte, got 0/);
    expect(await reader.readInto(new Uint8Array(body.byteLength))).toEqual(body); // still works
  });
});
