/**
 * The HTTP transport: one GET whose body is ARRAY_HEADER, the range's raw bytes, and END. It only
 * moves bytes: it reads the header and trailer, and reads the body into the windows the stream's
 * core (client/receive-stream.ts) hands it. In browsers the body is read with a BYOB reader into
 * the core's scratch buffer, then copied and hashed into the target in cache-sized pieces (the
 * target itself is never transferred: see SCRATCH_BYTE_LENGTH). In Node it is read over a raw socket
 * (client/http-node.ts): the kernel writes the body straight into windows of the target, the
 * next window always pending, each one hashed as soon as it is full, while it is still in cache.
 */
import {
  decodeMessage,
  END_BYTE_LENGTH,
  HEADER_FIXED_BYTE_LENGTH,
  HTTP_CONTENT_TYPE,
  headerByteLength,
  MAX_BYTE_WINDOW_LENGTH,
  ProtocolError,
  StreamError,
  toHttpUrl,
} from "../shared/index.ts";
import { type ByteReader, byobReader } from "./byte-reader.ts";
import {
  type Endpoint,
  endpointOf,
  explainRefusal,
  explainUnreachable,
  fetchHidesReasons,
  notArraywireError,
  type ProbeOutcome,
} from "./explain.ts";
import { openWithNodeSocket } from "./http-node.ts";
import type { Compression } from "./options.ts";
import { probeEndpoint } from "./probe.ts";
import type { ReceiveStream, RequestFields } from "./receive-stream.ts";
import { isLoopbackHost } from "./resolve-options.ts";
import { isNodeRuntime } from "./runtime.ts";

/**
 * Largest window a copying reader (a fetch body without byte streams) fills before the checksum
 * runs over it: small enough that the bytes just copied are still in cache when they are hashed.
 * (A BYOB read fills the core's scratch buffer, whatever its size.)
 */
const MAX_COPY_BYTE_LENGTH = 256 * 1024;
/**
 * Window of a filling reader (Node's socket reader): the core hashes each one right after the
 * kernel filled it, while it is still in cache (L2). bench/results/probe-node-reader.md, 400 MB,
 * XXH32 on, reused target: 256 KiB windows with the next one pending 1,782 MB/s; 1 MiB 1,496;
 * 16 MiB 1,112; the whole rest in one read 917 (hashed out of cache).
 */
export const FILL_WINDOW_BYTE_LENGTH = 256 * 1024;
/** Reads a filling reader keeps pending: when one window fills, the kernel goes on into the next. */
const FILL_PENDING_COUNT = 2;

/** A response as the transport needs it. */
export interface HttpResponse {
  status: number;
  contentType: string;
  reader: ByteReader;
}

/** What an opener gets besides the URL. */
export interface OpenOptions {
  headers: Record<string, string> | undefined;
  /** Aborts the request and the body (the stream's signal: it fires when the stream fails). */
  signal: AbortSignal;
  /** Called when bytes arrive (where the opener can tell): keeps the idle timer quiet. */
  onData: () => void;
  /** fetch's credentials in browsers; the Node socket reader sends no cookies and ignores it. */
  credentials?: RequestCredentials;
}

/**
 * Sends the GET; rejects when there is no response (refused, reset, aborted through `signal`)
 * with a StreamError, or with the TypeError / RangeError of a caller's bad option.
 */
export type HttpOpener = (url: URL, options: OpenOptions) => Promise<HttpResponse>;

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
  /** fetch's credentials in browsers. Defaults to "same-origin". */
  credentials?: RequestCredentials;
  /** How long a probe after a request without response may take, in ms. Defaults to 10_000. */
  connectTimeoutMs?: number;
}

/** Browsers (and runtimes without node:net): fetch, read with a BYOB reader. */
export const openWithFetch: HttpOpener = async (url, { headers, signal, credentials }) => {
  let response: Response;
  try {
    response = await fetch(url, { signal, cache: "no-store", headers, credentials });
  } catch (err) {
    throw new StreamError("E_CONNECTION_CLOSED", `Could not connect to ${url.origin}: ${(err as Error)?.message}`, 1, {
      cause: err,
    });
  }
  if (!response.body) throw new StreamError("E_HTTP_STATUS", `HTTP ${response.status}: no body`, 1);
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    reader: byobReader(response.body),
  };
};

