/**
 * The HTTP transport: `GET <path>?name=...` answers with one stream as the response body: the
 * ARRAY_HEADER message, the range's raw bytes, then the 32-byte END trailer. A browser reads it
 * with a BYOB reader straight into the target buffer (see client/http.ts). Request fields are
 * query parameters (query.ts) and go through the same validation and the same stream core
 * (stream.ts) as a WebSocket REQUEST.
 *
 * That body is one representation with a strong ETag, and `Range: bytes=a-b` selects bytes of it
 * (http-range.ts): 206 with the header's, the raw bytes' and the trailer's parts that fall in the
 * range; END's checksum covers the whole element range whatever bytes the Range asks for, so its
 * bytes are the same in every response. A request with `resume=` is another representation: it
 * gets no ETag, and a Range with it is refused.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { END_BYTE_LENGTH, encodeEnd, HTTP_CONTENT_TYPE, type RequestMessage } from "../shared/index.ts";
import { type ChunkEncoder, encoderFor } from "./chunk-encoder.ts";
import { addVary } from "./cors.ts";
import { chooseRange, ifRangeHolds, representationTag } from "./http-range.ts";
import { planStream, type StreamPlan, type StreamServices } from "./plan.ts";
import { requestFromQuery } from "./query.ts";
import { sendError } from "./refusals.ts";
import { ScratchPool } from "./scratch-pool.ts";
import { isPromiseLike, type OutgoingStream, startStream } from "./stream.ts";
import { rawFramePieces } from "./zstd-raw-frame.ts";

/** Waits for `drain` (or the end of the response); a reader that stalls longer than `timeoutMs` (0: never) is cut. */
function drainOrClose(res: ServerResponse, timeoutMs: number, services: StreamServices): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    const done = () => {
      clearTimeout(timer);
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            services.hooks.logPeer("stall", `cutting an HTTP stream whose reader did not drain for ${timeoutMs} ms`);
            res.destroy();
            done();
          }, timeoutMs)
        : undefined;
    res.on("drain", done);
    res.on("close", done);
  });
}

/** A header's value as one string (Node joins most repeated headers with ", " already). */
function oneHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}

/** What one response sends: its status and headers, and which bytes of each part of the body. */
interface BodyPlan {
  status: 200 | 206;
  headers: Record<string, string>;
  /** ARRAY_HEADER bytes [headerStart, headerEnd). */
  headerStart: number;
  headerEnd: number;
  /** Array bytes [rawStart, rawEnd) (offsets in the array). */
  rawStart: number;
  rawEnd: number;
  /** END bytes [trailerStart, trailerEnd) (0..32). */
  trailerStart: number;
  trailerEnd: number;
  /** END's byteLength field: the range's byte length, or what a resumed stream sends. */
  endByteLength: number;
}

function contentLength(body: BodyPlan): number {
  return body.headerEnd - body.headerStart + (body.rawEnd - body.rawStart) + (body.trailerEnd - body.trailerStart);
}

/** Body bytes [start, end) of the whole representation, as parts. */
function partOf(plan: StreamPlan, start: number, end: number): Omit<BodyPlan, "status" | "headers"> {
  const { rangeByteStart, rangeByteEnd } = plan.header;
  const h = plan.headerBytes.byteLength;
  const rawEnd = h + rangeByteEnd - rangeByteStart; // where END starts in the body
  const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);
  return {
    headerStart: clamp(start, 0, h),
    headerEnd: clamp(end, 0, h),
    rawStart: rangeByteStart + clamp(start, h, rawEnd) - h,
    rawEnd: rangeByteStart + clamp(end, h, rawEnd) - h,
    trailerStart: clamp(start, rawEnd, rawEnd + END_BYTE_LENGTH) - rawEnd,
    trailerEnd: clamp(end, rawEnd, rawEnd + END_BYTE_LENGTH) - rawEnd,
    endByteLength: rangeByteEnd - rangeByteStart,
  };
}

/**
 * The response for a planned request: 200 with the whole body, 206 with part of it, or null for
 * 416 (answered here).
 */
