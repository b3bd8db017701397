/**
 * A thin wrapper over the two WebSocket implementations the client runs on: the browser's
 * (binaryType "arraybuffer": each message is a new ArrayBuffer) and Node's `ws` package
 * (binaryType "nodebuffer": a Buffer, which avoids the extra copy ws makes to produce an
 * ArrayBuffer). Either way the client sees each message as a Uint8Array view.
 */
import { StreamError } from "../shared/index.ts";

/** The parts of a WebSocket the client uses (browser WebSocket and `ws` both have them). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: never) => void): void;
}

/** A WebSocket constructor: the browser's, `ws`'s, or a compatible one. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: object) => WebSocketLike;

/** What the client needs from a connection. */
export interface SocketLike {
  send(data: Uint8Array): void;
  close(code: number, reason: string): void;
  onmessage: (data: Uint8Array | string) => void;
  onclose: (code: number, reason: string) => void;
}

/** True in Node (where the `ws` package is used); false in browsers and workers. */
export const IS_NODE =
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string" &&
  typeof (globalThis as { document?: unknown }).document === "undefined";

/**
 * Opens a WebSocket and resolves once it is open.
 * @throws {@link StreamError} `E_CONNECTION_CLOSED` when it fails to open.
 */
export async function openSocket(
  url: string,
  options: {
    WebSocket?: WebSocketConstructor;
    protocols?: string | string[];
    headers?: Record<string, string>;
    maxPayload: number;
    signal?: AbortSignal;
  },
): Promise<SocketLike> {
  let Ctor = options.WebSocket;
  if (!Ctor) {
    if (IS_NODE) {
      // A variable specifier keeps bundlers from pulling `ws` into browser builds.
      const specifier = "ws";
      Ctor = (await import(/* @vite-ignore */ specifier)).WebSocket as WebSocketConstructor;
    } else {
      Ctor = (globalThis as unknown as { WebSocket: WebSocketConstructor }).WebSocket;
    }
  }
  const isNodeWs = (Ctor as unknown as { prototype: { on?: unknown } }).prototype.on !== undefined;
  const ws = isNodeWs
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
  ws.binaryType = isNodeWs ? "nodebuffer" : "arraybuffer";
  const socket: SocketLike = {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    onmessage: () => {},
    onclose: () => {},
  };
  const { signal } = options;
  await new Promise<void>((resolve, reject) => {
    let opened = false;
    const onAbort = () => {
      ws.close();
      reject(signal?.reason);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    ws.addEventListener("open", () => {
      opened = true;
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    ws.addEventListener("message", (event: { data: ArrayBuffer | Uint8Array | string }) => {
      const { data } = event;
      socket.onmessage(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
    });
    // Without an error listener `ws` would throw from its EventEmitter; the close event follows.
    ws.addEventListener("error", () => {});
    ws.addEventListener("close", (event: { code: number; reason: string }) => {
      if (!opened) {
        signal?.removeEventListener("abort", onAbort);
        reject(
          new StreamError(
            "E_CONNECTION_CLOSED",
            `Could not connect to ${url}: closed with ${event.code} before opening`,
          ),
        );
      } else socket.onclose(event.code, event.reason);
    });
  });
  return socket;
}