/**
 * Openers whose runtime decodes `Content-Encoding` itself (fetch), and so may ask for a zstd body;
 * a wrapper around one (withGatewayCheck) adds itself.
 */
export const DECODES_CONTENT_ENCODING: WeakSet<HttpOpener> = new WeakSet([openWithFetch]);

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
 * @param open how to send the GET (defaults to a raw socket in Node, fetch elsewhere).
 */
export async function receiveHttp(
  url: string | URL,
  stream: ReceiveStream,
  settings: HttpSettings,
  open: HttpOpener = isNodeRuntime() ? openWithNodeSocket : openWithFetch,
): Promise<void> {
  // Only a reader whose runtime decodes Content-Encoding (fetch) may ask for a zstd body.
  const compression = settings.compression ?? "off";
  const compress =
    DECODES_CONTENT_ENCODING.has(open) &&
    (compression === "on" || (compression === "auto" && !isLoopbackHost(toHttpUrl(url).hostname)));
  const target = requestUrl(url, stream.requestFields(), compress);
  const endpoint = endpointOf(url, settings.headers);
  let response: HttpResponse;
  try {
    response = await open(target, {
      headers: settings.headers,
      signal: stream.signal,
      onData: () => stream.touch(),
      credentials: settings.credentials,
    });
  } catch (err) {
    // A caller's bad option (a header the socket reader refuses) is not a lost connection, and a
    // typed failure other than a lost connection already says why.
    const lost = err instanceof StreamError && err.code === "E_CONNECTION_CLOSED";
    if ((err instanceof StreamError && !lost) || err instanceof TypeError || err instanceof RangeError || stream.done) {
      stream.fail(err);
      return;
    }
    const cause = lost ? (err.cause ?? err) : err;
    // No response at all. In a browser that can be a CORS refusal it hides: a probe may learn it.
    let outcome: ProbeOutcome | null = null;
    if (fetchHidesReasons()) {
      try {
        outcome = await probeEndpoint(endpoint, {
          headers: settings.headers,
          protocols: undefined,
          credentials: settings.credentials,
          maxControlByteLength: settings.maxControlByteLength,
          timeoutMs: settings.connectTimeoutMs || 10_000,
          signal: stream.signal,
        });
      } catch {
        return; // the stream failed meanwhile (aborted, idle): it has its error
      }
    }
    const carried = settings.headers !== undefined || settings.credentials === "include";
    stream.fail(explainUnreachable(cause, outcome, endpoint, carried));
    return;
  }
  stream.touch();
  const { reader } = response;
  stream.onRelease((failed) => {
    if (failed) reader.cancel();
  });
  try {
    await receiveResponse(response, stream, settings.maxControlByteLength, endpoint);
  } catch (err) {
    stream.fail(err);
  }
}

/** Reads a response into `stream`: the header, the range in the windows the core hands out, the trailer. */
export async function receiveResponse(
  response: HttpResponse,
  stream: ReceiveStream,
  maxControlByteLength: number,
  endpoint?: Endpoint,
): Promise<void> {
  const { reader, contentType, status } = response;
  // Another app's 404 or page (E_NOT_FOUND: not mounted there), or a proxy's answer (E_HTTP_STATUS).
  if (!contentType.startsWith(HTTP_CONTENT_TYPE)) throw notArraywireError(status, contentType, endpoint);
  if (status !== 200) {
    const refusal = await errorFromBody(status, reader, maxControlByteLength);
    throw endpoint ? explainRefusal(refusal, endpoint) : refusal;
  }
  const fixed = await readExactly(reader, HEADER_FIXED_BYTE_LENGTH, "the header");
  const headerBytes = new Uint8Array(headerByteLength(fixed, maxControlByteLength));
  headerBytes.set(fixed);
  headerBytes.set(await readExactly(reader, headerBytes.byteLength - fixed.byteLength, "the header"), fixed.byteLength);
  const header = decodeMessage(headerBytes, { maxControlByteLength, maxTotalByteLength: Number.MAX_SAFE_INTEGER });
  if (header.type !== "ARRAY_HEADER") {
    throw new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${header.type}: expected ARRAY_HEADER`);
  }
  stream.header(header);
  if (reader.fills) await receiveFilled(reader, stream);
  else await receiveRead(reader, stream);
  if (stream.done) return;
  const end = decodeMessage(await readExactly(reader, END_BYTE_LENGTH, "the trailer"));
  if (end.type !== "END") throw new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${end.type}: expected END`);
  if ((await reader.read(new Uint8Array(1))).byteLength > 0) {
    throw new ProtocolError("E_BAD_LENGTH", "Invalid body: bytes past the END trailer");
  }
  stream.end(end);
}