function chooseBody(
  req: IncomingMessage,
  res: ServerResponse,
  request: RequestMessage,
  plan: StreamPlan,
  resumed: boolean,
): BodyPlan | null {
  const { header, headerBytes } = plan;
  if (resumed) {
    // The resumed representation: header, the bytes from the resume point, END of those bytes.
    return {
      status: 200,
      headers: {},
      headerStart: 0,
      headerEnd: headerBytes.byteLength,
      rawStart: header.firstByteOffset,
      rawEnd: header.rangeByteEnd,
      trailerStart: 0,
      trailerEnd: END_BYTE_LENGTH,
      endByteLength: header.rangeByteEnd - header.firstByteOffset,
    };
  }
  const length = headerBytes.byteLength + header.rangeByteEnd - header.rangeByteStart + END_BYTE_LENGTH;
  const etag = representationTag(
    { name: request.name, params: request.params, range: request.range, checksum: request.checksum },
    header.generation,
  );
  const headers = { etag, "accept-ranges": "bytes" };
  const choice = ifRangeHolds(oneHeader(req.headers["if-range"]), etag)
    ? chooseRange(req.headers.range, length)
    : ({ kind: "full" } as const);
  if (choice.kind === "unsatisfiable") {
    sendError(
      res,
      "E_BAD_RANGE",
      `Range not satisfiable: expected byte positions below ${length}, the body's length`,
      416,
      {
        ...headers,
        "content-range": `bytes */${length}`,
      },
    );
    return null;
  }
  if (choice.kind === "full") return { status: 200, headers, ...partOf(plan, 0, length) };
  return {
    status: 206,
    headers: { ...headers, "content-range": `bytes ${choice.start}-${choice.end - 1}/${length}` },
    ...partOf(plan, choice.start, choice.end),
  };
}

/**
 * Serves one GET: header, range bytes (views of the source, or pooled buffers a generator
 * filled, written with `drain` backpressure), END, or the part a Range asks for. A client that
 * goes away stops the stream and gives its array back. `isClosing` is asked once the source is
 * open: a server that began closing meanwhile answers 503 E_SHUTDOWN instead of streaming.
 */
