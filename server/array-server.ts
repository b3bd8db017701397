/**
 * ArrayServer: a ws server that publishes named typed arrays and streams them on request as
 * chunk frames that are views of the source memory. It listens on its own port or attaches to an
 * existing http(s).Server under a path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type ServerOptions, type WebSocket, WebSocketServer } from "ws";
import { assertLittleEndianHost, encodeName, SUBPROTOCOL, type TypedArray } from "../shared/index.ts";
import { checkAccess } from "./access.ts";
import { InFlightBudget } from "./budget.ts";
import { Connection } from "./connection.ts";
import { Hooks } from "./hooks.ts";
import { serveHttp } from "./http-transport.ts";
import { checkHeaderFits } from "./meta.ts";
import { OpenSources } from "./open-sources.ts";
import { type ArrayServerOptions, resolveSettings, type ServerSettings, type ServerStats } from "./options.ts";
import type { StreamServices } from "./plan.ts";
import { refuseUpgrade, sendError } from "./refusals.ts";
import { Registry } from "./registry.ts";
import { parseTarget } from "./request-target.ts";
import { SourceBudget } from "./source-budget.ts";
import { type ArraySource, type PublishOptions, typedArraySource } from "./sources.ts";

/** How long a peer has to answer a close frame, and close() to let connections finish, in ms. */
const CLOSE_GRACE_MS = 1000;

/** Most WebSocket fragments one client message may come in. */
const MAX_CLIENT_FRAGMENTS = 256;

export class ArrayServer {
  readonly #wss: WebSocketServer;
  readonly #http: Server;
  readonly #ownsServer: boolean;
  readonly #options: ArrayServerOptions;
  readonly #settings: ServerSettings;
  readonly #hooks: Hooks;
  readonly #services: StreamServices;
  readonly #budget: InFlightBudget;
  readonly #connections = new Map<WebSocket, Connection>();
  /** Open WebSocket connections per remote address, for maxConnectionsPerIp. */
  readonly #perIp = new Map<string, number>();
  readonly #alive = new WeakSet<WebSocket>();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  /** HTTP streams in flight, ended by close(). */
  readonly #responses = new Set<ServerResponse>();
  /** HTTP requests waiting for the access checks, answered with E_SHUTDOWN by close(). */
  readonly #pendingRequests = new Set<ServerResponse>();
  /** Upgrades waiting for the access checks (a slow authenticate hook), destroyed by close(). */
  readonly #pendingUpgrades = new Set<Duplex>();
  /** Set by close(): new HTTP streams get E_SHUTDOWN (503) even on a server we do not own. */
  #closing = false;

  /**
   * Creates the server. Call {@link listen} unless you passed `server`.
   * @throws {RangeError} for option values out of range.
   */
  constructor(options: ArrayServerOptions = {}) {
    assertLittleEndianHost();
    this.#options = options;
    this.#settings = resolveSettings(options);
    this.#hooks = new Hooks(options, this.#settings.log);
    // Every log line goes through the guard: a throwing log hook is ignored, not a crash.
    this.#settings.log = (message) => this.#hooks.log(message);
    this.#services = {
      registry: new Registry(),
      sources: new OpenSources(new SourceBudget(this.#settings.maxSourceBytes), this.#hooks),
      hooks: this.#hooks,
      settings: this.#settings,
    };
    this.#budget = new InFlightBudget(this.#settings.maxBytesInFlight);
    // closeTimeout is in ws 8.23 but not yet in @types/ws 8.18, hence the widened type.
    const wsOptions: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      maxPayload: this.#settings.maxControlByteLength,
      // Control messages are small and arrive whole; many fragments per message is an attack
      // (ws 8.23's memory-DoS hardening; its server default is 16,384). Over it: close 1008.
      maxFragments: MAX_CLIENT_FRAGMENTS,
      perMessageDeflate: false, // costly, and useless for float payloads
      // A peer that does not answer our close frame (1013 over the per-IP cap, 1008 for a flood,
      // 1001 on shutdown) is cut after this long, not ws's default 30 s.
      closeTimeout: CLOSE_GRACE_MS,
      handleProtocols: (protocols) =>
        protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : ([...protocols].find((p) => !p.includes(".token.")) ?? false),
    };
    this.#wss = new WebSocketServer(wsOptions);
    this.#wss.on("error", (err) => this.#settings.log(`server error: ${err.message}`));
    this.#wss.on("connection", (ws, req) => this.#onConnection(ws, req));
    this.#ownsServer = options.server === undefined;
    this.#http =
      options.server ??
      createServer((req, res) => {
        if (this.handleRequest(req, res)) return;
        const path = this.#settings.path;
        if (parseTarget(req.url) === null) {
          sendError(res, "E_BAD_REQUEST", `Invalid request target: expected a path such as ${path}?name=...`);
        } else {
          sendError(
            res,
            "E_NOT_FOUND",
            `Nothing is served here: arraywire streams are at ${path} (WebSocket, or GET ${path}?name=...)`,
          );
        }
      });
    this.#http.on("upgrade", this.#onUpgrade);
    const { heartbeatIntervalMs, stallTimeoutMs } = this.#settings;
    if (heartbeatIntervalMs > 0) this.#every(heartbeatIntervalMs, () => this.#beat());
    if (stallTimeoutMs > 0) {
      this.#every(Math.max(10, Math.min(1000, stallTimeoutMs / 4)), () => {
        const now = performance.now();
        for (const connection of this.#connections.values()) connection.checkStalls(now);
      });
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
    return `ws://${host}:${address.port}${this.#settings.path}`;
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
    return {
      connectionCount: this.#connections.size,
      streamCount,
      httpStreamCount: this.#responses.size,
      queuedByteLength,
      maxQueuedByteLength,
      openSourceCount: this.#services.sources.count,
      sourceByteLength: this.#services.sources.reservedByteLength,
    };
  }

