/**
 * The HTTP transport: `GET <path>?name=...` answers with one stream as the response body: the
 * ARRAY_HEADER message, the range's raw bytes, then the 32-byte END trailer. A browser reads it
 * with a BYOB reader straight into the target buffer (see client/http.ts). Request fields are
 * query parameters (query.ts) and go through the same validation and the same stream core
 * (stream.ts) as a WebSocket REQUEST.
 */
import type { ServerResponse } from "node:http";
import { END_BYTE_LENGTH, encodeEnd, HTTP_CONTENT_TYPE, type RequestMessage } from "../shared/index.ts";
import { type ChunkEncoder, encoderFor } from "./chunk-encoder.ts";
import type { StreamServices } from "./plan.ts";
import { requestFromQuery } from "./query.ts";
import { sendError } from "./refusals.ts";
import { ScratchPool } from "./scratch-pool.ts";
import { isPromiseLike, type OutgoingStream, openStream } from "./stream.ts";
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

/**
 * Serves one GET: header, range bytes (views of the source, or pooled buffers a generator
 * filled, written with `drain` backpressure), END. A client that goes away stops the stream and
 * gives its array back. `isClosing` is asked once the source is open: a server that began
 * closing meanwhile answers 503 E_SHUTDOWN instead of streaming.
 */
export async function serveHttp(
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
  const controller = new AbortController();
  const onClose = () => controller.abort();
  res.once("close", onClose);
  // One chunk is written at a time (each write waits for drain), so two buffers cover it.
  const pool = new ScratchPool(2 * settings.maxChunkByteLength);
  let stream: OutgoingStream;
  try {
    stream = await openStream(request, services, pool, controller.signal);
  } catch (err) {
    res.off("close", onClose);
    if (res.destroyed) return;
    const { code, message } = hooks.errorReply(err, `source for ${JSON.stringify(request.name)}`);
    sendError(res, code, message);
    return;
  }
  // Content-Encoding: zstd when asked for (?compress=zstd) and the client decodes it (a browser's
  // Accept-Encoding): the body decodes to exactly the identity body, so readers need no change.
  let encoder: ChunkEncoder | null = null;
  stream.chooser = null; // the per-chunk shuffle of the WebSocket transport has no place here
  if (
    request.codecs?.includes("zstd") &&
    settings.compression.enabled &&
    acceptsZstd(res.req?.headers["accept-encoding"])
  ) {
    try {
      encoder = await encoderFor(settings.compression);
    } catch (err) {
      settings.log(
        `compression unavailable, sending an identity body: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  try {
    await sendStream(res, stream, pool, services, isClosing, encoder);
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

async function sendStream(
  res: ServerResponse,
  stream: OutgoingStream,
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
  res.writeHead(200, {
    "content-type": HTTP_CONTENT_TYPE,
    ...(zstd
      ? { "content-encoding": "zstd", vary: "accept-encoding" } // length unknown: chunked
      : { "content-length": headerBytes.byteLength + stream.sentByteLength + END_BYTE_LENGTH }),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  writeFramed(res, headerBytes, zstd);
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
      encoded = encoder?.encodePlain(chunk.payload) ?? null;
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
  const checksum = stream.checksum();
  const value = checksum === null ? 0 : await checksum;
  if (res.destroyed) return;
  const end = encodeEnd({
    streamId: header.streamId,
    byteLength: stream.sentByteLength,
    checksumAlgorithm: header.checksumAlgorithm,
    checksum: value,
  });
  if (zstd) {
    writeFramed(res, end, true);
    res.end();
  } else {
    res.end(end);
  }
}
