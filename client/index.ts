/**
 * arraywire/client: receive typed arrays from an arraywire server, in browsers and in Node.
 */
import { assertLittleEndianHost, type Dtype, type DtypeArray, SUBPROTOCOL, type TypedArray } from "../shared/index.ts";
import type { ArrayResult } from "./assembler.ts";
import { ArrayClient, receiveOn } from "./connection.ts";
import { withGatewayCheck } from "./gateway-status.ts";
import { openWithFetch, receiveHttp } from "./http.ts";
import { openWithNodeSocket } from "./http-node.ts";
import type { ConnectOptions, ConnectSettings, FetchOptions, ResumeOptions, Transport } from "./options.ts";
import type { ReceiveStream } from "./receive-stream.ts";
import {
  resolveConnectOptions,
  resolveEndpoint,
  resolveFetchOptions,
  resolveResume,
  resolveTransport,
} from "./resolve-options.ts";
import { receiveWithResume } from "./resume.ts";
import { defaultTransport, isNodeRuntime } from "./runtime.ts";
import { webSocketCanSendHeaders } from "./socket.ts";
import { recordOutcome, startTracking, withProgressRecorder } from "./track.ts";

export type {
  Dtype,
  DtypeArray,
  DtypeArrays,
  DtypeOf,
  StreamErrorCode,
  StreamErrorOptions,
  TypedArray,
  WireErrorCode,
} from "../shared/index.ts";
export {
  DTYPE_BYTES_PER_ELEMENT,
  DTYPES,
  isDtypeSupported,
  isStreamErrorCode,
  ProtocolError,
  StreamError,
  SUBPROTOCOL,
  typedArrayConstructor,
} from "../shared/index.ts";
export type { ArrayResult } from "./assembler.ts";
export type { ArrayChunk } from "./chunks.ts";
export { ArrayClient } from "./connection.ts";
export type { ArrayInfo, ArrayKind, ArrayStat, DiscoveryOptions, StatOptions } from "./discovery.ts";
export { listArrays, statArray } from "./discovery.ts";
export { GatewayStatusError } from "./gateway-status.ts";
export type { ConnectOptions, FetchOptions, ResumeOptions, ResumePoint, Transport } from "./options.ts";
export type { Progress } from "./progress.ts";
export type { WebSocketConstructor, WebSocketLike } from "./runtime.ts";
export { defaultTransport } from "./runtime.ts";
export type { LiveUpdate, SubscribeOptions } from "./subscribe.ts";
export { subscribe } from "./subscribe.ts";
export type { UploadOptions, UploadProgress, UploadResult, UploadSource } from "./upload.ts";
export { uploadArray } from "./upload.ts";
export type { WorkerArrayChunk, WorkerFetchOptions, WorkerLike } from "./worker-fetch.ts";
export { fetchArrayInWorker } from "./worker-fetch.ts";

/** Options of {@link fetchArray}. */
export interface FetchArrayOptions<T extends TypedArray = TypedArray> extends FetchOptions<T>, ConnectOptions {
  /**
   * "ws": a WebSocket stream (DATA + payload messages, credit window). "http": one GET, read with
   * a BYOB reader in browsers, or over a raw socket in Node whose body the kernel writes straight
   * into the target (recv_into). "auto" (the default) picks "ws" when `protocols` or `WebSocket`
   * is given and "http" when `headers` is given and the WebSocket cannot send them (browsers);
   * otherwise "http" in Node and where fetch has BYOB readers, "ws" elsewhere. Measured at 400 MB
   * with verify on, medians: in Node http 381 MB/s into fresh targets and 545 reused, ws 234 and
   * 318 (5 runs of the bench, 2026-11-30, a shared 2-core machine); in Chromium http 546, ws 336
   * (bench/results/latest.md). An option the chosen transport cannot honour is a TypeError.
   */
  transport?: Transport;
  /**
   * When an attempt fails in a way a new one can fix (E_CONNECTION_CLOSED, E_SHUTDOWN, E_TIMEOUT,
   * E_INCOMPLETE, E_BUSY, and E_HTTP_STATUS for a load balancer's own 502/503/504 page), reconnect with exponential backoff and continue from the last byte
   * held, on either transport. The result is the same array a single stream would give; a
   * changed array fails with E_GONE. The caller's own errors (a throwing onProgress) and aborts
   * are never retried. Defaults to off.
   */
  resume?: boolean | ResumeOptions;
}

