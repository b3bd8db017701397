/**
 * The HTTP transport: one GET whose body is ARRAY_HEADER, the range's raw bytes, and END. With a
 * BYOB reader the browser writes the body straight into the target buffer (true recv_into: no
 * per-message ArrayBuffer, no copy). Each BYOB read transfers the buffer and hands back a view
 * over a new ArrayBuffer of the same memory, so the assembler re-derives its views after every read.
 * A caller's `into` is never transferred: reads then go through a scratch buffer and one bulk set.
 * In Node the body comes from `node:http`, copied chunk by chunk straight into the target.
 */
import {
  DEFAULT_MAX_CONTROL_BYTES,
  decodeMessage,
  END_BYTE_LENGTH,
  HEADER_FIXED_BYTE_LENGTH,
  HTTP_CONTENT_TYPE,
  headerByteLength,
  ProtocolError,
  StreamError,
  type TypedArray,
} from "../shared/index.ts";
import { type ArrayResult, Assembler } from "./assembler.ts";
import { checkHeader, checksumAlgorithmOf, type FetchOptions } from "./connection.ts";
import { ProgressReporter } from "./progress.ts";
import { IS_NODE } from "./socket.ts";
import { toStreamError } from "./wrap-error.ts";

/** Largest window offered to one BYOB read. */
const MAX_READ_BYTE_LENGTH = 16 * 1024 * 1024;
/**
 * Largest window a copying reader (Node) fills before the checksum runs over it: small enough
 * that the bytes just copied are still in cache when they are hashed.
 */
const MAX_COPY_BYTE_LENGTH = 256 * 1024;

/** Largest read through the scratch buffer when writing into a caller's array. */
const SCRATCH_BYTE_LENGTH = 1024 * 1024;

/**
 * Reads into caller-provided memory. Resolves with the filled view, which may sit on a new
 * ArrayBuffer (BYOB transfers the old one); an empty view means the body ended.
 */
interface ByteReader {
  readInto(view: Uint8Array): Promise<Uint8Array>;
  /** True when a read transfers (detaches) the buffer of the view it fills: BYOB. */
  readonly transfers: boolean;
  cancel(): void;
}

/** A response as the transport needs it, from `fetch` (browsers) or `node:http` (Node). */
interface HttpResponse {
  status: number;
  contentType: string;
  reader: ByteReader;
}

/** Copies from a queue of chunks into the caller's views: one copy per chunk. */
function chunkReader(next: () => Promise<Uint8Array | null>, cancel: () => void): ByteReader {
  let rest: Uint8Array | null = null;
  return {
    async readInto(view) {
      if (!rest || rest.byteLength === 0) {
        rest = await next();
        if (!rest) return view.subarray(0, 0);
      }
      const n = Math.min(rest.byteLength, view.byteLength);
      view.set(rest.subarray(0, n));
      rest = rest.subarray(n);
      return view.subarray(0, n);
    },
    transfers: false,
    cancel,
  };
}

async function requestWithFetch(
  url: URL,
  options: FetchOptions & { headers?: Record<string, string> },
): Promise<HttpResponse> {
  const response = await fetch(url, { signal: options.signal, cache: "no-store", headers: options.headers });
  if (!response.body) throw new StreamError("E_HTTP_STATUS", `HTTP ${response.status}: no body`, 1);
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    reader: byteReader(response.body),
  };
}

/**
 * Node: `node:http` directly. undici's fetch body costs an extra pass per chunk (and its BYOB
 * reader runs at ~30 MB/s here), while an IncomingMessage hands over the socket's chunks as is.
 */
async function requestWithNodeHttp(
  url: URL,
  options: FetchOptions & { headers?: Record<string, string> },
): Promise<HttpResponse> {
  // A variable specifier keeps bundlers from pulling node:http into browser builds.
  const specifier = url.protocol === "https:" ? "node:https" : "node:http";
  const http = (await import(/* @vite-ignore */ specifier)) as typeof import("node:http");
  return new Promise((resolve, reject) => {
    const req = http.get(url, { signal: options.signal, headers: options.headers }, (res) => {
      resolve({
        status: res.statusCode ?? 0,
        contentType: String(res.headers["content-type"] ?? ""),
        reader: streamReader(res),
      });
    });
    req.on("error", reject);
  });
}

/** Most bytes queued from a Node stream before it is paused (backpressure to TCP). */
const NODE_QUEUE_BYTE_LENGTH = 4 * 1024 * 1024;

/**
 * Reads a Node stream through its 'data' events (its async iterator costs ~3x more per chunk
 * here) into the caller's views: each read copies as many queued chunks as fit, one copy each.
 */
