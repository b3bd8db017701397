/**
 * ArrayServer: a ws server that publishes named typed arrays and streams them on request as
 * chunk frames that are views of the source memory. It listens on its own port or attaches to an
 * existing http(s).Server under a path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import {
  assertLittleEndianHost,
  DEFAULT_MAX_CONTROL_BYTES,
  type JsonObject,
  type TypedArray,
} from "../shared/index.ts";
import { Connection, type ConnectionSettings } from "./connection.ts";
import { serveHttp } from "./http-transport.ts";
import { Registry } from "./registry.ts";
import type { ArraySource } from "./sources.ts";

const MiB = 1024 * 1024;

/** Options of {@link ArrayServer}. */
export interface ArrayServerOptions {
  /** Port to listen on (0 picks a free one). Ignored when `server` is given. Defaults to 0. */
  port?: number;
  /** Address to listen on. Defaults to "127.0.0.1" (loopback only). */
  host?: string;
  /** An existing http(s) server to attach to instead of listening; its other upgrades are left alone. */
  server?: Server;
  /** URL path of the WebSocket endpoint. Defaults to "/arraywire". */
  path?: string;
  /** Chunk size when the request names none, in bytes. Defaults to 1_048_576 (1 MiB, best for Chromium here). */
  chunkByteLength?: number;
  /** Largest chunk a request may ask for, in bytes. Defaults to 16_777_216 (16 MiB). */
  maxChunkByteLength?: number;
  /** Bytes queued in one connection's socket before the server waits for it to drain. Defaults to 4_194_304 (4 MiB). */
  maxQueuedBytes?: number;
  /** Streams open at once on one connection. Defaults to 16. */
  maxStreamsPerConnection?: number;
  /** Longest control message a client may send, in bytes; also ws's maxPayload. Defaults to 65_536. */
  maxControlByteLength?: number;
  /** Interval of WebSocket pings; a peer that misses one is terminated. 0 turns it off. Defaults to 30_000 ms. */
  heartbeatIntervalMs?: number;
  /** Where diagnostics go. Defaults to console.warn. */
  log?: (message: string) => void;
}

/** What {@link ArrayServer.stats} returns. */
export interface ServerStats {
  connectionCount: number;
  /** Streams open or being resolved, over all connections. */
  streamCount: number;
  /** Bytes handed to ws but not yet written to sockets, over all connections. */
  queuedByteLength: number;
  /** The largest queue of any one connection. */
  maxQueuedByteLength: number;
}

/** Options of {@link ArrayServer.publish} for a fixed array. */
export interface PublishOptions {
  /** n-d shape; product must equal the array's length. Defaults to `[array.length]`. */
  shape?: number[];
  /** JSON sent in the header. */
  meta?: JsonObject;
}