/**
 * Fetches one array: over HTTP (one GET) or over a WebSocket opened and closed for it, resuming
 * after lost connections when `resume` is set. `url` is the server's endpoint,
 * `ws://host:port/arraywire` (an http:// URL works too; in a page, a relative one such as
 * "/arraywire" resolves against the page's location).
 *
 * Pass `dtype` to get a typed result that is checked at runtime: `fetchArray(url, "t", { dtype:
 * "float64" })` resolves `ArrayResult<Float64Array>`, and rejects with E_DTYPE_MISMATCH (before
 * allocating) when the server's array has another dtype. `into` types the result as its own
 * type. An explicit type argument without either (`fetchArray<Float64Array>(...)`) is an
 * unchecked assertion.
 * @throws {TypeError} / {@link RangeError} (rejects, before any I/O) for invalid options: the
 *   same error on both transports.
 * @throws {@link StreamError} (rejects) with the server's code (E_UNKNOWN_NAME, E_BAD_RANGE...),
 *   or E_TOO_LARGE, E_TARGET_MISMATCH, E_DTYPE_MISMATCH, E_CHECKSUM, E_INCOMPLETE, E_PROTOCOL, E_TIMEOUT,
 *   E_CONNECTION_CLOSED, E_HTTP_STATUS.
 * @throws (rejects) the signal's reason when aborted; what onProgress or onWarning throw.
 */
export function fetchArray<D extends Dtype>(
  url: string | URL,
  name: string,
  options: FetchArrayOptions<DtypeArray<D>> & { dtype: D },
): Promise<ArrayResult<DtypeArray<D>>>;
export function fetchArray<T extends TypedArray = TypedArray>(
  url: string | URL,
  name: string,
  options?: FetchArrayOptions<T>,
): Promise<ArrayResult<T>>;
export async function fetchArray<T extends TypedArray = TypedArray>(
  url: string | URL,
  name: string,
  options: FetchArrayOptions<T> = {},
): Promise<ArrayResult<T>> {
  assertLittleEndianHost();
  let request = resolveFetchOptions(name, options);
  const connect = resolveConnectOptions(options, SUBPROTOCOL);
  const policy = resolveResume(options.resume);
  const endpoint = resolveEndpoint(url);
  const transport = resolveTransport(
    options.transport,
    connect,
    { canSendHeaders: webSocketCanSendHeaders(connect.WebSocket) },
    defaultTransport(),
  );
  const start =
    transport === "http"
      ? (stream: ReceiveStream) =>
          // A proxy's 502/503/504 page fails the attempt with a retryable error (gateway-status.ts).
          receiveHttp(endpoint, stream, connect, withGatewayCheck(isNodeRuntime() ? openWithNodeSocket : openWithFetch))
      : (stream: ReceiveStream) => receiveWs(endpoint, stream, connect);
  // A page-side registry (tests) records the transfer; without one this is one global lookup.
  const recorder = startTracking({ key: request.track, name: request.name, url: endpoint.href, thread: "main" });
  if (recorder === null) return (await receiveWithResume(request, policy, start)) as ArrayResult<T>;
  request = withProgressRecorder(request, recorder);
  return (await recordOutcome(receiveWithResume(request, policy, start), recorder)) as ArrayResult<T>;
}

/**
 * {@link fetchArray} over HTTP.
 * @throws what {@link fetchArray} throws.
 */
export function fetchArrayHttp<T extends TypedArray = TypedArray>(
  url: string | URL,
  name: string,
  options: Omit<FetchArrayOptions<T>, "transport"> = {},
): Promise<ArrayResult<T>> {
  return fetchArray<T>(url, name, { ...options, transport: "http" });
}

/** One attempt over a WebSocket opened for it (closed when the stream ends). Never throws. */
async function receiveWs(url: URL, stream: ReceiveStream, connect: ConnectSettings): Promise<void> {
  let client: ArrayClient;
  try {
    // The stream's signal aborts the handshake when the stream fails (idle timeout, abort).
    client = await ArrayClient.connect(url, { ...connect, signal: stream.signal });
  } catch (err) {
    stream.fail(err);
    return;
  }
  stream.touch();
  receiveOn(client, stream, true);
}
