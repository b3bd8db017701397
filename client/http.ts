/**
 * The HTTP transport: one GET whose body is ARRAY_HEADER, the range's raw bytes, and END. It only
 * moves bytes: it reads the header and trailer, and reads the body into the windows the stream's
 * core (client/receive-stream.ts) hands it. In browsers the body is read with a BYOB reader: into
 * the target itself when the library allocated it and resume is off (no copy at all), else
 * through the core's scratch buffer and one copy per read. In Node it comes from `node:http`,
 * copied chunk by chunk into the target.
 */
import {
  decodeMessage,
  END_BYTE_LENGTH,
  HEADER_FIXED_BYTE_LENGTH,
  HTTP_CONTENT_TYPE,
  headerByteLength,
  ProtocolError,
  StreamError,
  toHttpUrl,
} from "../shared/index.ts";
import { type ByteReader, byobReader, nodeStreamReader } from "./byte-reader.ts";
import type { Compression } from "./options.ts";
import type { ReceiveStream, RequestFields } from "./receive-stream.ts";
import { isLoopbackHost } from "./resolve-options.ts";
import { isNodeRuntime } from "./runtime.ts";

/** Largest window offered to one BYOB read that fills the target in place. */
const MAX_READ_BYTE_LENGTH = 16 * 1024 * 1024;
/**
 * Largest window a copying reader (Node) fills before the checksum runs over it: small enough
 * that the bytes just copied are still in cache when they are hashed.
 */
const MAX_COPY_BYTE_LENGTH = 256 * 1024;

/** A response as the transport needs it. */
export interface HttpResponse {
  status: number;
  contentType: string;
  reader: ByteReader;
}

/** Sends the GET; rejects when there is no response (refused, reset, aborted through `signal`). */
export type HttpOpener = (
  url: URL,
  headers: Record<string, string> | undefined,
  signal: AbortSignal,
) => Promise<HttpResponse>;

/** What the HTTP transport needs from the connection options. */
export interface HttpSettings {
  headers: Record<string, string> | undefined;
  maxControlByteLength: number;
  /**
   * ConnectOptions.compression: with fetch (browsers), "on", or "auto" to a host that is not
   * loopback, asks for a `Content-Encoding: zstd` body (`compress=zstd`), which the browser
   * decodes itself (off the page's thread) when its Accept-Encoding lists zstd. Default "off".
   */
  compression?: Compression;
}

/** Browsers (and runtimes without node:http): fetch, read with a BYOB reader. */
export const openWithFetch: HttpOpener = async (url, headers, signal) => {
  const response = await fetch(url, { signal, cache: "no-store", headers });
  if (!response.body) throw new StreamError("E_HTTP_STATUS", `HTTP ${response.status}: no body`, 1);
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    reader: byobReader(response.body),
  };
};

/**
 * Node: `node:http` directly. undici's fetch body costs an extra pass per chunk (and its BYOB
 * reader runs at ~30 MB/s here), while an IncomingMessage hands over the socket's chunks as is.
 */
export const openWithNodeHttp: HttpOpener = async (url, headers, signal) => {
  // A variable specifier keeps bundlers from pulling node:http into browser builds.
  const specifier = url.protocol === "https:" ? "node:https" : "node:http";
  const http = (await import(/* @vite-ignore */ specifier)) as typeof import("node:http");
  return new Promise((resolve, reject) => {
    const req = http.get(url, { signal, headers }, (res) => {
      resolve({
        status: res.statusCode ?? 0,
        contentType: String(res.headers["content-type"] ?? ""),
        reader: nodeStreamReader(res),
      });
    });
    req.on("error", reject);
  });
};

/** The GET for a request: `ws://host/path` -> `http://host/path?name=...` (docs/PROTOCOL.md §12.7). */
function requestUrl(url: string | URL, fields: RequestFields, compress: boolean): URL {
  const u = toHttpUrl(url);
  if (compress) u.searchParams.set("compress", "zstd");
  u.searchParams.set("name", fields.name);
  if (fields.params) u.searchParams.set("params", JSON.stringify(fields.params));
  if (fields.range) {
    u.searchParams.set("start", String(fields.range.elementStart));
    u.searchParams.set("end", String(fields.range.elementEnd));
  }
  if (fields.checksum !== "none") u.searchParams.set("checksum", fields.checksum);
  if (fields.expectedGeneration !== null) {
    u.searchParams.set("resume", String(fields.resumeByteOffset));
    u.searchParams.set("generation", String(fields.expectedGeneration));
  }
  return u;
}

/**
 * Runs one attempt of `stream` over HTTP. Never throws: every failure goes to the stream.
 * @param open how to send the GET (defaults to node:http in Node, fetch elsewhere).
 */
