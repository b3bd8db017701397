/**
 * uploadArray(): send a typed array (or an {@link UploadSource}, such as a file read piece by
 * piece) to a server that takes uploads (docs/PROTOCOL.md §16), over the WebSocket transport
 * (HTTP/1.1 fetch cannot stream a request body in Chromium). Each attempt is an UploadSender
 * (client/upload-sender.ts); with `resume`, a cut attempt is continued on a new connection from
 * the server's last byte, with the upload id the server gave.
 */
import {
  assertLittleEndianHost,
  type ChecksumAlgorithm,
  DTYPE_BYTES_PER_ELEMENT,
  DTYPES,
  type Dtype,
  dtypeOf,
  encodeName,
  isDtypeSupported,
  type JsonObject,
  MAX_NDIM,
  SUBPROTOCOL,
  type TypedArray,
} from "../shared/index.ts";
import { ArrayClient, openStreamOn } from "./connection.ts";
import type { ConnectOptions, ResumeOptions } from "./options.ts";
import {
  functionOption,
  integerOption,
  paramsOption,
  resolveConnectOptions,
  resolveEndpoint,
  resolveResume,
  shown,
  signalOption,
} from "./resolve-options.ts";
import { sleep } from "./resume.ts";
import {
  type UploadProgress,
  type UploadRequest,
  type UploadResult,
  UploadSender,
  type UploadSource,
} from "./upload-sender.ts";

export type { UploadProgress, UploadResult, UploadSource } from "./upload-sender.ts";

const MiB = 1024 * 1024;

/** Options of {@link uploadArray}. */
export interface UploadOptions extends ConnectOptions {
  /** n-d shape of a typed array; its product must equal the array's length. Defaults to [length]. */
  shape?: readonly number[];
  /** JSON the server keeps with the array (and sends in its header if it publishes it). */
  meta?: JsonObject;
  /** JSON for the server's onUpload hook (where to put it, whether to replace...). */
  params?: JsonObject;
  /** Called at most every `progressIntervalMs`, and once at the end. If it throws, the upload fails with its error. */
  onProgress?: (progress: UploadProgress) => void;
  /** Minimum time between progress calls, in ms. Defaults to 50. */
  progressIntervalMs?: number;
  /** Cancels the upload (CANCEL: the server keeps nothing); the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** The checksum the server verifies before it takes the array: "xxh32" (the default) or "crc32c". */
  checksum?: "xxh32" | "crc32c";
  /** Largest payload message to send, in bytes (the server's own cap applies too). Defaults to 1_048_576. */
  chunkByteLength?: number;
  /** Fail with E_TIMEOUT when the server sends nothing for this long. 0 turns it off. Defaults to 30_000 ms. */
  idleTimeoutMs?: number;
  /**
   * When an attempt fails in a way a new one can fix (E_CONNECTION_CLOSED, E_SHUTDOWN, E_TIMEOUT,
   * E_BUSY), reconnect with exponential backoff and continue from the server's last byte (the
   * upload id the server gave); E_GONE (the server no longer keeps it) starts over. Only with a
   * URL target. Defaults to off.
   */
  resume?: boolean | ResumeOptions;
}

function checkShape(shape: unknown, elementCount: number | null): number[] {
  if (!Array.isArray(shape) || shape.length > MAX_NDIM || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TypeError(`Invalid shape: expected at most ${MAX_NDIM} non-negative integers, got ${shown(shape)}`);
  }
  const product = (shape as number[]).reduce((a, b) => a * b, 1);
  if (elementCount !== null && product !== elementCount) {
    throw new RangeError(
      `Invalid shape: expected a product of ${elementCount} (the array's length), got [${shape.join(", ")}]`,
    );
  }
  return [...(shape as number[])];
}

/**
 * Validates an upload's data and options.
 * @throws {TypeError} / {RangeError} for a bad name, data, shape or option.
 */
