/**
 * The HTTP transport: `GET <path>?name=...` answers with one stream as the response body:
 * the ARRAY_HEADER message, the range's raw bytes, then the 32-byte END trailer. A browser reads
 * it with a BYOB reader straight into the target buffer (see client/http.ts). Request fields are
 * query parameters and go through the same validation as a WebSocket REQUEST.
 */
import type { ServerResponse } from "node:http";
import { END_BYTE_LENGTH, encodeEnd, HTTP_CONTENT_TYPE } from "../shared/index.ts";
import { type ChunkLimits, errorReply, planStream } from "./plan.ts";
import { requestFromQuery } from "./query.ts";
import { sendError } from "./refusals.ts";
import type { Registry } from "./registry.ts";

/** Waits for `drain` (or the end of the response); a reader that stalls longer than `timeoutMs` (0: never) is cut. */
function drainOrClose(res: ServerResponse, timeoutMs: number, log: (message: string) => void): Promise<void> {
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
            log(`cutting an HTTP stream whose reader did not drain for ${timeoutMs} ms`);
            res.destroy();
            done();
          }, timeoutMs)
        : undefined;
    res.on("drain", done);
    res.on("close", done);
  });
}

/**
 * Serves one GET: header, range bytes as views of the source (written with `drain`
 * backpressure, never copied), END. A client that goes away stops the stream.
 */
export async function serveHttp(
  res: ServerResponse,
  query: URLSearchParams,
  registry: Registry,
  limits: ChunkLimits,
  log: (message: string) => void,
  stallTimeoutMs = 0,
): Promise<void> {
  let plan: Awaited<ReturnType<typeof planStream>>;
  try {
    plan = await planStream(requestFromQuery(query), registry, limits);
  } catch (err) {
    const { code, message } = errorReply(err, log, "http stream");
    sendError(res, code, message);
    return;
  }
  const { header, headerBytes, bytes, chunkByteLength } = plan;
  const sentByteLength = header.rangeByteEnd - header.firstByteOffset;
  res.writeHead(200, {
    "content-type": HTTP_CONTENT_TYPE,
    "content-length": headerBytes.byteLength + sentByteLength + END_BYTE_LENGTH,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  // The response may have closed while the source resolved: then 'close' has fired already.
  let gone = res.destroyed;
  res.once("close", () => {
    gone = true;
  });
  res.write(headerBytes);
  for (let offset = header.firstByteOffset; offset < header.rangeByteEnd && !gone; ) {
    const end = Math.min(offset + chunkByteLength, header.rangeByteEnd);
    if (!res.write(bytes.subarray(offset, end)) && !gone) await drainOrClose(res, stallTimeoutMs, log);
    offset = end;
  }
  if (gone) return;
  let checksum: number | null = null;
  try {
    checksum = plan.checksum === null ? null : await plan.checksum();
  } catch (err) {
    log(`checksum failed: ${err}`);
    res.destroy(); // the client sees a body without its trailer: E_CONNECTION_CLOSED or E_INCOMPLETE
    return;
  }
  res.end(
    encodeEnd({
      streamId: header.streamId,
      byteLength: sentByteLength,
      checksumAlgorithm: header.checksumAlgorithm,
      checksum: checksum ?? 0,
    }),
  );
}
