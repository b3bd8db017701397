/**
 * Turns a request into a stream plan: which array, which bytes, which header. Shared by the
 * WebSocket and HTTP transports so that both validate requests the same way.
 */
import {
  type ArrayHeaderMessage,
  DEFAULT_MAX_CONTROL_BYTES,
  DTYPE_BYTES_PER_ELEMENT,
  elementRangeProblem,
  encodeArrayHeader,
  type JsonObject,
  type RequestMessage,
  StreamError,
  type TypedArray,
} from "../shared/index.ts";
import { versionGeneration } from "./generation.ts";
import type { Hooks } from "./hooks.ts";
import type { LiveArray } from "./live.ts";
import type { OpenSources, SourceLease } from "./open-sources.ts";
import type { ServerSettings } from "./options.ts";
import type { Entry, Registry } from "./registry.ts";
import type { ArrayDescription } from "./sources.ts";
import type { UploadStore } from "./upload-store.ts";

/** What both transports need to open streams (and the WebSocket one to take uploads). */
export interface StreamServices {
  readonly registry: Registry;
  readonly sources: OpenSources;
  readonly hooks: Hooks;
  readonly settings: ServerSettings;
  /** The server's uploads; null when uploads are off. */
  readonly uploads: UploadStore | null;
  /** Publishes a verified upload under its name (ArrayServer.publish). */
  publishUpload(name: string, array: TypedArray, shape: number[], meta: JsonObject | null): void;
}

/** Everything a transport needs to send one stream. */
export interface StreamPlan {
  /** The ARRAY_HEADER to send first. */
  header: Omit<ArrayHeaderMessage, "type">;
  /** The header, encoded. */
  headerBytes: Uint8Array;
  /** The opened array; released by the stream when it ends. */
  lease: SourceLease;
  chunkByteLength: number;
  /**
   * A subscription (REQUEST_FLAG_SUBSCRIBE): the live array it follows (null for a fixed array,
   * whose range never grows), and the byte end it asked for (its RANGE end, or the capacity).
   */
  subscription: { live: LiveArray | null; requestedByteEnd: number } | null;
}

/** Generations of opened arrays that name a version, computed once per open array. */
const versionGenerations = new WeakMap<ArrayDescription, number>();

/** Resolves with `promise`, or rejects with the signal's reason once `signal` aborts. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/**
 * The generation of an opened array: the publish's (a typed array: its version or its content
 * hash, which may still be computing), else the array's own version's, else the publish's id (a
 * live array's too: its content grows, so it names no version).
 */
export function generationOf(
  entry: Entry,
  description: ArrayDescription,
  signal: AbortSignal,
): number | Promise<number> {
  if (entry.generation !== null) return unlessAborted(entry.generation, signal);
  if (description.version === null) return entry.id;
  let generation = versionGenerations.get(description);
  if (generation === undefined) {
    generation = versionGeneration(description, description.version);
    versionGenerations.set(description, generation);
  }
  return generation;
}

/**
 * Resolves `request`: looks the name up, opens (or shares) its array, finds its generation (a
 * published typed array's may still be hashing: the request waits for it) and checks the
 * expected generation, the range and the resume point against it. Aborting `signal` gives the
 * array back. A live array is not opened through the shared sources: each stream gets a
 * snapshot of its current length, whose reads are views of its memory.
 * @throws {@link StreamError} E_UNKNOWN_NAME, E_GONE, E_BAD_RANGE, E_BAD_REQUEST, E_BUSY (or the
 *   source's own code); a TypeError or RangeError for a source's bug (E_INTERNAL for the client).
 */