export class ArrayServer {
  readonly #registry = new Registry();
  readonly #wss: WebSocketServer;
  readonly #http: Server;
  readonly #ownsServer: boolean;
  readonly #path: string;
  readonly #options: ArrayServerOptions;
  readonly #settings: ConnectionSettings;
  readonly #connections = new Map<WebSocket, Connection>();
  readonly #alive = new WeakSet<WebSocket>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  /**
   * Creates the server. Call {@link listen} unless you passed `server`.
   * @throws {RangeError} for option values out of range.
   */
  constructor(options: ArrayServerOptions = {}) {
    assertLittleEndianHost();
    this.#options = options;
    this.#path = options.path ?? "/arraywire";
    const maxControl = options.maxControlByteLength ?? DEFAULT_MAX_CONTROL_BYTES;
    const chunk = options.chunkByteLength ?? MiB;
    const maxChunk = options.maxChunkByteLength ?? 16 * MiB;
    if (!(chunk > 0 && chunk <= maxChunk && maxChunk < 2 ** 31)) {
      throw new RangeError(`Invalid chunkByteLength: expected 1..maxChunkByteLength (${maxChunk}), got ${chunk}`);
    }
    if (!(maxControl >= 1024 && maxControl < 2 ** 31)) {
      // ws coerces maxPayload to a 32-bit int; values >= 2^31 would mean "no limit".
      throw new RangeError(`Invalid maxControlByteLength: expected 1024..2^31-1, got ${maxControl}`);
    }
    this.#settings = {
      chunkByteLength: chunk,
      minChunkByteLength: Math.min(64 * 1024, chunk),
      maxChunkByteLength: maxChunk,
      maxQueuedBytes: options.maxQueuedBytes ?? 4 * MiB,
      maxStreams: options.maxStreamsPerConnection ?? 16,
      maxControlByteLength: maxControl,
      log: options.log ?? ((m) => console.warn(`[arraywire] ${m}`)),
    };
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: maxControl, perMessageDeflate: false });
    this.#wss.on("error", (err) => this.#settings.log(`server error: ${err.message}`));
    this.#wss.on("connection", (ws) => this.#onConnection(ws));
    this.#ownsServer = options.server === undefined;
    this.#http =
      options.server ??
      createServer((req, res) => {
        if (!this.handleRequest(req, res)) {
          res.writeHead(404, { "content-type": "text/plain" });
          res.end(`arraywire: streams are served at ${this.#path} (WebSocket, or GET ${this.#path}?name=...)\n`);
        }
      });
    this.#http.on("upgrade", this.#onUpgrade);
    const interval = options.heartbeatIntervalMs ?? 30_000;
    if (interval > 0) {
      this.#heartbeat = setInterval(() => this.#beat(), interval);
      this.#heartbeat.unref();
    }
  }

  /**
   * Starts listening (only when the server owns its http server) and resolves with the address.
   * @throws {Error} if the port is in use.
   */
  async listen(): Promise<AddressInfo> {
    if (this.#ownsServer && !this.#http.listening) {
      await new Promise<void>((resolve, reject) => {
        this.#http.once("error", reject);
        this.#http.listen(this.#options.port ?? 0, this.#options.host ?? "127.0.0.1", () => {
          this.#http.off("error", reject);
          resolve();
        });
      });
    }
    return this.#http.address() as AddressInfo;
  }

  /** ws:// URL of the endpoint (after {@link listen}). */
  get url(): string {
    const address = this.#http.address() as AddressInfo | null;
    if (!address) throw new Error("ArrayServer is not listening yet");
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `ws://${host}:${address.port}${this.#path}`;
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** A snapshot for monitoring: connections, streams in flight, and bytes queued in sockets. */
  stats(): ServerStats {
    let streamCount = 0;
    let queuedByteLength = 0;
    let maxQueuedByteLength = 0;
    for (const connection of this.#connections.values()) {
      streamCount += connection.streamCount;
      queuedByteLength += connection.queuedByteLength;
      maxQueuedByteLength = Math.max(maxQueuedByteLength, connection.queuedByteLength);
    }
    return { connectionCount: this.#connections.size, streamCount, queuedByteLength, maxQueuedByteLength };
  }

  /**
   * Publishes a typed array (sent as views of its memory, never copied; do not mutate it while
   * published) or an {@link ArraySource} under `name`. Republishing a name gives it a new
   * generation, so resumes of the old one get E_GONE.
   * @throws {TypeError} for a non-typed array, or a shape that does not match its length.
   */
  publish(name: string, source: TypedArray | ArraySource, options: PublishOptions = {}): void {
    if (ArrayBuffer.isView(source)) this.#registry.publish(name, { array: source, ...options });
    else this.#registry.publish(name, source);
  }

  /** Removes `name`. Streams already running finish. */
  unpublish(name: string): boolean {
    return this.#registry.unpublish(name);
  }

  /** Published names. */
  names(): string[] {
    return this.#registry.names();
  }

  /**
   * Sends E_SHUTDOWN to every stream in flight, closes every connection, and stops listening
   * (when it owns the http server). Connections that do not finish the close handshake within
   * a second are terminated.
   */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#http.off("upgrade", this.#onUpgrade);
    const sockets = [...this.#connections.keys()];
    for (const connection of this.#connections.values()) connection.shutdown();
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            const timer = setTimeout(() => ws.terminate(), 1000);
            ws.once("close", () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    if (this.#ownsServer && this.#http.listening) {
      await new Promise<void>((resolve) => this.#http.close(() => resolve()));
    }
  }

  /**
   * Serves an HTTP stream request (`GET <path>?name=...`, see docs/PROTOCOL.md) when the URL's
   * path is this server's; returns false, touching nothing, otherwise. Call it from your own
   * http server's request handler (or use {@link middleware}) when you passed `server`.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    if (new URL(req.url ?? "/", "http://localhost").pathname !== this.#path) return false;
    void serveHttp(req, res, this.#registry, this.#settings, this.#settings.log);
    return true;
  }

  /** Connect-style middleware (Express, Vite's `server.middlewares`) around {@link handleRequest}. */
  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (!this.handleRequest(req, res)) next();
  };

  #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    if (pathname !== this.#path) {
      // Another upgrade handler (Vite's HMR, say) may own this path.
      if (this.#ownsServer) {
        socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      }
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit("connection", ws, req));
  };

  #onConnection(ws: WebSocket): void {
    this.#connections.set(ws, new Connection(ws, this.#registry, this.#settings));
    this.#alive.add(ws);
    ws.on("pong", () => this.#alive.add(ws));
    ws.on("close", () => this.#connections.delete(ws));
  }

  #beat(): void {
    for (const ws of this.#connections.keys()) {
      if (!this.#alive.has(ws)) {
        this.#settings.log("terminating a connection that missed a heartbeat");
        ws.terminate();
        continue;
      }
      this.#alive.delete(ws);
      ws.ping();
    }
  }
}
