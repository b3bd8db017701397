/**
 * ArrayServer: publishes named arrays and streams them on request, over WebSocket
 * (ws-endpoint.ts) and plain HTTP GET (http-endpoint.ts), as chunks that are views of the source
 * memory (or generated into pooled buffers). It listens on its own port or attaches to an
 * existing http(s).Server under a path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { assertLittleEndianHost, encodeName, type JsonObject, type TypedArray } from "../shared/index.ts";
import { InFlightBudget } from "./budget.ts";
import { requestAddress } from "./client-address.ts";
import { setCorsHeaders } from "./cors.ts";
import { FileDirectory, type FileDirectoryOptions } from "./file-sources/directory.ts";
import { contentGeneration, versionGeneration } from "./generation.ts";
import { Hooks } from "./hooks.ts";
import { HttpEndpoint } from "./http-endpoint.ts";
import { LiveArray, type LiveOptions } from "./live.ts";
import { checkHeaderFits } from "./meta.ts";
import { OpenSources } from "./open-sources.ts";
import { type ArrayServerOptions, resolveSettings, type ServerSettings, type ServerStats } from "./options.ts";
import { PerIpLimit } from "./per-ip.ts";
import type { StreamServices } from "./plan.ts";
import { sendError } from "./refusals.ts";
import { Registry } from "./registry.ts";
import { parseTarget } from "./request-target.ts";
import { SourceBudget } from "./source-budget.ts";
import { type ArraySource, describeTypedArray, type PublishOptions } from "./sources.ts";
import { UploadStore } from "./upload-store.ts";
import { WsEndpoint } from "./ws-endpoint.ts";

export class ArrayServer {
  readonly #http: Server;
  readonly #ownsServer: boolean;
  readonly #options: ArrayServerOptions;
  readonly #settings: ServerSettings;
  readonly #hooks: Hooks;
  readonly #services: StreamServices;
  readonly #ws: WsEndpoint;
  readonly #httpEndpoint: HttpEndpoint;
  /** Sockets of the http server we own, destroyed by close() after its grace period. */
  readonly #sockets = new Set<Socket>();
  /** What close() returns (it runs once). */
  #closed: Promise<void> | undefined;

  /**
   * Creates the server. Call {@link listen} unless you passed `server`.
   * @throws {RangeError} for option values out of range; {TypeError} for a bad allowedHosts or
   *   trustProxy.
   */
  constructor(options: ArrayServerOptions = {}) {
    assertLittleEndianHost();
    this.#options = options;
    this.#settings = resolveSettings(options);
    this.#hooks = new Hooks(options, this.#settings.log);
    // Every log line goes through the guard: a throwing log hook is ignored, not a crash.
    this.#settings.log = (message) => this.#hooks.log(message);
    const upload = this.#settings.upload;
    this.#services = {
      registry: new Registry(),
      sources: new OpenSources(new SourceBudget(this.#settings.maxSourceBytes), this.#hooks),
      hooks: this.#hooks,
      settings: this.#settings,
      uploads: upload === null ? null : new UploadStore(upload),
      publishUpload: (name: string, array: TypedArray, shape: number[], meta: JsonObject | null) =>
        this.publish(name, array, { shape, meta: meta ?? undefined }),
    };
    const perIp = new PerIpLimit(this.#settings.maxConnectionsPerIp);
    this.#ownsServer = options.server === undefined;
    this.#ws = new WsEndpoint(
      this.#services,
      new InFlightBudget(this.#settings.maxBytesInFlight),
      perIp,
      this.#ownsServer,
    );
    this.#httpEndpoint = new HttpEndpoint(this.#services, perIp);
    // An attached server is only listened to for 'upgrade' and asked its address(), which every
    // accepted server type (http, https, HTTP/2 with allowHTTP1) has in the same form.
    this.#http = (options.server as Server | undefined) ?? createServer((req, res) => this.#answerOwned(req, res));
    this.#http.on("upgrade", this.#ws.onUpgrade);
    if (this.#ownsServer) {
      this.#http.on("connection", (socket: Socket) => {
        this.#sockets.add(socket);
        socket.once("close", () => this.#sockets.delete(socket));
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
    return this.#ws.connectionCount;
  }

  /** A snapshot for monitoring: connections, streams in flight, bytes queued in sockets, open sources. */
  stats(): ServerStats {
    let streamCount = 0;
    let queuedByteLength = 0;
    let maxQueuedByteLength = 0;
    for (const connection of this.#ws.connections) {
      streamCount += connection.streamCount;
      queuedByteLength += connection.queuedByteLength;
      maxQueuedByteLength = Math.max(maxQueuedByteLength, connection.queuedByteLength);
    }
    return {
      connectionCount: this.#ws.connectionCount,
      streamCount,
      httpStreamCount: this.#httpEndpoint.streamCount,
      queuedByteLength,
      maxQueuedByteLength,
      openSourceCount: this.#services.sources.count,
      sourceByteLength: this.#services.sources.reservedByteLength,
      uploadCount: this.#services.uploads?.count ?? 0,
      uploadByteLength: this.#services.uploads?.reservedByteLength ?? 0,
    };
  }

  /**
   * Publishes a typed array (sent as views of its memory, never copied; do not mutate it while
   * published) or an {@link ArraySource} under `name`. A typed array's generation derives from
   * `options.version` when given, else from an XXH32 of its bytes, computed after this returns in
   * slices that yield to the event loop (requests for the name wait for it; it is also the
   * whole-array XXH32 that END carries): the same array published by several processes, or
   * republished unchanged, keeps its generation, and resumes stay valid; another content gets
   * another one, and resumes of the old one get E_GONE. An ArraySource's arrays name their own
   * (SourceArray.version), or get a number of this process's own.
   * @throws {TypeError} for a name of 0 or over 1,024 UTF-8 bytes; a value that is neither a typed
   *   array nor an ArraySource ("expected a typed array ..., got Array" for a plain array); a shape that does not match the array's length; meta that is not
   *   plain JSON (BigInt, NaN, `constructor` / `prototype` / `__proto__` keys, ...) or makes the
   *   header over 64 KiB; a version that is not a string; or options given with an ArraySource
   *   (its open() returns shape, meta and version).
   */
  publish(name: string, source: TypedArray | ArraySource, options?: PublishOptions): void {
    encodeName(name, (message) => new TypeError(message));
    if (Array.isArray(source) || source instanceof ArrayBuffer || source instanceof DataView) {
      // The usual first try (publish("x", [1, 2, 3])): say what to wrap it in.
      throw new TypeError(
        `Invalid array for ${JSON.stringify(name)}: expected a typed array (e.g. Float64Array.from(values)) or an ArraySource, got ${describeValue(source)}`,
      );
    }
    if (ArrayBuffer.isView(source)) {
      const { array, wholeChecksum } = describeTypedArray(source as TypedArray, options);
      const subject = { dtype: array.dtype, shape: array.shape, meta: array.meta ?? null };
      checkHeaderFits(name, subject.dtype, subject.shape, subject.meta);
      const generation =
        array.version !== undefined
          ? Promise.resolve(versionGeneration(subject, array.version))
          : // The whole-array XXH32, cached by the source: streams that verify reuse it.
            wholeChecksum("xxh32").then((sum) => contentGeneration(subject, sum));
      // A typed array describes itself for listings (docs/PROTOCOL.md §18).
      this.#services.registry.publish(name, { open: () => array, describe: () => subject }, "array", generation);
      return;
    }
    if (options !== undefined && Object.values(options).some((value) => value !== undefined)) {
      throw new TypeError(
        "Invalid publish options: shape, meta and version apply to typed arrays only; an ArraySource's open() returns them",
      );
    }
    if (typeof (source as Partial<ArraySource> | null)?.open !== "function") {
      throw new TypeError(
        `Invalid array for ${JSON.stringify(name)}: expected a typed array or an ArraySource with open(), got ${describeValue(source)}`,
      );
    }
    this.#services.registry.publish(name, source);
  }

  /**
   * Publishes a live array under `name`: a growable array of up to `maxLength` rows that clients
   * fetch as it is (a snapshot of its current length) or subscribe to (what exists, then every
   * append; docs/PROTOCOL.md §17). Its memory, maxLength rows, is allocated now (the OS commits
   * pages as rows are appended). Republishing the name, or unpublishing it, leaves the returned
   * array and its subscriptions running until close(). Its generation is a number of this
   * process's own (its content grows, so it is not hashed): a resume works on this process only.
   * @throws {TypeError} for a bad name, dtype, rowShape or meta (or a header over 64 KiB);
   *   {RangeError} for a maxLength or maxLagByteLength out of range.
   */
  publishLive(name: string, options: LiveOptions): LiveArray {
    encodeName(name, (message) => new TypeError(message));
    const live = new LiveArray(name, options);
    checkHeaderFits(name, live.dtype, live.shape, live.meta);
    this.#services.registry.publish(name, { open: () => live.lease().array }, "live", null, live);
    return live;
  }

  /**
   * Publishes the .npy files and Zarr arrays under directory `root`, each under `prefix` + its
   * path relative to the root ("runs/2024/temps.npy", "grid.zarr"), resolved when requested:
   * files added later are served. Names reach files only through the root (no "..", hidden
   * files, odd characters, or symlinks leading outside; see docs/SERVER.md). A name published
   * by itself wins over the directory; `unpublish(prefix)` removes the directory. Returns the
   * {@link FileDirectory}, whose `list()` and `stat()` describe its arrays without reading data.
   * @throws {TypeError} when `root` is not a directory, for a prefix that is not a string of at
   *   most 512 UTF-8 bytes, or for an invalid option; {RangeError} for a size option out of range.
   */
  publishDirectory(root: string, options: FileDirectoryOptions & { prefix?: string } = {}): FileDirectory {
    const { prefix = "", ...rest } = options;
    if (typeof prefix !== "string" || new TextEncoder().encode(prefix).byteLength > 512) {
      throw new TypeError(
        `Invalid prefix: expected a string of at most 512 UTF-8 bytes, got ${JSON.stringify(prefix)}`,
      );
    }
    const directory = new FileDirectory(root, rest);
    this.#services.registry.mount(prefix, directory);
    return directory;
  }

  /** Removes `name` (or the directory published with prefix `name`). Streams already running finish. */
  unpublish(name: string): boolean {
    return this.#services.registry.unpublish(name);
  }

  /** Published names. */
  names(): string[] {
    return this.#services.registry.names();
  }

  /**
   * Sends E_SHUTDOWN to every stream in flight, closes every connection with 1001, and stops
   * listening (when it owns the http server). HTTP requests still in the access checks get 503
   * E_SHUTDOWN, HTTP streams in flight are cut, upgrades in the access checks are dropped.
   * Resolves within about 1 s (CLOSE_GRACE_MS) whatever peers do: WebSocket peers that do not
   * finish the close handshake by then are terminated, and on an http server it owns every
   * socket left (half-sent requests, keep-alive connections) is destroyed. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#http.off("upgrade", this.#ws.onUpgrade);
    this.#hooks.dispose();
    this.#services.uploads?.close();
    this.#httpEndpoint.shutdown();
    const wsClosed = this.#ws.shutdown();
    const httpClosed =
      this.#ownsServer && this.#http.listening
        ? new Promise<void>((resolve) => this.#http.close(() => resolve()))
        : Promise.resolve();
    if (this.#ownsServer) this.#http.closeIdleConnections();
    await wsClosed;
    // Node stops its header timeouts once close() runs: a half-sent request would keep the
    // server open for good. Whatever is left on a server we own goes now.
    for (const socket of this.#sockets) socket.destroy();
    await httpClosed;
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
   * Serves an HTTP stream request (`GET <path>?name=...`, see docs/PROTOCOL.md), a probe
   * (`GET <path>?probe=1`) or a CORS preflight when the URL's path is this server's; returns
   * false, touching nothing, otherwise (a target that does not parse included). The path is the
   * whole path the client asked for: `req.originalUrl` when a router mounted this under a prefix.
   * Call it from your own http server's request handler (or use {@link middleware}) when you
   * passed `server`.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    return this.#httpEndpoint.handle(req, res);
  }

  /**
   * The address `req` is counted under for `maxConnectionsPerIp`: its peer's, or behind a proxy
   * listed in `trustProxy`, the client's from `X-Forwarded-For` (for your `authenticate` hook or
   * your logs).
   */
  clientAddress(req: IncomingMessage): string {
    return requestAddress(req, this.#services);
  }

  /**
   * Connect-style middleware (Express, Vite's `server.middlewares`) around {@link handleRequest}.
   * Mounted under a prefix (`app.use("/data", arrays.middleware)`), `path` must include it
   * (`path: "/data/arraywire"`): the WebSocket upgrade, which no router sees, uses that path too.
   */
  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (!this.handleRequest(req, res)) next();
  };

  /** The request handler of an http server we own: ours, or 400 / 404 with an ERROR body. */
  #answerOwned(req: IncomingMessage, res: ServerResponse): void {
    if (this.handleRequest(req, res)) return;
    const path = this.#settings.path;
    setCorsHeaders(req, res, "refusal"); // a page on another origin may read why
    if (parseTarget(req.url) === null) {
      sendError(res, "E_BAD_REQUEST", `Invalid request target: expected a path such as ${path}?name=...`);
    } else {
      sendError(
        res,
        "E_NOT_FOUND",
        `Nothing is served here: arraywire streams are at ${path} (WebSocket, or GET ${path}?name=...)`,
      );
    }
  }
}

/** A value as a message names it: "Array", "ArrayBuffer", "null", "number", "an object without open()". */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof name === "string" && name !== "Object") return name;
  return "an object without open()";
}
