/**
 * Test helpers for the Node socket reader (imported by *.test.ts only; tsconfig.build.json excludes
 * files named test-helpers.ts):
 * - {@link startRawServer}: a TCP or TLS server on 127.0.0.1:0 that reads each request head and then
 *   runs a script that writes the response byte by byte as the test dictates;
 * - {@link writePieces}: one write per piece with a turn of the event loop between, so the client
 *   sees the pieces as separate reads (the reader's splits are what is under test);
 * - {@link encodeChunked}, {@link patternBytes}, {@link cutAt}: bodies and how to cut them;
 * - {@link readBody}: drives readInto over a target the way the stream core does.
 * The certificate next to this file is self-signed for 127.0.0.1 and localhost, valid until 2126.
 */
import { readFileSync } from "node:fs";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { ByteReader } from "../node-socket-reader.ts";

export const TLS_CERT = readFileSync(new URL("./localhost-cert.pem", import.meta.url));
export const TLS_KEY = readFileSync(new URL("./localhost-key.pem", import.meta.url));

/** What a script gets: the connection and the request head it received (latin1, up to CRLF CRLF). */
export type ServerScript = (socket: Socket, requestHead: string) => Promise<void> | void;

export interface RawServer {
  url: URL;
  /** Every request head received, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Starts a server that answers each connection with `script` once the request head is in.
 * A script that throws destroys its connection (the test then sees the client's error).
 */
export async function startRawServer(script: ServerScript, options: { tls?: boolean } = {}): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {}); // a client that goes away mid-response is what many tests do
    socket.setNoDelay(true);
    let head = "";
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      requests.push(head.slice(0, end + 4));
      Promise.resolve()
        .then(() => script(socket, head.slice(0, end + 4)))
        .catch(() => socket.destroy());
    };
    socket.on("data", onData);
  };
  const server: Server = options.tls
    ? createTlsServer({ key: TLS_KEY, cert: TLS_CERT }, onConnection)
    : createNetServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: new URL(`${options.tls ? "https" : "http"}://127.0.0.1:${address.port}/array?name=x`),
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves after a turn of the event loop (timers and I/O polled), so a write reaches the peer alone. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Writes each piece on its own, with a turn of the event loop before the next. */
export async function writePieces(socket: Socket, pieces: Uint8Array[]): Promise<void> {
  for (const piece of pieces) {
    if (socket.destroyed) return;
    if (!socket.write(piece)) await new Promise((resolve) => socket.once("drain", resolve));
    await nextTurn();
  }
}

/** `bytes` cut at the given offsets (ascending, inside the array). */
export function cutAt(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const offset of [...offsets, bytes.byteLength]) {
    if (offset > start) pieces.push(bytes.subarray(start, offset));
    start = Math.max(start, offset);
  }
  return pieces;
}

/** Deterministic bytes that differ from their neighbours and from other seeds (a misplaced byte shows). */
export function patternBytes(byteLength: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(byteLength);
  let x = seed * 0x9e3779b1;
  for (let i = 0; i < byteLength; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

export function latin1(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "latin1"));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A response head with the given status line and header lines. */
export function responseHead(statusLine: string, headers: string[]): Uint8Array {
  return latin1(`${statusLine}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`);
}

/** `body` in chunked transfer-coding, cut into chunks of the given sizes (the last size repeats). */
export function encodeChunked(
  body: Uint8Array,
  chunkByteLengths: number[],
  extra = { ext: "", trailers: "" },
): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; offset < body.byteLength; i++) {
    const n = Math.min(chunkByteLengths[Math.min(i, chunkByteLengths.length - 1)] as number, body.byteLength - offset);
    parts.push(latin1(`${n.toString(16)}${extra.ext}\r\n`), body.subarray(offset, offset + n), latin1("\r\n"));
    offset += n;
  }
  parts.push(latin1(`0${extra.ext}\r\n${extra.trailers}\r\n`));
  return concat(...parts);
}

/**
 * Reads the body into `target` in windows of `windowByteLength`, keeping `pending` reads in flight
 * (1: await each; 2: the next window is always waiting). Resolves with the bytes read, after
 * checking that the reader then reports the end with an empty read.
 */
export async function readBody(
  reader: ByteReader,
  target: Uint8Array,
  windowByteLength: number,
  pending = 1,
): Promise<number> {
  let requested = 0;
  let received = 0;
  const inFlight: { read: Promise<Uint8Array>; byteLength: number }[] = [];
  for (;;) {
    while (inFlight.length < pending && requested < target.byteLength) {
      const end = Math.min(target.byteLength, requested + windowByteLength);
      inFlight.push({ read: reader.readInto(target.subarray(requested, end)), byteLength: end - requested });
      requested = end;
    }
    const next = inFlight.shift();
    if (!next) break;
    const filled = await next.read;
    received += filled.byteLength;
    if (filled.byteLength < next.byteLength) {
      // Short: the body ended. Reads still in flight must come back empty.
      for (const rest of inFlight.splice(0)) received += (await rest.read).byteLength;
      break;
    }
  }
  const after = await reader.readInto(new Uint8Array(1));
  if (after.byteLength !== 0) throw new Error(`expected the end of the body, got ${after.byteLength} more bytes`);
  return received;
}

/** Index of the first byte where `a` and `b` differ (or where the shorter ends), or -1 when equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