export async function receiveHttp(
  url: string | URL,
  stream: ReceiveStream,
  settings: HttpSettings,
  open: HttpOpener = isNodeRuntime() ? openWithNodeHttp : openWithFetch,
): Promise<void> {
  // Only a reader whose runtime decodes Content-Encoding (fetch) may ask for a zstd body.
  const compression = settings.compression ?? "off";
  const compress =
    open === openWithFetch &&
    (compression === "on" || (compression === "auto" && !isLoopbackHost(toHttpUrl(url).hostname)));
  const target = requestUrl(url, stream.requestFields(), compress);
  let response: HttpResponse;
  try {
    response = await open(target, settings.headers, stream.signal);
  } catch (err) {
    stream.fail(
      err instanceof StreamError
        ? err
        : new StreamError(
            "E_CONNECTION_CLOSED",
            `Could not connect to ${target.origin}: ${(err as Error)?.message}`,
            1,
            {
              cause: err,
            },
          ),
    );
    return;
  }
  stream.touch();
  const { reader } = response;
  stream.onRelease((failed) => {
    if (failed) reader.cancel();
  });
  try {
    await receiveResponse(response, stream, settings.maxControlByteLength);
  } catch (err) {
    stream.fail(err);
  }
}

/** Reads a response into `stream`: the header, the range in the windows the core hands out, the trailer. */
export async function receiveResponse(
  response: HttpResponse,
  stream: ReceiveStream,
  maxControlByteLength: number,
): Promise<void> {
  const { reader, contentType, status } = response;
  if (!contentType.startsWith(HTTP_CONTENT_TYPE)) {
    throw new StreamError(
      "E_HTTP_STATUS",
      `HTTP ${status} with content-type ${JSON.stringify(contentType)}: not an arraywire stream (expected ${HTTP_CONTENT_TYPE}; is the server's handleRequest/middleware mounted at this path?)`,
      1,
    );
  }
  if (status !== 200) throw await errorFromBody(status, reader, maxControlByteLength);
  const fixed = await readExactly(reader, HEADER_FIXED_BYTE_LENGTH, "the header");
  const headerBytes = new Uint8Array(headerByteLength(fixed, maxControlByteLength));
  headerBytes.set(fixed);
  headerBytes.set(await readExactly(reader, headerBytes.byteLength - fixed.byteLength, "the header"), fixed.byteLength);
  const header = decodeMessage(headerBytes, { maxControlByteLength, maxTotalByteLength: Number.MAX_SAFE_INTEGER });
  if (header.type !== "ARRAY_HEADER") {
    throw new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${header.type}: expected ARRAY_HEADER`);
  }
  stream.header(header);
  const maxWindow = reader.transfers ? MAX_READ_BYTE_LENGTH : MAX_COPY_BYTE_LENGTH;
  while (!stream.done && stream.remainingByteLength > 0) {
    const filled = await reader.read(stream.window(maxWindow, reader.transfers));
    if (filled.byteLength === 0) {
      throw new StreamError(
        "E_INCOMPLETE",
        `Stream ended early: expected ${stream.remainingByteLength} more bytes of the range, got the end of the body`,
        1,
      );
    }
    stream.commit(filled);
  }
  if (stream.done) return;
  const end = decodeMessage(await readExactly(reader, END_BYTE_LENGTH, "the trailer"));
  if (end.type !== "END") throw new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${end.type}: expected END`);
  if ((await reader.read(new Uint8Array(1))).byteLength > 0) {
    throw new ProtocolError("E_BAD_LENGTH", "Invalid body: bytes past the END trailer");
  }
  stream.end(end);
}

async function readExactly(reader: ByteReader, byteLength: number, what: string): Promise<Uint8Array> {
  // A BYOB read moves the bytes to a new ArrayBuffer each time: follow it.
  let buffer: ArrayBufferLike = new ArrayBuffer(byteLength);
  let offset = 0;
  while (offset < byteLength) {
    const filled = await reader.read(new Uint8Array(buffer, offset, byteLength - offset));
    if (filled.byteLength === 0) {
      throw new StreamError(
        "E_INCOMPLETE",
        `Stream ended early: expected ${byteLength} bytes of ${what}, got ${offset}`,
        1,
      );
    }
    buffer = filled.buffer;
    offset += filled.byteLength;
  }
  return new Uint8Array(buffer, 0, byteLength);
}

/** The server's ERROR body as a StreamError (or E_HTTP_STATUS when the body is not an ERROR). */
async function errorFromBody(status: number, reader: ByteReader, maxControlByteLength: number): Promise<StreamError> {
  let bytes: Uint8Array = new Uint8Array(maxControlByteLength);
  let offset = 0;
  while (offset < bytes.byteLength) {
    const filled = await reader.read(bytes.subarray(offset));
    // After a BYOB read the bytes live on a new ArrayBuffer of the same length: follow it.
    if (filled.buffer.byteLength === maxControlByteLength) bytes = new Uint8Array(filled.buffer);
    if (filled.byteLength === 0) break;
    offset += filled.byteLength;
  }
  try {
    const message = decodeMessage(bytes.subarray(0, offset), { maxControlByteLength });
    if (message.type === "ERROR") return new StreamError(message.code, message.message, 1);
  } catch {
    // Not an arraywire body (a proxy's error page, say): report the status alone.
  }
  return new StreamError("E_HTTP_STATUS", `HTTP ${status}: the server did not send an arraywire error`, 1);
}