  /**
   * Publishes a typed array (sent as views of its memory, never copied; do not mutate it while
   * published) or an {@link ArraySource} under `name`. Republishing a name gives it a new
   * generation, so resumes of the old one get E_GONE.
   * @throws {TypeError} for a name of 0 or over 1,024 UTF-8 bytes; a value that is neither a typed
   *   array nor an ArraySource; a shape that does not match the array's length; meta that is not
   *   plain JSON (BigInt, NaN, `constructor` / `prototype` / `__proto__` keys, ...) or makes the
   *   header over 64 KiB; or options given with an ArraySource (its open() returns shape and meta).
   */
  publish(name: string, source: TypedArray | ArraySource, options?: PublishOptions): void {
    encodeName(name, (message) => new TypeError(message));
    let arraySource: ArraySource;
    if (ArrayBuffer.isView(source)) {
      const array = typedArraySource(source as TypedArray, options);
      checkHeaderFits(name, array.dtype, array.shape, array.meta ?? null);
      arraySource = { open: () => array };
    } else {
      if (options !== undefined && Object.values(options).some((value) => value !== undefined)) {
        throw new TypeError(
          "Invalid publish options: shape and meta apply to typed arrays only; an ArraySource's open() returns them",
        );
      }
      if (typeof (source as Partial<ArraySource> | null)?.open !== "function") {
        throw new TypeError(
          `Invalid source: expected a typed array or an ArraySource with open(), got ${typeof source}`,
        );
      }
      arraySource = source;
    }
    this.#services.registry.publish(name, arraySource);
  }

  /** Removes `name`. Streams already running finish. */
  unpublish(name: string): boolean {
    return this.#services.registry.unpublish(name);
  }

  /** Published names. */
  names(): string[] {
    return this.#services.registry.names();
  }

