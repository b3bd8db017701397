/**
 * A thin wrapper over the WebSocket implementations the client runs on: a global WebSocket
 * (browsers, workers, Node 22+: binaryType "arraybuffer", each message a new ArrayBuffer), Node's
 * `ws` package where there is no global one or headers are needed (binaryType "nodebuffer": a
 * Buffer, which avoids the extra copy ws makes to produce an ArrayBuffer), or the caller's own.
 * Either way the client sees each message as a Uint8Array view. Every call into a WebSocket
 * object goes through a guard: a caller-supplied implementation that throws never escapes.
 */
import { StreamError } from "../shared/index.ts";
import { quietly } from "./guard.ts";
import { globalWebSocket, isNodeRuntime, isNodeWs, type WebSocketConstructor, type WebSocketLike } from "./runtime.ts";

export type { WebSocketConstructor, WebSocketLike } from "./runtime.ts";

/** What the client needs from a connection. */
export interface SocketLike {
  /** Sends; a throw from the implementation is returned (the connection is then unusable). */
  send(data: Uint8Array): unknown;
  /** Closes; never throws. */
  close(code: number, reason: string): void;
  onmessage: (data: Uint8Array | string) => void;
  onclose: (code: number, reason: string) => void;
}

/** What {@link openSocket} needs from the connection options. */
export interface SocketOptions {
  WebSocket: WebSocketConstructor | undefined;
  protocols: string[] | undefined;
  headers: Record<string, string> | undefined;
  maxPayload: number;
  signal: AbortSignal | undefined;
  /** Closes a socket that has not opened after this long (E_TIMEOUT); 0: never. */
  connectTimeoutMs: number;
}

/**
 * The WebSocket constructor to use: the caller's; else the global one, unless headers are needed
 * and this is Node (the global one cannot send them); else `ws` in Node.
 * @throws {TypeError} where there is none.
 */
export async function chooseWebSocket(
  options: Pick<SocketOptions, "WebSocket" | "headers">,
): Promise<WebSocketConstructor> {
  if (options.WebSocket) return options.WebSocket;
  const global = globalWebSocket();
  const node = isNodeRuntime();
  if (global && !(node && options.headers)) return global;
  if (!node) throw new TypeError("No WebSocket implementation in this runtime: pass options.WebSocket");
  // A variable specifier keeps bundlers from pulling `ws` into browser builds.
  const specifier = "ws";
  return (await import(/* @vite-ignore */ specifier)).WebSocket as WebSocketConstructor;
}

/** True when the WebSocket {@link chooseWebSocket} would pick can send headers (Node's `ws`). */
export function webSocketCanSendHeaders(ctor: WebSocketConstructor | undefined): boolean {
  return ctor ? isNodeWs(ctor) : isNodeRuntime();
}

/**
 * Opens a WebSocket and resolves once it is open.
 * @throws {@link StreamError} `E_CONNECTION_CLOSED` when it fails to open, `E_TIMEOUT` when it
 *   has not opened within `connectTimeoutMs` (it is closed then); the signal's reason
 *   when aborted (also while `ws` is being loaded); what a caller-supplied constructor throws;
 *   {@link TypeError} for headers the WebSocket cannot send (any but Node's `ws`).
 */
export async function openSocket(url: string, options: SocketOptions): Promise<SocketLike> {
  const { signal } = options;
  const Ctor = await chooseWebSocket(options);
  if (signal?.aborted) throw signal.reason;
  const nodeWs = isNodeWs(Ctor);
  if (options.headers && !nodeWs) {
    throw new TypeError(
      "Invalid headers: this WebSocket cannot send headers (browsers never can); use a cookie or protocols",
    );
  }
  // A throwing constructor (the browser's SyntaxError for a bad URL, a caller's own class)
  // rejects with its own error, which resume never retries.
  const ws: WebSocketLike = nodeWs
    ? new Ctor(url, options.protocols, {
        headers: options.headers,
        maxPayload: options.maxPayload,
        // ws's client has no default for these (its server does): bound what a hostile server
        // can make it buffer per message (close 1008 above).
        maxFragments: 4096,
        maxBufferedChunks: 64 * 1024,
        perMessageDeflate: false,
      })
    : new Ctor(url, options.protocols);
  const socket: SocketLike = {
    send: (data) => {
      try {
        ws.send(data);
        return undefined;
      } catch (error) {
        return error;
      }
    },
    close: (code, reason) => quietly(() => ws.close(code, reason)),
    onmessage: () => {},
    onclose: () => {},
  };
  await new Promise<void>((resolve, reject) => {
    let opened = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      // The error listener below is attached already: ws emits 'error' for a close while
      // CONNECTING, which would otherwise be thrown from its EventEmitter (issue 11 item 3).
      socket.close(1000, "aborted");
      reject(signal?.reason);
    };
    const onTimeout = () => {
      signal?.removeEventListener("abort", onAbort);
      socket.close(1000, "connect timeout");
      reject(
        new StreamError(
          "E_TIMEOUT",
          `Could not connect to ${url}: the WebSocket did not open within ${options.connectTimeoutMs} ms (connectTimeoutMs)`,
        ),
      );
    };
    try {
      ws.binaryType = nodeWs ? "nodebuffer" : "arraybuffer";
      // Without an error listener `ws` would throw from its EventEmitter; the close event follows.
      ws.addEventListener("error", () => {});
      ws.addEventListener("open", () => {
        opened = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      ws.addEventListener("message", (event: { data: ArrayBuffer | Uint8Array | string }) => {
        const { data } = event;
        socket.onmessage(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
      });
      ws.addEventListener("close", (event: { code: number; reason: string }) => {
        if (opened) {
          socket.onclose(event.code, event.reason);
          return;
        }
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        reject(
          new StreamError(
            "E_CONNECTION_CLOSED",
            `Could not connect to ${url}: closed with ${event.code} before opening`,
          ),
        );
      });
    } catch (err) {
      socket.close(1000, "client error");
      reject(err);
      return;
    }
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    if (!signal?.aborted && options.connectTimeoutMs > 0) timer = setTimeout(onTimeout, options.connectTimeoutMs);
  });
  return socket;
}