export function resolveUploadOptions(name: unknown, data: unknown, options: UploadOptions): UploadRequest {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Invalid options: expected an object, got ${shown(options)}`);
  }
  encodeName(name, (message) => (typeof name === "string" ? new RangeError(message) : new TypeError(message)));
  let dtype: Dtype;
  let shape: number[];
  let read: UploadRequest["read"];
  if (ArrayBuffer.isView(data)) {
    dtype = dtypeOf(data); // TypeError for a DataView
    const array = data as TypedArray;
    shape = checkShape(options.shape ?? [array.length], array.length);
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    read = (byteOffset, byteLength) => bytes.subarray(byteOffset, byteOffset + byteLength);
  } else {
    const source = data as Partial<UploadSource> | null;
    if (source === null || typeof source !== "object" || typeof source.read !== "function") {
      throw new TypeError(
        `Invalid data: expected a typed array or an UploadSource { dtype, shape, read }, got ${shown(data)}`,
      );
    }
    if (!DTYPES.includes(source.dtype as Dtype)) {
      throw new TypeError(`Invalid data: UploadSource.dtype ${shown(source.dtype)} is not a dtype`);
    }
    if (options.shape !== undefined) throw new TypeError("Invalid shape: an UploadSource carries its own shape");
    dtype = source.dtype as Dtype;
    shape = checkShape(source.shape, null);
    read = source.read.bind(source);
  }
  if (!isDtypeSupported(dtype)) throw new TypeError(`Invalid data: this runtime has no array type for ${dtype}`);
  const byteLength = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES_PER_ELEMENT[dtype];
  if (!Number.isSafeInteger(byteLength))
    throw new RangeError(`Invalid shape: [${shape.join(", ")}] is over 2^53 - 1 bytes`);
  const checksum = options.checksum ?? "xxh32";
  if (checksum !== "xxh32" && checksum !== "crc32c") {
    throw new TypeError(`Invalid checksum: expected "xxh32" or "crc32c", got ${shown(checksum)}`);
  }
  return {
    name: name as string,
    dtype,
    shape,
    byteLength,
    read,
    meta: paramsOption(options.meta, "meta"),
    params: paramsOption(options.params),
    checksum: checksum as ChecksumAlgorithm,
    chunkByteLength: integerOption("chunkByteLength", options.chunkByteLength, MiB, 1, 0xffffffff),
    onProgress: functionOption("onProgress", options.onProgress),
    progressIntervalMs: integerOption("progressIntervalMs", options.progressIntervalMs, 50, 0, 2 ** 31 - 1),
    idleTimeoutMs: integerOption("idleTimeoutMs", options.idleTimeoutMs, 30_000, 0, 2 ** 31 - 1),
    signal: signalOption(options.signal),
  };
}

/**
 * Uploads `data` (a typed array, sent as views of its memory, or an {@link UploadSource}) under
 * `name` to a server that takes uploads, and resolves once the server verified the checksum of
 * every byte and acknowledged it. `target` is the endpoint URL (a connection is opened per
 * attempt and closed after it) or an open {@link ArrayClient}.
 * @throws {TypeError} / {RangeError} (rejects, before any I/O) for invalid data or options, or
 *   `resume` with an ArrayClient target.
 * @throws {@link StreamError} (rejects) with the server's code: E_UNEXPECTED_MESSAGE (the server
 *   takes no uploads), E_UPLOAD_REFUSED (or the server's own code), E_TOO_LARGE, E_BUSY,
 *   E_BAD_REQUEST, E_CHECKSUM, E_INCOMPLETE, E_TIMEOUT, E_GONE; or E_PROTOCOL, E_CONNECTION_CLOSED.
 * @throws (rejects) the signal's reason when aborted; what onProgress or an UploadSource's read throws.
 */
export async function uploadArray(
  target: string | URL | ArrayClient,
  name: string,
  data: TypedArray | UploadSource,
  options: UploadOptions = {},
): Promise<UploadResult> {
  assertLittleEndianHost();
  const request = resolveUploadOptions(name, data, options);
  const policy = resolveResume(options.resume);
  if (target instanceof ArrayClient) {
    if (policy !== null) throw new TypeError("Invalid resume: it needs a URL target, to open new connections");
    const sender = new UploadSender(request, 0, performance.now());
    if (!sender.done) sendOn(target, sender, false);
    return await sender.promise;
  }
  const connect = resolveConnectOptions(options, SUBPROTOCOL);
  const endpoint = resolveEndpoint(target);
  const startedAt = performance.now();
  let uploadId = 0;
  for (let attempt = 0; ; attempt++) {
    const sender = new UploadSender(request, uploadId, startedAt);
    if (!sender.done) void attemptOn(endpoint, connect, sender);
    try {
      return await sender.promise;
    } catch (err) {
      if (policy === null || attempt >= policy.attempts) throw err;
      const code = (err as { code?: unknown })?.code;
      // The server no longer keeps the upload: start it over (one more attempt).
      if (code === "E_GONE" && uploadId !== 0) uploadId = 0;
      else if (!sender.retryable) throw err;
      else uploadId = sender.uploadId;
    }
    const delay = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
    await sleep(delay * (0.5 + Math.random() / 2), request.signal);
  }
}

/** One attempt on a new connection; failures go to the sender. */
async function attemptOn(
  endpoint: URL,
  connect: ReturnType<typeof resolveConnectOptions>,
  sender: UploadSender,
): Promise<void> {
  let client: ArrayClient;
  try {
    client = await ArrayClient.connect(endpoint, { ...connect, signal: sender.request.signal ?? connect.signal });
  } catch (err) {
    sender.fail(err);
    return;
  }
  if (sender.done) client.close();
  else sendOn(client, sender, true);
}

function sendOn(client: ArrayClient, sender: UploadSender, ownsConnection: boolean): void {
  let put: Uint8Array | null = null;
  openStreamOn(
    client,
    (port) => {
      put = sender.bind(port);
      return sender;
    },
    () => put as Uint8Array,
    ownsConnection,
  );
}
