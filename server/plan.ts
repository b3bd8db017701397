/**
 * Turns a request into a stream plan: which array, which bytes, which header. Shared by the
 * WebSocket and HTTP transports so that both validate requests the same way.
 */
import {
  type ArrayHeaderMessage,
  DEFAULT_MAX_CONTROL_BYTES,
  elementRangeProblem,
  encodeArrayHeader,
  isWireErrorCode,
  ProtocolError,
  type RequestMessage,
  StreamError,
} from "../shared/index.ts";
import type { Registry } from "./registry.ts";
import { checkResolved } from "./sources.ts";

/** Chunk size limits a transport applies to the request's wish. */
export interface ChunkLimits {
  chunkByteLength: number;
  minChunkByteLength: number;
  maxChunkByteLength: number;
}

/** Everything a transport needs to send one stream. */
export interface StreamPlan {
  /** The ARRAY_HEADER to send first. */
  header: Omit<ArrayHeaderMessage, "type">;
  /** The header, encoded. */
  headerBytes: Uint8Array;
  /** All bytes of the source array (a view of its memory). */
  bytes: Uint8Array;
  chunkByteLength: number;
  /**
   * Computes the range's checksum (the algorithm in header.checksumAlgorithm) when the stream has
   * sent its last byte, or null for none. Lazy, so a request cancelled or cut early costs no hashing.
   */
  checksum: (() => Promise<number>) | null;
}

/**
 * Resolves `request` against the registry.
 * @throws {@link StreamError} E_UNKNOWN_NAME, E_GONE, E_BAD_REQUEST (or the source's own code).
 */
export async function planStream(
  request: RequestMessage,
  registry: Registry,
  limits: ChunkLimits,
): Promise<StreamPlan> {
  const { streamId, name } = request;
  const entry = registry.get(name);
  if (!entry && request.expectedGeneration !== null) {
    throw new StreamError(
      "E_GONE",
      `Array ${JSON.stringify(name)} is no longer published; restart the transfer`,
      streamId,
    );
  }
  if (!entry)
    throw new StreamError("E_UNKNOWN_NAME", `Unknown array: ${JSON.stringify(name)} is not published`, streamId);
  if (request.expectedGeneration !== null && request.expectedGeneration !== entry.generation) {
    throw new StreamError(
      "E_GONE",
      `Array ${JSON.stringify(name)} changed: expected generation ${request.expectedGeneration}, got ${entry.generation}; restart the transfer`,
      streamId,
    );
  }
  const resolved = await entry.resolve(request.params);
  const { dtype, shape } = checkResolved(resolved);
  const { array } = resolved;
  const itemsize = array.BYTES_PER_ELEMENT;
  const elementStart = request.range?.elementStart ?? 0;
  const elementEnd = request.range?.elementEnd ?? array.length;
  // The one range check of both transports (the decoders checked start <= end already).
  const rangeProblem = elementRangeProblem(elementStart, elementEnd, array.length);
  if (rangeProblem !== null) throw new StreamError("E_BAD_RANGE", rangeProblem, streamId);
  const rangeByteStart = elementStart * itemsize;
  const rangeByteEnd = elementEnd * itemsize;
  if (request.resumeByteOffset > rangeByteEnd - rangeByteStart) {
    throw new StreamError(
      "E_BAD_REQUEST",
      `Invalid resumeByteOffset: expected at most ${rangeByteEnd - rangeByteStart}, got ${request.resumeByteOffset}`,
      streamId,
    );
  }
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  const header: StreamPlan["header"] = {
    streamId,
    dtype,
    shape,
    totalByteLength: array.byteLength,
    rangeByteStart,
    rangeByteEnd,
    firstByteOffset: rangeByteStart + request.resumeByteOffset,
    generation: entry.generation,
    checksumAlgorithm: request.checksum,
    name,
    meta: resolved.meta ?? null,
  };
  // Throws RangeError for a shape over MAX_NDIM or a name over MAX_NAME_BYTES: a server bug,
  // reported to the client as E_INTERNAL by the transport.
  const headerBytes = encodeArrayHeader(header);
  if (headerBytes.byteLength > DEFAULT_MAX_CONTROL_BYTES) {
    throw new RangeError(
      `Header of ${JSON.stringify(name)} too large: expected at most ${DEFAULT_MAX_CONTROL_BYTES} bytes (clients' default cap), got ${headerBytes.byteLength}; make meta smaller`,
    );
  }
  return {
    header,
    headerBytes,
    bytes,
    chunkByteLength: Math.min(
      limits.maxChunkByteLength,
      Math.max(limits.minChunkByteLength, request.chunkByteLength || limits.chunkByteLength),
    ),
    checksum:
      request.checksum === "none"
        ? null
        : () => entry.checksumOf(request.checksum, bytes, rangeByteStart, rangeByteEnd),
  };
}

/** What a transport tells the client about a failed request: a valid code and a message. */
export function errorReply(
  err: unknown,
  log: (message: string) => void,
  what: string,
): { code: string; message: string } {
  if ((err instanceof StreamError || err instanceof ProtocolError) && isWireErrorCode(err.code)) {
    return { code: err.code, message: err.message };
  }
  // A source's bug (or an invalid code): the details go to the server log, not to the client.
  log(`${what} failed: ${(err as Error)?.stack ?? err}`);
  return { code: "E_INTERNAL", message: "The array source failed; see the server log" };
}
