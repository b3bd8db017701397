/**
 * Discovery (docs/PROTOCOL.md §18): listArrays() and statArray() ask a server what it publishes,
 * as JSON over HTTP (`GET <path>?list`, `GET <path>?stat=<name>`), with the runtime's fetch; on an
 * open ArrayClient, statArray() asks over the WebSocket instead (REQUEST flag HEADER_ONLY: the
 * ARRAY_HEADER alone). What a server sends is checked (shared/discovery.ts) and bounded.
 */
import {
  type ArrayInfo,
  checkArrayInfo,
  type Dtype,
  decodeMessage,
  encodeName,
  encodeRequest,
  HTTP_CONTENT_TYPE,
  type JsonObject,
  ProtocolError,
  StreamError,
  toHttpUrl,
} from "../shared/index.ts";
import { type ArrayClient, openStreamOn } from "./connection.ts";
import { integerOption, paramsOption, resolveEndpoint, shown, signalOption } from "./resolve-options.ts";

export type { ArrayInfo, ArrayKind } from "../shared/index.ts";

/** Options of {@link listArrays} and {@link statArray} over HTTP. */
export interface DiscoveryOptions {
  /** Extra request headers (a token, say). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Largest JSON body accepted, in bytes. Defaults to 16_777_216 (16 MiB); more is E_TOO_LARGE. */
  maxResponseBytes?: number;
}

/** Options of {@link statArray}. */
export interface StatOptions extends DiscoveryOptions {
  /** Source parameters: the stat then describes the array the source makes for them. */
  params?: JsonObject;
}

/** What a stat over the WebSocket tells (the ARRAY_HEADER's fields). */
export interface ArrayStat {
  name: string;
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  meta: JsonObject | null;
  generation: number;
}

const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * What the server publishes (`GET <path>?list`), in publish order.
 * @throws {@link StreamError} (rejects) E_LISTING_DISABLED when the server does not list, the
 *   refusal's own code (E_UNAUTHORIZED...), E_BAD_REQUEST from a server without discovery,
 *   E_HTTP_STATUS for an answer that is not arraywire's, E_PROTOCOL for JSON that is not an
 *   ArrayInfo list, E_TOO_LARGE, E_CONNECTION_CLOSED.
 */
export async function listArrays(url: string | URL, options: DiscoveryOptions = {}): Promise<ArrayInfo[]> {
  const target = toHttpUrl(resolveEndpoint(url));
  target.searchParams.set("list", "");
  const body = await getJson(target, options);
  const arrays = (body as { arrays?: unknown } | null)?.arrays;
  if (!Array.isArray(arrays)) {
    throw new StreamError("E_PROTOCOL", 'Invalid listing: expected {"arrays": [...]}', 0);
  }
  return arrays.map((entry) => asInfo(entry));
}

/**
 * One name's ArrayInfo, without transferring it: over HTTP (`GET <path>?stat=<name>`) when
 * `target` is a URL, or over the WebSocket (REQUEST flag HEADER_ONLY) when it is an open
 * {@link ArrayClient}, which answers an {@link ArrayStat} (the header's fields).
 * @throws {TypeError} / {RangeError} (rejects) for a bad name or option.
 * @throws {@link StreamError} (rejects) E_UNKNOWN_NAME, a source's refusal of the params, the
 *   codes of {@link listArrays}; over the WebSocket E_RESERVED from a server without HEADER_ONLY.
 */
export function statArray(url: string | URL, name: string, options?: StatOptions): Promise<ArrayInfo>;
export function statArray(client: ArrayClient, name: string, options?: StatOptions): Promise<ArrayStat>;
export async function statArray(
  target: string | URL | ArrayClient,
  name: string,
  options: StatOptions = {},
): Promise<ArrayInfo | ArrayStat> {
  encodeName(name);
  const params = paramsOption(options.params);
  if (typeof target !== "string" && !(target instanceof URL)) return await statOn(target, name, params, options);
  const url = toHttpUrl(resolveEndpoint(target));
  url.searchParams.set("stat", name);
  if (params !== null) url.searchParams.set("params", JSON.stringify(params));
  return asInfo(await getJson(url, options));
}