  /**
   * Sends E_SHUTDOWN to every stream in flight, closes every connection, and stops listening
   * (when it owns the http server). Connections that do not finish the close handshake within
   * a second are terminated.
   */
  async close(): Promise<void> {
    this.#closing = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#http.off("upgrade", this.#onUpgrade);
    this.#hooks.dispose();
    // An HTTP body cannot carry an error frame: cut it (the client sees E_CONNECTION_CLOSED, or
    // E_INCOMPLETE), and both are retryable with resume.
    for (const res of this.#responses) res.destroy();
    for (const res of this.#pendingRequests) sendError(res, "E_SHUTDOWN", "Server is shutting down");
    this.#pendingRequests.clear();
    for (const socket of this.#pendingUpgrades) socket.destroy();
    this.#pendingUpgrades.clear();
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
   * Closes the server (see {@link close}) on the first of `signals`, so that streams in flight
   * get an E_SHUTDOWN error frame and the process can exit instead of being killed mid-frame.
   * Returns a function that removes the handlers.
   */
  closeOnSignals(signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"], onClosed?: () => void): () => void {
    const handler = (signal: NodeJS.Signals) => {
      remove();
      this.#settings.log(`${signal}: closing`);
      void this.close().then(onClosed);
    };
    const remove = () => {
      for (const signal of signals) process.off(signal, handler);
    };
    for (const signal of signals) process.on(signal, handler);
    return remove;
  }

  /**
   * Serves an HTTP stream request (`GET <path>?name=...`, see docs/PROTOCOL.md) when the URL's
   * path is this server's; returns false, touching nothing, otherwise. Call it from your own
   * http server's request handler (or use {@link middleware}) when you passed `server`.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const target = parseTarget(req.url);
    if (target === null || target.pathname !== this.#settings.path) return false;
    if (this.#closing) {
      sendError(res, "E_SHUTDOWN", "Server is shutting down");
      return true;
    }
    this.#pendingRequests.add(res);
    void checkAccess(req, this.#settings.allowedHosts, this.#hooks)
      .then((refusal) => {
        this.#pendingRequests.delete(res);
        // The client may have gone while the authentication hook ran, or close() answered it.
        if (res.destroyed || res.headersSent) return;
        if (this.#closing) return sendError(res, "E_SHUTDOWN", "Server is shutting down");
        if (refusal) {
          // Only the address and the code: never the Origin, cookies or tokens.
          this.#hooks.logPeer("refused", `refused an HTTP request from ${req.socket.remoteAddress}: ${refusal.code}`);
          return sendError(res, refusal.code, refusal.message, refusal.status);
        }
        if (req.method !== "GET") {
          // HEAD would open a source to answer with a length: nothing is resolved for it.
          if (req.method === "HEAD") res.writeHead(405, { allow: "GET", "cache-control": "no-store" }).end();
          else sendError(res, "E_BAD_REQUEST", `Method ${req.method} not allowed: use GET`, 405, { allow: "GET" });
          return;
        }
        // A probe: the access checks passed (a client asks this to learn why an upgrade failed).
        if (!target.query.has("name") && target.query.has("probe")) {
          res.writeHead(200, { "content-length": 0, "cache-control": "no-store" }).end();
          return;
        }
        // HTTP streams count against the same per-address cap as WebSocket connections.
        const ip = req.socket.remoteAddress ?? "unknown";
        if (!this.#enter(ip)) {
          const max = this.#settings.maxConnectionsPerIp;
          sendError(res, "E_TOO_MANY_STREAMS", `Too many connections from this address (max ${max})`);
          this.#leave(ip);
          return;
        }
        this.#responses.add(res);
        res.once("close", () => {
          this.#responses.delete(res);
          this.#leave(ip);
        });
        return serveHttp(res, target.query, this.#services, () => this.#closing);
      })
      .catch((err: unknown) => {
        // A host app that already answered, a socket error mid-write: log it, never crash.
        this.#hooks.logPeer("http", `HTTP stream failed: ${(err as Error)?.message ?? err}`);
        res.destroy();
      });
    return true;
  }

  /** Connect-style middleware (Express, Vite's `server.middlewares`) around {@link handleRequest}. */
  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (!this.handleRequest(req, res)) next();
  };

  #every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const target = parseTarget(req.url);
    const ours = target !== null && target.pathname === this.#settings.path;
    // Another upgrade handler (Vite's HMR, say) may own this path, on a server we do not own.
    if (!ours && !this.#ownsServer) return;
    // Before any write: a peer resetting mid-handshake makes a write fail asynchronously, and an
    // 'error' without a listener ends the process.
    socket.on("error", () => {});
    const refusedWith = target === null ? 400 : !ours ? 404 : this.#closing ? 503 : 0;
    if (refusedWith !== 0) {
      refuseUpgrade(socket, refusedWith);
      return;
    }
    this.#pendingUpgrades.add(socket);
    void checkAccess(req, this.#settings.allowedHosts, this.#hooks).then((refusal) => {
      this.#pendingUpgrades.delete(socket);
      if (socket.destroyed) return;
      if (this.#closing) return refuseUpgrade(socket, 503);
      if (refusal) {
        // Only the address and the code: never the Origin, cookies or tokens.
        this.#hooks.logPeer("refused", `refused an upgrade from ${req.socket.remoteAddress}: ${refusal.code}`);
        return refuseUpgrade(socket, refusal.status);
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit("connection", ws, req));
    });
  };

  /** Counts one more connection or HTTP stream from `ip`; false when that is over the cap (count it back with #leave). */
  #enter(ip: string): boolean {
    const count = (this.#perIp.get(ip) ?? 0) + 1;
    this.#perIp.set(ip, count);
    return count <= this.#settings.maxConnectionsPerIp;
  }

  #leave(ip: string): void {
    const left = (this.#perIp.get(ip) ?? 1) - 1;
    if (left === 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, left);
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const ip = req.socket.remoteAddress ?? "unknown";
    const allowed = this.#enter(ip);
    ws.on("close", () => {
      this.#leave(ip);
      this.#connections.delete(ws);
    });
    if (!allowed) {
      ws.on("error", () => {});
      ws.close(1013, `too many connections from this address (max ${this.#settings.maxConnectionsPerIp})`);
      return;
    }
    this.#connections.set(ws, new Connection(ws, this.#services, this.#budget));
    this.#alive.add(ws);
    ws.on("pong", () => this.#alive.add(ws));
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