function streamReader(res: import("node:http").IncomingMessage): ByteReader {
  const queue: Uint8Array[] = [];
  let queuedByteLength = 0;
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  res.on("data", (chunk: Uint8Array) => {
    queue.push(chunk);
    queuedByteLength += chunk.byteLength;
    if (queuedByteLength > NODE_QUEUE_BYTE_LENGTH) res.pause();
    notify();
  });
  res.on("end", () => {
    ended = true;
    notify();
  });
  const onFailure = (err: Error) => {
    failure = err;
    notify();
  };
  res.on("error", onFailure);
  res.on("aborted", () => onFailure(new Error("the response was aborted")));
  res.on("close", () => {
    if (!res.complete) onFailure(new Error("the connection closed before the body ended"));
  });
  return {
    async readInto(view) {
      while (queue.length === 0 && !ended) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      let n = 0;
      while (queue.length > 0 && n < view.byteLength) {
        const chunk = queue[0] as Uint8Array;
        const take = Math.min(chunk.byteLength, view.byteLength - n);
        view.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), n);
        n += take;
        if (take === chunk.byteLength) queue.shift();
        else queue[0] = chunk.subarray(take);
        queuedByteLength -= take;
      }
      if (queuedByteLength <= NODE_QUEUE_BYTE_LENGTH && res.isPaused()) res.resume();
      return view.subarray(0, n);
    },
    transfers: false,
    cancel: () => res.destroy(),
  };
}

function byteReader(body: ReadableStream<Uint8Array>): ByteReader {
  try {
    const reader = body.getReader({ mode: "byob" });
    return {
      async readInto(view) {
        // The view's buffer is transferred; `value` is the same memory on a new ArrayBuffer.
        const { value } = await reader.read(view as Uint8Array<ArrayBuffer>);
        return value ?? new Uint8Array(0);
      },
      transfers: true,
      cancel: () => void reader.cancel().catch(() => {}),
    };
  } catch {
    // No byte stream (an older runtime): copy from the default reader's chunks.
    const reader = body.getReader();
    return chunkReader(
      async () => {
        const { value, done } = await reader.read();
        return done || !value ? null : value;
      },
      () => void reader.cancel().catch(() => {}),
    );
  }
}

async function readExactly(reader: ByteReader, byteLength: number, what: string): Promise<Uint8Array> {
  let buffer: ArrayBufferLike = new ArrayBuffer(byteLength);
  let offset = 0;
  while (offset < byteLength) {
    const filled = await reader.readInto(new Uint8Array(buffer, offset, byteLength - offset));
    if (filled.byteLength === 0) {
      throw new StreamError(
        "E_INCOMPLETE",
        `Stream ended early: expected ${byteLength} bytes of ${what}, got ${offset}`,
      );
    }
    buffer = filled.buffer;
    offset += filled.byteLength;
  }
  return new Uint8Array(buffer, 0, byteLength);
}

/** `ws://host/path` -> `http://host/path?name=...` with the request as query parameters. */
export function httpRequestUrl(url: string | URL, name: string, options: FetchOptions): URL {
  const u = new URL(String(url));
  if (u.protocol === "ws:") u.protocol = "http:";
  else if (u.protocol === "wss:") u.protocol = "https:";
  u.searchParams.set("name", name);
  if (options.params) u.searchParams.set("params", JSON.stringify(options.params));
  if (options.range) {
    u.searchParams.set("start", String(options.range[0]));
    u.searchParams.set("end", String(options.range[1]));
  }
  const checksum = checksumAlgorithmOf(options.verify);
  if (checksum !== "none") u.searchParams.set("checksum", checksum);
  if (options.resumeFrom) {
    u.searchParams.set("resume", String(options.resumeFrom.receivedByteLength));
    u.searchParams.set("generation", String(options.resumeFrom.generation));
  }
  return u;
}

/**
 * Fetches one array over HTTP.
 * @throws {@link StreamError} with the server's code, or E_TOO_LARGE, E_TARGET_MISMATCH,
 *   E_CHECKSUM, E_INCOMPLETE, E_PROTOCOL, E_HTTP_STATUS.
 * @throws the signal's reason when aborted.
 */
export async function fetchArrayHttp<T extends TypedArray = TypedArray>(
  url: string | URL,
  name: string,
  options: FetchOptions<T> & { headers?: Record<string, string> } = {},
): Promise<ArrayResult<T>> {
  let response: HttpResponse;
  try {
    const requestUrl = httpRequestUrl(url, name, options as FetchOptions);
    response = await (IS_NODE ? requestWithNodeHttp : requestWithFetch)(requestUrl, options as FetchOptions);
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (err instanceof StreamError) throw err;
    throw new StreamError("E_CONNECTION_CLOSED", `Could not connect: ${(err as Error).message}`, 1, { cause: err });
  }
  const { contentType, reader } = response;
  if (!contentType.startsWith(HTTP_CONTENT_TYPE)) {
    reader.cancel();
    throw new StreamError(
      "E_HTTP_STATUS",
      `HTTP ${response.status} with content-type ${JSON.stringify(contentType)}: not an arraywire stream (expected ${HTTP_CONTENT_TYPE}; is the server's handleRequest/middleware mounted at this path?)`,
      1,
    );
  }
  try {
    if (response.status !== 200) throw await errorFromBody(response.status, reader);
    return (await readStream(reader, name, options as FetchOptions)) as ArrayResult<T>;
  } catch (err) {
    reader.cancel();
    if (options.signal?.aborted) throw options.signal.reason;
    if (err instanceof StreamError || err instanceof ProtocolError) throw toStreamError(err, 1);
    // fetch's own failures (a cut body is a TypeError "terminated"): the connection went away.
    throw new StreamError("E_CONNECTION_CLOSED", `Connection lost: ${(err as Error).message}`, 1, { cause: err });
  }
}

