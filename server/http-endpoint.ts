/**
/**
 * The HTTP side of the endpoint: which requests are arraywire's, CORS (cors.ts) and preflights,
 * the access checks, method and probe handling, the per-address cap, then the stream itself
 * (http-transport.ts) or a listing or stat (discovery.ts). It tracks requests waiting in the
 * access checks and streams in flight, so that close() can answer or cut every one of them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HTTP_CONTENT_TYPE } from "../shared/index.ts";
import { checkAccess, checkHostAndOrigin } from "./access.ts";
import { requestAddress } from "./client-address.ts";
import { answerPreflight, isPreflight, setCorsHeaders } from "./cors.ts";
import { serveList, serveStat } from "./discovery.ts";
import { serveHttp } from "./http-transport.ts";
import type { PerIpLimit } from "./per-ip.ts";
import type { StreamServices } from "./plan.ts";
import { sendError } from "./refusals.ts";
import { parseTarget, type RequestTarget, targetOf } from "./request-target.ts";

export class HttpEndpoint {
  readonly #services: StreamServices;
  readonly #perIp: PerIpLimit;
  /** HTTP requests waiting for the access checks, answered with E_SHUTDOWN by shutdown(). */
  readonly #pending = new Set<ServerResponse>();
  /** HTTP streams in flight, cut by shutdown(). */
  readonly #responses = new Set<ServerResponse>();
  #closing = false;

  constructor(services: StreamServices, perIp: PerIpLimit) {
    this.#services = services;
    this.#perIp = perIp;
  }

  /** HTTP streams in flight. */
  get streamCount(): number {
    return this.#responses.size;
  }

  /**
   * Takes the request when its path is the endpoint's (returns true), else touches nothing and
   * returns false. The path is matched against the whole path the client asked for
   * (`req.originalUrl` when a connect-style router mounted the middleware under a prefix and
   * stripped it from `req.url`). Never throws, whatever the request target.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const { settings, hooks } = this.#services;
    const target = parseTarget(targetOf(req));
    if (target === null || target.pathname !== settings.path) {
      this.#warnAboutPrefix(req);
      return false;
    }
    if (this.#closing) {
      setCorsHeaders(req, res, "refusal");
      sendError(res, "E_SHUTDOWN", "Server is shutting down");
      return true;
    }
    if (isPreflight(req)) {
      this.#preflight(req, res);
      return true;
    }
    this.#pending.add(res);
    void checkAccess(req, settings.allowedHosts, hooks)
      .then(async (refusal) => {
        this.#pending.delete(res);
        // The client may have gone while the authentication hook ran, or shutdown() answered it.
        if (res.destroyed || res.headersSent) return;
        if (this.#closing) {
          setCorsHeaders(req, res, "refusal");
          return sendError(res, "E_SHUTDOWN", "Server is shutting down");
        }
        if (refusal) {
          // Only the address and the code: never the Origin, cookies or tokens.
          hooks.logPeer(
            "refused",
            `refused an HTTP request from ${requestAddress(req, this.#services)}: ${refusal.code}`,
          );
          // An origin that passed keeps its credentials (a 401 it may fix); any other refusal is
          // readable without them, so that the page learns why.
          setCorsHeaders(req, res, refusal.code === "E_UNAUTHORIZED" ? this.#granted : "refusal");
          return sendError(res, refusal.code, refusal.message, refusal.status);
        }
        setCorsHeaders(req, res, this.#granted);
        await this.#serve(req, res, target);
      })
      .catch((err: unknown) => {
        // A host app that already answered, a socket error mid-write: log it, never crash.
        hooks.logPeer("http", `HTTP stream failed: ${(err as Error)?.message ?? err}`);
        res.destroy();
      });
    return true;
  }

  /** CORS for an origin that passed the checks: "*" when allowedOrigins is "*", else its own. */
  get #granted(): "granted" | "any" {
    return this.#services.hooks.allowsAnyOrigin ? "any" : "granted";
  }

  /** A CORS preflight: 204 for an origin the Host and Origin checks admit, 403 (no CORS) otherwise. */
  #preflight(req: IncomingMessage, res: ServerResponse): void {
    const { settings, hooks } = this.#services;
    const refusal = checkHostAndOrigin(req, settings.allowedHosts, hooks);
    if (refusal) {
      hooks.logPeer("refused", `refused a CORS preflight from ${req.socket.remoteAddress}: ${refusal.code}`);
      sendError(res, refusal.code, refusal.message, refusal.status);
      return;
    }
    answerPreflight(req, res, this.#granted);
  }

  #prefixWarned = false;

  /**
   * A connect-style router that mounted the middleware under a prefix strips it from `req.url`
   * but keeps `req.originalUrl`: when the stripped path is the endpoint's and the whole one is
   * not, the server's `path` was probably meant to include the prefix. Said once, in the log.
   */
  #warnAboutPrefix(req: IncomingMessage): void {
    const original = (req as { originalUrl?: unknown }).originalUrl;
    if (this.#prefixWarned || typeof original !== "string" || original === req.url) return;
    const stripped = parseTarget(req.url);
    const whole = parseTarget(original);
    if (stripped?.pathname !== this.#services.settings.path || whole === null) return;
    this.#prefixWarned = true;
    const prefix = whole.pathname.slice(0, whole.pathname.length - stripped.pathname.length);
    this.#services.hooks.log(
      `the middleware is mounted under ${prefix}, so ${whole.pathname} is not the endpoint: path is the whole path the client uses (both transports), e.g. path: ${JSON.stringify(prefix + this.#services.settings.path)}`,
    );
  }

  async #serve(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    if (req.method !== "GET") {
      // HEAD would have to open a source to answer with a length: nothing is opened for it.
      if (req.method === "HEAD") res.writeHead(405, { allow: "GET", "cache-control": "no-store" }).end();
      else sendError(res, "E_BAD_REQUEST", `Method ${req.method} not allowed: use GET`, 405, { allow: "GET" });
      return;
    }
    const { query } = target;
    // Discovery (PROTOCOL.md §18): a listing, or a stat of one name, as JSON.
    const discovery = query.has("list") ? "list" : query.has("stat") ? "stat" : null;
    // A probe: the access checks passed (a client asks this to learn why an upgrade failed).
    if (discovery === null && !query.has("name") && query.has("probe")) {
      // The content type says "arraywire answered", which a 200 from another app (an SPA's
      // index.html fallback) does not.
      res
        .writeHead(200, {
          "content-type": HTTP_CONTENT_TYPE,
          "content-length": 0,
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        })
        .end();
      return;
    }
    const ip = requestAddress(req, this.#services);
    if (!this.#perIp.enter(ip)) {
      this.#perIp.leave(ip);
      sendError(res, "E_TOO_MANY_STREAMS", `Too many connections from this address (max ${this.#perIp.max})`);
      return;
    }
    this.#responses.add(res);
    res.once("close", () => {
      this.#responses.delete(res);
      this.#perIp.leave(ip);
    });
    if (discovery === "list") await serveList(res, this.#services);
    else if (discovery === "stat") await serveStat(res, query, this.#services);
    else await serveHttp(req, res, query, this.#services, () => this.#closing);
  }

  /**
   * Answers requests still in the access checks with 503 E_SHUTDOWN and cuts streams in flight
   * (an HTTP body cannot carry an error once it began: the client sees E_CONNECTION_CLOSED or
   * E_INCOMPLETE, both retryable with resume). New requests get 503 E_SHUTDOWN from then on.
   */
  shutdown(): void {
    this.#closing = true;
    for (const res of this.#pending) sendError(res, "E_SHUTDOWN", "Server is shutting down");
    this.#pending.clear();
    for (const res of this.#responses) res.destroy();
  }
}