export async function planStream(
  request: RequestMessage,
  services: StreamServices,
  signal: AbortSignal,
): Promise<StreamPlan> {
  const { streamId, name } = request;
  if (request.headerOnly && request.subscribe) {
    throw new StreamError(
      "E_BAD_REQUEST",
      "Invalid REQUEST: HEADER_ONLY and SUBSCRIBE cannot be set together",
      streamId,
    );
  }
  const entry = services.registry.get(name);
  const resuming = request.expectedGeneration !== null;
  if (!entry && resuming) {
    throw new StreamError(
      "E_GONE",
      `Array ${JSON.stringify(name)} is no longer published; restart the transfer`,
      streamId,
    );
  }
  if (!entry)
    throw new StreamError("E_UNKNOWN_NAME", `Unknown array: ${JSON.stringify(name)} is not published`, streamId);
  let lease: SourceLease;
  try {
    lease = entry.live
      ? entry.live.lease()
      : await services.sources.acquire(entry.id, name, entry.source, request.params, signal);
  } catch (err) {
    // A name under publishDirectory whose file went away: what a resume of it held is gone.
    if (resuming && err instanceof StreamError && err.code === "E_UNKNOWN_NAME") {
      throw new StreamError("E_GONE", `${err.message}; restart the transfer`, streamId, { cause: err });
    }
    throw err;
  }
  try {
    // A typed array's (its version or content hash), else the opened array's own version's
    // (a file source names its content), else the publish's per-process id (a live array's).
    const found = generationOf(entry, lease.description, signal);
    const generation = typeof found === "number" ? found : await found;
    if (resuming && request.expectedGeneration !== generation) {
      throw new StreamError(
        "E_GONE",
        `Array ${JSON.stringify(name)} changed: expected generation ${request.expectedGeneration}, got ${generation}; restart the transfer`,
        streamId,
      );
    }
    return planWith(request, lease, generation, services.settings, entry.live);
  } catch (err) {
    lease.release();
    throw err;
  }
}

function planWith(
  request: RequestMessage,
  lease: SourceLease,
  generation: number,
  settings: ServerSettings,
  live: LiveArray | null,
): StreamPlan {
  const { streamId, name } = request;
  const { dtype, shape, totalByteLength, meta } = lease.description;
  const itemsize = DTYPE_BYTES_PER_ELEMENT[dtype];
  const elementCount = totalByteLength / itemsize;
  // A subscription's range may end past what the array holds now, up to its capacity.
  const subscribe = request.subscribe === true;
  const capacity = subscribe && live !== null ? live.maxByteLength / itemsize : elementCount;
  const elementStart = request.range?.elementStart ?? 0;
  const elementEnd = request.range?.elementEnd ?? capacity;
  // The one range check of both transports (the decoders checked start <= end already).
  const rangeProblem = elementRangeProblem(elementStart, elementEnd, capacity);
  if (rangeProblem !== null) throw new StreamError("E_BAD_RANGE", rangeProblem, streamId);
  if (elementStart > elementCount) {
    throw new StreamError(
      "E_BAD_RANGE",
      `Invalid element range: a subscription starts at most at the array's length now, ${elementCount}; got start ${elementStart}`,
      streamId,
    );
  }
  const rangeByteStart = elementStart * itemsize;
  const rangeByteEnd = Math.min(elementEnd, elementCount) * itemsize;
  if (request.resumeByteOffset > rangeByteEnd - rangeByteStart) {
    throw new StreamError(
      "E_BAD_REQUEST",
      `Invalid resumeByteOffset: expected at most ${rangeByteEnd - rangeByteStart}, got ${request.resumeByteOffset}`,
      streamId,
    );
  }
  const header: StreamPlan["header"] = {
    streamId,
    dtype,
    shape,
    totalByteLength,
    rangeByteStart,
    rangeByteEnd,
    firstByteOffset: rangeByteStart + request.resumeByteOffset,
    generation,
    checksumAlgorithm: request.checksum,
    name,
    meta,
  };
  // A source's meta that makes the header too large is the source's bug: E_INTERNAL.
  const headerBytes = encodeArrayHeader(header);
  if (headerBytes.byteLength > DEFAULT_MAX_CONTROL_BYTES) {
    throw new RangeError(
      `Header of ${JSON.stringify(name)} too large: expected at most ${DEFAULT_MAX_CONTROL_BYTES} bytes (clients' default cap), got ${headerBytes.byteLength}; make meta smaller`,
    );
  }
  return {
    header,
    headerBytes,
    lease,
    chunkByteLength: Math.min(
      settings.maxChunkByteLength,
      Math.max(settings.minChunkByteLength, request.chunkByteLength || settings.chunkByteLength),
    ),
    subscription: subscribe ? { live, requestedByteEnd: elementEnd * itemsize } : null,
  };
}