/** The server's ERROR body as a StreamError (or a generic one when the body is not an ERROR). */
async function errorFromBody(status: number, reader: ByteReader): Promise<StreamError> {
  let buffer: ArrayBufferLike = new ArrayBuffer(DEFAULT_MAX_CONTROL_BYTES);
  let offset = 0;
  while (offset < buffer.byteLength) {
    const filled = await reader.readInto(new Uint8Array(buffer, offset));
    buffer = filled.buffer;
    if (filled.byteLength === 0) break;
    offset += filled.byteLength;
  }
  try {
    const message = decodeMessage(new Uint8Array(buffer, 0, offset));
    if (message.type === "ERROR") return new StreamError(message.code, message.message, 1);
  } catch {
    // Not an arraywire body (a proxy's error page, say): report the status alone.
  }
  return new StreamError("E_HTTP_STATUS", `HTTP ${status}: the server did not send an arraywire error`, 1);
}

async function readStream(reader: ByteReader, name: string, options: FetchOptions): Promise<ArrayResult> {
  const progress = new ProgressReporter(options.onProgress, options.progressIntervalMs);
  const fixed = await readExactly(reader, HEADER_FIXED_BYTE_LENGTH, "the header");
  const fullLength = headerByteLength(fixed, DEFAULT_MAX_CONTROL_BYTES);
  const headerBytes = new Uint8Array(fullLength);
  headerBytes.set(fixed);
  headerBytes.set(await readExactly(reader, fullLength - fixed.byteLength, "the header"), fixed.byteLength);
  const header = decodeMessage(headerBytes, { maxTotalByteLength: Number.MAX_SAFE_INTEGER });
  if (header.type !== "ARRAY_HEADER") {
    throw new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${header.type}: expected ARRAY_HEADER`);
  }
  checkHeader(header, name, options);
  const rangeByteLength = header.rangeByteEnd - header.rangeByteStart;
  const { resumeFrom } = options;
  const assembler = new Assembler(header, resumeFrom?.array ?? options.into, resumeFrom?.receivedByteLength);
  options.onAssembler?.(assembler);
  progress.report(assembler.receivedByteLength, rangeByteLength);
  // Reads go straight into the target, unless they would transfer a caller's buffer.
  const direct = assembler.ownsTarget || !reader.transfers;
  let scratch: Uint8Array = new Uint8Array(direct ? 0 : Math.min(SCRATCH_BYTE_LENGTH, rangeByteLength));
  while (assembler.receivedByteLength < rangeByteLength) {
    const remaining = rangeByteLength - assembler.receivedByteLength;
    if (direct) {
      const window = reader.transfers ? MAX_READ_BYTE_LENGTH : MAX_COPY_BYTE_LENGTH;
      const filled = await reader.readInto(assembler.nextWindow(Math.min(remaining, window)));
      if (filled.byteLength === 0) break;
      assembler.commitWindow(filled);
    } else {
      const filled = await reader.readInto(scratch.subarray(0, Math.min(scratch.byteLength, remaining)));
      if (filled.byteLength === 0) break;
      assembler.write(header.rangeByteStart + assembler.receivedByteLength, filled);
      scratch = new Uint8Array(filled.buffer, 0, scratch.byteLength);
    }
    progress.report(assembler.receivedByteLength, rangeByteLength);
  }
  if (assembler.receivedByteLength < rangeByteLength) {
    throw new StreamError(
      "E_INCOMPLETE",
      `Stream ended early: expected ${rangeByteLength} bytes, received ${assembler.receivedByteLength}`,
      1,
    );
  }
  const end = decodeMessage(await readExactly(reader, END_BYTE_LENGTH, "the trailer"));
  if (end.type !== "END") throw new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${end.type}: expected END`);
  const result = assembler.finish(end);
  if ((await reader.readInto(new Uint8Array(1))).byteLength > 0) {
    throw new ProtocolError("E_BAD_LENGTH", "Invalid body: bytes past the END trailer");
  }
  progress.report(rangeByteLength, rangeByteLength, true);
  return result;
}