function asInfo(value: unknown): ArrayInfo {
  try {
    return checkArrayInfo(value);
  } catch (err) {
    throw new StreamError("E_PROTOCOL", (err as Error).message, 0, { cause: err });
  }
}

/** GETs `url` and parses its JSON body (or throws the ERROR body's code). */
async function getJson(url: URL, options: DiscoveryOptions): Promise<unknown> {
  const signal = signalOption(options.signal);
  const maxBytes = integerOption(
    "maxResponseBytes",
    options.maxResponseBytes,
    DEFAULT_MAX_RESPONSE_BYTES,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const { headers } = options;
  if (headers !== undefined && (typeof headers !== "object" || headers === null)) {
    throw new TypeError(`Invalid headers: expected an object of strings, got ${shown(headers)}`);
  }
  let response: Response;
  try {
    response = await fetch(url, { headers, signal, cache: "no-store" });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw new StreamError("E_CONNECTION_CLOSED", `Could not reach ${url.origin}: ${(err as Error)?.message}`, 0, {
      cause: err,
    });
  }
  const type = response.headers.get("content-type") ?? "";
  const body = await readCapped(response, maxBytes);
  if (type.startsWith(HTTP_CONTENT_TYPE)) {
    let message: ReturnType<typeof decodeMessage> | null = null;
    try {
      message = decodeMessage(body);
    } catch {
      // Not an ERROR message: reported below as E_HTTP_STATUS.
    }
    if (message?.type === "ERROR") throw new StreamError(message.code, message.message, 0);
  }
  if (response.status !== 200 || !type.startsWith("application/json")) {
    throw new StreamError(
      "E_HTTP_STATUS",
      `HTTP ${response.status} with content-type ${JSON.stringify(type)}: not an arraywire listing (is this an arraywire endpoint that has discovery?)`,
      0,
    );
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (err) {
    throw new StreamError("E_PROTOCOL", `Invalid JSON from ${url.origin}: ${(err as Error).message}`, 0, {
      cause: err,
    });
  }
}

/** The body, refused (and the rest cancelled) past `maxBytes`. */
async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array(0);
  if (declared > maxBytes) {
    void reader.cancel();
    throw new StreamError("E_TOO_LARGE", `Response too large: expected at most ${maxBytes} bytes, got ${declared}`, 0);
  }
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      void reader.cancel();
      throw new StreamError("E_TOO_LARGE", `Response too large: expected at most ${maxBytes} bytes`, 0);
    }
    parts.push(value);
  }
  const body = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    body.set(part, at);
    at += part.byteLength;
  }
  return body;
}

/** A stat over the WebSocket: a HEADER_ONLY REQUEST, answered by the ARRAY_HEADER alone. */
function statOn(
  client: ArrayClient,
  name: string,
  params: JsonObject | null,
  options: StatOptions,
): Promise<ArrayStat> {
  const signal = signalOption(options.signal);
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let settled = false;
    openStreamOn(
      client,
      (port) => {
        const settle = (failed: boolean, value: unknown) => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener("abort", onAbort);
          port.release(failed);
          if (failed) reject(value);
          else resolve(value as ArrayStat);
        };
        const onAbort = () => settle(true, signal?.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        return {
          message: (message) => {
            if (message.type !== "ARRAY_HEADER" || message.name !== name) {
              throw new ProtocolError("E_UNEXPECTED_MESSAGE", `Unexpected ${message.type} in answer to a stat`);
            }
            settle(false, {
              name,
              dtype: message.dtype,
              shape: message.shape,
              byteLength: message.totalByteLength,
              meta: message.meta,
              generation: message.generation,
            } satisfies ArrayStat);
          },
          payload: () => {
            throw new ProtocolError("E_UNEXPECTED_MESSAGE", "Unexpected DATA in answer to a stat");
          },
          fail: (error) =>
            settle(
              true,
              error instanceof ProtocolError
                ? new StreamError("E_PROTOCOL", error.message, port.streamId, { cause: error })
                : error,
            ),
        };
      },
      (streamId) =>
        encodeRequest({
          streamId,
          name,
          params,
          range: null,
          chunkByteLength: 0,
          creditByteLength: 0,
          resumeByteOffset: 0,
          expectedGeneration: null,
          checksum: "none",
          headerOnly: true,
        }),
      false,
    );
  });
}