export async function serveHttp(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  services: StreamServices,
  isClosing: () => boolean,
): Promise<void> {
  const { hooks, settings } = services;
  let request: RequestMessage;
  try {
    request = requestFromQuery(query);
  } catch (err) {
    const { code, message } = hooks.errorReply(err, "HTTP request");
    sendError(res, code, message);
    return;
  }
  const resumed = query.has("resume");
  if (resumed && req.headers.range !== undefined) {
    sendError(
      res,
      "E_BAD_REQUEST",
      "Invalid request: expected either a Range header or a resume parameter, got both (resume with Range: bytes=<header length + bytes held>- and If-Range)",
    );
    return;
  }
  const controller = new AbortController();
  const onClose = () => controller.abort();
  res.once("close", onClose);
  // One chunk is written at a time (each write waits for drain), so two buffers cover it.
  const pool = new ScratchPool(2 * settings.maxChunkByteLength);
  let stream: OutgoingStream | null = null;
  let body: BodyPlan | null;
  try {
    const plan = await planStream(request, services, controller.signal);
    body = chooseBody(req, res, request, plan, resumed);
    if (body === null) {
      plan.lease.release(); // 416: nothing to send
      return;
    }
    // The stream reads [rawStart, rawEnd) and hashes (prefix included) only when END is sent.
    const sendsEnd = body.trailerEnd > body.trailerStart;
    const streamPlan: StreamPlan = {
      ...plan,
      header: {
        ...plan.header,
        firstByteOffset: body.rawStart,
        checksumAlgorithm: sendsEnd ? plan.header.checksumAlgorithm : "none",
      },
    };
    stream = await startStream(streamPlan, 0, services, pool, controller.signal, body.rawEnd);
  } catch (err) {
    res.off("close", onClose);
    if (res.destroyed) return;
    const { code, message } = hooks.errorReply(err, `source for ${JSON.stringify(request.name)}`);
    sendError(res, code, message);
    return;
  }
  // Content-Encoding: zstd when asked for (?compress=zstd) and the client decodes it (a browser's
  // Accept-Encoding): the body decodes to exactly the identity body, so readers need no change.
  // A request with a Range header gets the identity body (200 or 206): byte ranges always count
  // bytes of the identity representation, the only one with an ETag and Accept-Ranges.
  let encoder: ChunkEncoder | null = null;
  const asksZstd = request.codecs?.includes("zstd") === true;
  if (asksZstd) addVary(res, "Accept-Encoding"); // beside CORS's Origin
  if (
    asksZstd &&
    req.headers.range === undefined &&
    settings.compression.enabled &&
    acceptsZstd(req.headers["accept-encoding"])
  ) {
    try {
      encoder = await encoderFor(settings.compression, settings.log);
    } catch (err) {
      settings.log(
        `compression unavailable, sending an identity body: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  if (encoder !== null) {
    // The encoded body is another representation: the identity body's validator and ranges are not its.
    const { etag: _etag, "accept-ranges": _ranges, ...rest } = body.headers;
    body.headers = rest;
  }
  try {
    await sendBody(res, stream, body, pool, services, isClosing, encoder);
  } catch (err) {
    // A source that failed mid-body: the body cannot carry an ERROR any more. Cut it; the client
    // sees E_CONNECTION_CLOSED or E_INCOMPLETE (both retryable with resume).
    hooks.errorReply(err, `source for ${JSON.stringify(request.name)}`);
    res.destroy();
  } finally {
    stream.close();
    res.off("close", onClose);
  }
}

/** True when an Accept-Encoding header lists zstd with a q-value above 0. */
export function acceptsZstd(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(",") : (header ?? "");
  return value.split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding?.trim() !== "zstd") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Writes `bytes` (or its raw-block zstd frame when `zstd`), calling `written` once all of it is written. */
function writeFramed(res: ServerResponse, bytes: Uint8Array, zstd: boolean, written?: () => void): boolean {
  if (!zstd) return res.write(bytes, written);
  const pieces = rawFramePieces(bytes);
  res.cork();
  let more = true;
  for (let i = 0; i < pieces.length; i++) {
    more = res.write(pieces[i] as Uint8Array, i === pieces.length - 1 ? written : undefined);
  }
  process.nextTick(() => res.uncork());
  return more;
}

async function sendBody(
  res: ServerResponse,
  stream: OutgoingStream,
  body: BodyPlan,
  pool: ScratchPool,
  services: StreamServices,
  isClosing: () => boolean,
  encoder: ChunkEncoder | null,
): Promise<void> {
  if (res.destroyed) return;
  if (isClosing()) {
    sendError(res, "E_SHUTDOWN", "Server is shutting down");
    return;
  }
  const { header, headerBytes } = stream.plan;
  const zstd = encoder !== null;
  res.writeHead(body.status, {
    ...body.headers,
    "content-type": HTTP_CONTENT_TYPE,
    // A zstd body's length is unknown before it is written: chunked.
    ...(zstd ? { "content-encoding": "zstd" } : { "content-length": contentLength(body) }),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    // nginx: never spool this response to disk, even where proxy_buffering is on (docs/DEPLOY.md §4).
    "x-accel-buffering": "no",
  });
  if (body.headerEnd > body.headerStart) writeFramed(res, headerBytes.subarray(body.headerStart, body.headerEnd), zstd);
  while (!stream.done && !res.destroyed) {
    const read = stream.readChunk(pool);
    const chunk = isPromiseLike(read) ? await read : read;
    const { scratch } = chunk;
    if (res.destroyed) {
      if (scratch) pool.give(scratch);
      return;
    }
    const give = scratch ? () => pool.give(scratch) : undefined;
    let encoded: Uint8Array | null = null;
    try {
      if (encoder?.async) {
        encoded = await encoder.encodePlainAsync(chunk.payload); // off the main thread
        if (res.destroyed) {
          give?.();
          return;
        }
      } else encoded = encoder?.encodePlain(chunk.payload) ?? null;
    } catch (err) {
      services.settings.log(
        `compression failed, sending raw frames: ${err instanceof Error ? err.message : String(err)}`,
      );
      encoder = null; // the body stays zstd: later chunks go as raw-block frames
    }
    let more: boolean;
    if (encoded !== null) {
      give?.();
      more = res.write(encoded);
    } else {
      more = writeFramed(res, chunk.payload, zstd, give);
    }
    if (!more && !res.destroyed) await drainOrClose(res, services.settings.stallTimeoutMs, services);
  }
  if (res.destroyed) return;
  if (body.trailerEnd === body.trailerStart) {
    res.end();
    return;
  }
  const checksum = stream.checksum();
  const value = checksum === null ? 0 : await checksum;
  if (res.destroyed) return;
  const end = encodeEnd({
    streamId: header.streamId,
    byteLength: body.endByteLength,
    checksumAlgorithm: header.checksumAlgorithm, // the requested one: END is sent
    checksum: value,
  });
  const trailer = end.subarray(body.trailerStart, body.trailerEnd);
  if (zstd) {
    writeFramed(res, trailer, true);
    res.end();
  } else {
    res.end(trailer);
  }
}
