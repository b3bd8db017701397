/**
 * Server ends of the peer methods the bench compares arraywire with. Each sends the same
 * Float64Array memory the ArrayServer publishes, as views (never copies), with the same kind of
 * backpressure arraywire uses, so the comparison is about the transport and the receiver:
 * - raw HTTP body (`GET /raw?n=`): the bytes alone, for the browser's fetch + BYOB ceiling;
 * - JSON numbers (`GET /json?n=`) and an Arrow IPC stream (`GET /arrow?n=`), encoded once at start;
 * - `/wsloop?n=` WebSocket: the array as 1 MiB binary messages, at most 4 MiB queued (what the
 *   minimal hand-written browser loop reads);
 * - `/wsone?n=` WebSocket: the whole array as one message;
 * - raw TCP (node:net): request line `<n>\n`, answer u64 LE byteLength + the bytes in 4 MiB writes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import type { Duplex } from "node:stream";
import { makeVector, Table, tableToIPC, Vector } from "apache-arrow";
import { type WebSocket, WebSocketServer } from "ws";

const MiB = 1024 * 1024;
/** Chunk of the raw HTTP body and of the ws loop: arraywire's browser default. */
const BROWSER_CHUNK_BYTE_LENGTH = MiB;
/** Chunk of the raw TCP stream: arraywire's Node default. */
const NODE_CHUNK_BYTE_LENGTH = 4 * MiB;
/** Bytes a ws loop may queue in the socket before waiting: ArrayServer's maxQueuedBytes default. */
const MAX_QUEUED_BYTE_LENGTH = 4 * MiB;

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

/** Writes `bytes` as a 200 response body in chunk-sized views, waiting for `drain` when told to. */
export async function sendBody(res: ServerResponse, bytes: Uint8Array, contentType: string): Promise<void> {
  res.writeHead(200, {
    "content-type": contentType,
    "content-length": bytes.byteLength,
    "cache-control": "no-store",
  });
  for (let offset = 0; offset < bytes.byteLength && !res.destroyed; offset += BROWSER_CHUNK_BYTE_LENGTH) {
    const end = Math.min(offset + BROWSER_CHUNK_BYTE_LENGTH, bytes.byteLength);
    if (!res.write(bytes.subarray(offset, end))) await waitForDrain(res);
  }
  res.end();
}

/** Sends `bytes` as chunk-sized binary messages, keeping at most MAX_QUEUED_BYTE_LENGTH in ws. */
function sendChunked(ws: WebSocket, bytes: Uint8Array): void {
  let offset = 0;
  let queued = 0;
  const pump = () => {
    while (offset < bytes.byteLength && queued < MAX_QUEUED_BYTE_LENGTH && ws.readyState === ws.OPEN) {
      const end = Math.min(offset + BROWSER_CHUNK_BYTE_LENGTH, bytes.byteLength);
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
      else sendChunked(ws, bytesOf(array));
    });
  };
}

/** The raw TCP server: `<n>\n` in, u64 LE byteLength + the array's bytes out, then end. */
export function createRawTcpServer(arrays: Map<number, Float64Array>): TcpServer {
  return createTcpServer({ noDelay: true }, (socket) => {
    let line = "";
    socket.on("error", () => {}); // client gone; the bench reports it on its side
    socket.on("data", function onData(chunk: Buffer) {
      line += chunk.toString("latin1");
      const newline = line.indexOf("\n");
      if (newline < 0) return;
      socket.off("data", onData);
      const array = arrays.get(Number(line.slice(0, newline)));
      if (!array) {
        socket.destroy();
        return;
      }
      void streamRaw(socket, bytesOf(array));
    });
  });
}

async function streamRaw(socket: Duplex, bytes: Uint8Array): Promise<void> {
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(bytes.byteLength));
  socket.write(header);
  for (let offset = 0; offset < bytes.byteLength && !socket.destroyed; offset += NODE_CHUNK_BYTE_LENGTH) {
    const end = Math.min(offset + NODE_CHUNK_BYTE_LENGTH, bytes.byteLength);
    if (!socket.write(bytes.subarray(offset, end))) await waitForDrain(socket);
  }
  socket.end();
}