function endedEarly(stream: ReceiveStream): StreamError {
  return new StreamError(
    "E_INCOMPLETE",
    `Stream ended early: expected ${stream.remainingByteLength} more bytes of the range, got the end of the body`,
    1,
  );
}

/** The range through a reader that resolves with what it has (BYOB, or copied from chunks): one read at a time. */
async function receiveRead(reader: ByteReader, stream: ReceiveStream): Promise<void> {
  const maxWindow = reader.transfers ? Number.POSITIVE_INFINITY : MAX_COPY_BYTE_LENGTH;
  while (!stream.done && stream.remainingByteLength > 0) {
    const filled = await reader.read(stream.window(maxWindow, reader.transfers));
    if (filled.byteLength === 0) throw endedEarly(stream);
    stream.commit(filled);
  }
}

/**
 * The range through a filling reader (Node): in windows of {@link FILL_WINDOW_BYTE_LENGTH} of
 * the target, {@link FILL_PENDING_COUNT} pending at a time, each committed (hashed, counted,
 * reported) once full. A window that comes back short holds every byte that arrived before the
 * body ended or failed: it is committed as it is (a resume continues after its last byte), then
 * the next read tells which it was.
 */
async function receiveFilled(reader: ByteReader, stream: ReceiveStream): Promise<void> {
  // The rest of the range, filled in place: a filling reader never transfers its views. In
  // regions of at most 1 GiB: past 4 GiB no one Uint8Array spans the target (Node 20).
  const nextRegion = () => stream.window(Math.min(stream.remainingByteLength, MAX_BYTE_WINDOW_LENGTH), false);
  let region = nextRegion();
  const pending: { read: Promise<Uint8Array>; view: Uint8Array }[] = [];
  let next = 0;
  const readNext = () => {
    const view = region.subarray(next, Math.min(next + FILL_WINDOW_BYTE_LENGTH, region.byteLength));
    const read = reader.read(view);
    // Awaited in order below; one still pending when the stream fails must not be unhandled.
    read.catch(() => {});
    pending.push({ read, view });
    next += view.byteLength;
  };
  let current: Uint8Array | null = null;
  stream.onPartialWindow(() => {
    const held = current && (reader.filledByteLength?.(current) ?? 0);
    return current && held ? current.subarray(0, held) : null;
  });
  const refill = () => {
    while (pending.length < FILL_PENDING_COUNT && next < region.byteLength) readNext();
  };
  refill();
  for (let window = pending.shift(); window !== undefined; window = pending.shift()) {
    current = window.view;
    const filled = await window.read;
    current = null;
    if (stream.done) return;
    if (filled.byteLength > 0) stream.commit(filled);
    if (stream.done) return;
    if (filled.byteLength < window.view.byteLength) {
      // The body ended, or failed: the next read rejects with the failure, or resolves empty.
      await (pending[0]?.read ?? reader.read(new Uint8Array(1)));
      throw endedEarly(stream);
    }
    if (next < region.byteLength) readNext();
    else if (pending.length === 0 && stream.remainingByteLength > 0) {
      region = nextRegion(); // every window of the last region is committed: the next one starts there
      next = 0;
      refill();
    }
  }
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
