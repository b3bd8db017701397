/**
 * Server ends of the peer methods the bench compares arraywire with. Each sends the same
 * Float64Array memory the ArrayServer publishes, as views (never copies), with the same kind of
 * backpressure arraywire uses, so the comparison is about the transport and the receiver:
 * - raw HTTP body (`GET /raw?n=[&write=][&hash=1]`): the bytes alone in writes of `write` bytes
 *   (default 1 MiB), for the browser's fetch + BYOB loop; `hash=1` adds the array's XXH32
 *   (computed at start) as the RAW_CHECKSUM_HEADER, for the verified loop;
 * - JSON numbers (`GET /json?n=`) and an Arrow IPC stream (`GET /arrow?n=`), encoded once at start;
 * - `/wsloop?n=[&chunk=]` WebSocket: the array as binary messages of `chunk` bytes (default 1 MiB),
 *   at most max(8 MiB, 2 messages) queued (what the bare browser ws loop reads);
 * - `/wsone?n=` WebSocket: the whole array as one message;
 * - raw TCP (node:net): request line `<n>[ <write>]\n`, answer u64 LE byteLength + the bytes in
 *   writes of `write` bytes (default 4 MiB).
 * Write and message sizes are clamped to 4 KiB..64 MiB.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import type { Duplex } from "node:stream";
import { makeVector, Table, tableToIPC, Vector } from "apache-arrow";
import { type WebSocket, WebSocketServer } from "ws";

const MiB = 1024 * 1024;
/** Default write of the raw HTTP body and message of the ws loop. */
const BROWSER_CHUNK_BYTE_LENGTH = MiB;
/** Default write of the raw TCP stream. */
const NODE_CHUNK_BYTE_LENGTH = 4 * MiB;
/** Bytes a ws loop may queue before waiting for send callbacks: at least this, and two messages. */
const MIN_QUEUED_BYTE_LENGTH = 8 * MiB;
const MIN_WRITE_BYTE_LENGTH = 4096;
const MAX_WRITE_BYTE_LENGTH = 64 * MiB;

/** A write or message size from a request: `fallback` when absent or not a number, else clamped. */
export function writeSize(value: string | null | undefined, fallback: number): number {
  const n = Number(value);
  if (value === null || value === undefined || value === "" || !Number.isSafeInteger(n)) return fallback;
  return Math.min(MAX_WRITE_BYTE_LENGTH, Math.max(MIN_WRITE_BYTE_LENGTH, n));
}

/** Byte view of a typed array's own window. */
export function bytesOf(array: Float64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** JSON text of the array's numbers, as bytes. */
export function encodeJson(array: Float64Array): Uint8Array {
  return Buffer.from(JSON.stringify(Array.from(array)));
}

/** An Arrow IPC stream (schema + record batches of `batchRowCount` rows) of one Float64 column "x". */
export function encodeArrow(array: Float64Array, batchRowCount: number): Uint8Array {
  const chunks = [];
  for (let offset = 0; offset < array.length; offset += batchRowCount) {
    chunks.push(...makeVector(array.subarray(offset, Math.min(offset + batchRowCount, array.length))).data);
  }
  return tableToIPC(new Table({ x: new Vector(chunks) }), "stream");
}

function waitForDrain(stream: ServerResponse | Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

/** Writes `bytes` as a 200 response body in views of `writeByteLength`, waiting for `drain` when told to. */
export async function sendBody(
  res: ServerResponse,
  bytes: Uint8Array,
  contentType: string,
  writeByteLength = BROWSER_CHUNK_BYTE_LENGTH,
  extraHeaders: Record<string, string> = {},
): Promise<void> {
  res.writeHead(200, {
    ...extraHeaders,
    "content-type": contentType,
    "content-length": bytes.byteLength,
    "cache-control": "no-store",
  });
  for (let offset = 0; offset < bytes.byteLength && !res.destroyed; offset += writeByteLength) {
    const end = Math.min(offset + writeByteLength, bytes.byteLength);
    if (!res.write(bytes.subarray(offset, end))) await waitForDrain(res);
  }
  res.end();
}

/** Sends `bytes` as binary messages of `messageByteLength`, keeping at most max(8 MiB, 2 messages) in ws. */
function sendChunked(ws: WebSocket, bytes: Uint8Array, messageByteLength: number): void {
  const maxQueued = Math.max(MIN_QUEUED_BYTE_LENGTH, 2 * messageByteLength);
  let offset = 0;
  let queued = 0;
  const pump = () => {
    while (offset < bytes.byteLength && queued < maxQueued && ws.readyState === ws.OPEN) {
      const end = Math.min(offset + messageByteLength, bytes.byteLength);
      const byteLength = end - offset;
      queued += byteLength;
      ws.send(bytes.subarray(offset, end), (err) => {
        queued -= byteLength;
        if (!err) pump();
      });
      offset = end;
    }
  };
  pump();
}

/**
 * A `noServer` WebSocketServer answering `/wsloop?n=` and `/wsone?n=` upgrades; returns an upgrade
 * listener that leaves other paths (the ArrayServer's) alone.
 */
export function peerUpgradeHandler(
  arrays: Map<number, Float64Array>,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 });
  return (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/wsloop" && url.pathname !== "/wsone") return;
    const array = arrays.get(Number(url.searchParams.get("n")));
    if (!array) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("error", () => {}); // a client that goes away mid-send; nothing to do
      if (url.pathname === "/wsone") ws.send(bytesOf(array));
      else sendChunked(ws, bytesOf(array), writeSize(url.searchParams.get("chunk"), BROWSER_CHUNK_BYTE_LENGTH));
    });
  };
}

/** The raw TCP server: `<n>[ <write>]\n` in, u64 LE byteLength + the array's bytes out in writes of `write`, then end. */
export function createRawTcpServer(arrays: Map<number, Float64Array>): TcpServer {
  return createTcpServer({ noDelay: true }, (socket) => {
    let line = "";
    socket.on("error", () => {}); // client gone; the bench reports it on its side
    socket.on("data", function onData(chunk: Buffer) {
      line += chunk.toString("latin1");
      const newline = line.indexOf("\n");
      if (newline < 0) return;
      socket.off("data", onData);
      const [count, write] = line.slice(0, newline).split(" ");
      const array = arrays.get(Number(count));
      if (!array) {
        socket.destroy();
        return;
      }
      void streamRaw(socket, bytesOf(array), writeSize(write, NODE_CHUNK_BYTE_LENGTH));
    });
  });
}

async function streamRaw(socket: Duplex, bytes: Uint8Array, writeByteLength: number): Promise<void> {
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(bytes.byteLength));
  socket.write(header);
  for (let offset = 0; offset < bytes.byteLength && !socket.destroyed; offset += writeByteLength) {
    const end = Math.min(offset + writeByteLength, bytes.byteLength);
    if (!socket.write(bytes.subarray(offset, end))) await waitForDrain(socket);
  }
  socket.end();
}
