/**
 * arraywire/client: receive typed arrays from an arraywire server, in browsers and in Node.
 */
import { StreamError, type TypedArray } from "../shared/index.ts";
import type { ArrayResult, Assembler } from "./assembler.ts";
import { ArrayClient, type ConnectOptions, type FetchOptions } from "./connection.ts";
import { fetchArrayHttp } from "./http.ts";
import { IS_NODE } from "./socket.ts";

export type { Dtype, TypedArray } from "../shared/index.ts";
export {
  DTYPE_BYTES_PER_ELEMENT,
  DTYPES,
  isDtypeSupported,
  ProtocolError,
  StreamError,
  typedArrayConstructor,
} from "../shared/index.ts";
export type { ArrayResult } from "./assembler.ts";
export type { ConnectOptions, FetchOptions, ResumePoint } from "./connection.ts";
export { ArrayClient, SUBPROTOCOL } from "./connection.ts";
export { fetchArrayHttp } from "./http.ts";
export type { Progress } from "./progress.ts";
export type { WebSocketConstructor, WebSocketLike } from "./socket.ts";

/** Which transport {@link fetchArray} uses. */
export type Transport = "auto" | "ws" | "http";

/** How {@link fetchArray} retries after a lost connection. */
export interface ResumeOptions {
  /** Reconnects before giving up. Defaults to 5. */
  attempts?: number;
  /** Delay before the first reconnect; doubles each time, with jitter. Defaults to 100 ms. */
  initialDelayMs?: number;
  /** Longest delay between reconnects. Defaults to 5_000 ms. */
  maxDelayMs?: number;
}

/** Options of {@link fetchArray}. */
export interface FetchArrayOptions<T extends TypedArray = TypedArray> extends FetchOptions<T>, ConnectOptions {
  /**
   * "ws": a WebSocket stream (DATA + payload messages, credit window). "http": one GET, read with
   * a BYOB reader straight into the target in browsers, or from node:http chunks in Node. "auto"
   * (the default) picks "http" in browsers that have BYOB readers (about twice the WebSocket rate
   * in Chromium) and "ws" in Node (1.2-1.6x the HTTP path there, bench/results/latest.md).
   */
  transport?: Transport;
  /**
   * When the connection is lost mid-stream (E_CONNECTION_CLOSED, E_SHUTDOWN, E_TIMEOUT,
   * E_INCOMPLETE), reconnect with exponential backoff and continue from the last byte held.
   * The result is the same array a single stream would give; a changed array fails with E_GONE.
   * Defaults to off.
   */
  resume?: boolean | ResumeOptions;
}

/** Codes after which a resumed request can succeed. */
const RETRYABLE: ReadonlySet<string> = new Set(["E_CONNECTION_CLOSED", "E_SHUTDOWN", "E_TIMEOUT", "E_INCOMPLETE"]);

/** The transport "auto" resolves to in this runtime. */
export function defaultTransport(): "ws" | "http" {
  return !IS_NODE &&
    typeof (globalThis as { ReadableStreamBYOBReader?: unknown }).ReadableStreamBYOBReader === "function"
    ? "http"
    : "ws";
}

/**
 * Fetches one array: over HTTP (one GET) or over a WebSocket opened and closed for it, resuming
 * after lost connections when `resume` is set. `url` is the server's endpoint,
 * `ws://host:port/arraywire` (an http:// URL works too).
 * @throws what {@link ArrayClient.fetch} and {@link fetchArrayHttp} throw.
 */
export async function fetchArray<T extends TypedArray = TypedArray>(
  url: string | URL,
  name: string,
  options: FetchArrayOptions<T> = {},
): Promise<ArrayResult<T>> {
  const transport = !options.transport || options.transport === "auto" ? defaultTransport() : options.transport;
  const resume = options.resume === true ? {} : options.resume || null;
  let assembler: Assembler | null = null;
  const attemptOptions: FetchArrayOptions<T> = { ...options, onAssembler: (a) => (assembler = a) };
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchOnce<T>(url, name, transport, attemptOptions);
    } catch (err) {
      const retryable = err instanceof StreamError && RETRYABLE.has(err.code) && !options.signal?.aborted;
      if (!resume || !retryable || attempt >= (resume.attempts ?? 5)) throw err;
      const held = assembler as Assembler | null;
      // A BYOB read that failed took the target's buffer with it (it was transferred and never
      // handed back): nothing is held then, so the next attempt starts again from byte 0.
      if (held && held.receivedByteLength > 0 && held.array.buffer.byteLength > 0) {
        attemptOptions.resumeFrom = {
          array: held.array,
          receivedByteLength: held.receivedByteLength,
          generation: held.header.generation,
        };
      } else {
        attemptOptions.resumeFrom = undefined;
      }
      const delay = Math.min(resume.maxDelayMs ?? 5000, (resume.initialDelayMs ?? 100) * 2 ** attempt);
      await sleep(delay * (0.5 + Math.random() / 2), options.signal);
    }
  }
}

async function fetchOnce<T extends TypedArray>(
  url: string | URL,
  name: string,
  transport: "ws" | "http",
  options: FetchArrayOptions<T>,
): Promise<ArrayResult<T>> {
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

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
