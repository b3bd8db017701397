/**
 * arraywire/client: receive typed arrays from an arraywire server, in browsers and in Node.
 */
import type { TypedArray } from "../shared/index.ts";
import type { ArrayResult } from "./assembler.ts";
import { ArrayClient, type ConnectOptions, type FetchOptions } from "./connection.ts";
import { fetchArrayHttp } from "./http.ts";
import { IS_NODE } from "./socket.ts";

export type { Dtype, TypedArray } from "../shared/index.ts";
export { ProtocolError, StreamError } from "../shared/index.ts";
export type { ArrayResult } from "./assembler.ts";
export type { ConnectOptions, FetchOptions } from "./connection.ts";
export { ArrayClient } from "./connection.ts";
export { fetchArrayHttp } from "./http.ts";
export type { Progress } from "./progress.ts";
export type { WebSocketConstructor, WebSocketLike } from "./socket.ts";

/** Which transport {@link fetchArray} uses. */
export type Transport = "auto" | "ws" | "http";

/** Options of {@link fetchArray}. */
export interface FetchArrayOptions<T extends TypedArray = TypedArray> extends FetchOptions<T>, ConnectOptions {
  /**
   * "ws": a WebSocket stream (DATA + payload messages, credit window). "http": one GET read
   * with a BYOB reader straight into the target. "auto" (the default) picks "http" in browsers
   * that have BYOB readers (about twice the WebSocket rate in Chromium) and "ws" in Node.
   */
  transport?: Transport;
}

/** The transport "auto" resolves to in this runtime. */
export function defaultTransport(): "ws" | "http" {
  return !IS_NODE &&
    typeof (globalThis as { ReadableStreamBYOBReader?: unknown }).ReadableStreamBYOBReader === "function"
    ? "http"
    : "ws";
}

/**
 * Fetches one array: over HTTP (one GET) or over a WebSocket opened and closed for it.
 * `url` is the server's endpoint, `ws://host:port/arraywire` (an http:// URL works too).
 * @throws what {@link ArrayClient.fetch} and {@link fetchArrayHttp} throw.
 */
export async function fetchArray<T extends TypedArray = TypedArray>(
  url: string | URL,
  name: string,
  options: FetchArrayOptions<T> = {},
): Promise<ArrayResult<T>> {
  const transport = !options.transport || options.transport === "auto" ? defaultTransport() : options.transport;
  if (transport === "http") return fetchArrayHttp<T>(url, name, options);
  const wsUrl = new URL(String(url));
  if (wsUrl.protocol === "http:") wsUrl.protocol = "ws:";
  else if (wsUrl.protocol === "https:") wsUrl.protocol = "wss:";
  if (options.signal?.aborted) throw options.signal.reason;
  const client = await ArrayClient.connect(wsUrl, options);
  try {
    return await client.fetch<T>(name, options);
  } finally {
    client.close();
  }
}
