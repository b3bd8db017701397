/**
 * The HTTP side of the endpoint: which requests are arraywire's, the access checks, method and
 * probe handling, the per-address cap, then the stream itself (http-transport.ts). It tracks
 * requests waiting in the access checks and streams in flight, so that close() can answer or
 * cut every one of them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { checkAccess } from "./access.ts";
import { requestAddress } from "./client-address.ts";
import { serveHttp } from "./http-transport.ts";
import type { PerIpLimit } from "./per-ip.ts";
import type { StreamServices } from "./plan.ts";
import { sendError } from "./refusals.ts";
import { parseTarget, type RequestTarget } from "./request-target.ts";

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
   * returns false. Never throws, whatever the request target.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const target = parseTarget(req.url);
    if (target === null || target.pathname !== this.#services.settings.path) return false;
    if (this.#closing) {
      sendError(res, "E_SHUTDOWN", "Server is shutting down");
      return true;
    }
    this.#pending.add(res);
    const { settings, hooks } = this.#services;
    void checkAccess(req, settings.allowedHosts, hooks)
      .then(async (refusal) => {
        this.#pending.delete(res);
        // The client may have gone while the authentication hook ran, or shutdown() answered it.
        if (res.destroyed || res.headersSent) return;
        if (this.#closing) return sendError(res, "E_SHUTDOWN", "Server is shutting down");
        if (refusal) {
          // Only the address and the code: never the Origin, cookies or tokens.
          hooks.logPeer(
            "refused",
            `refused an HTTP request from ${requestAddress(req, this.#services)}: ${refusal.code}`,
          );
          return sendError(res, refusal.code, refusal.message, refusal.status);
        }
        await this.#serve(req, res, target);
      })
      .catch((err: unknown) => {
        // A host app that already answered, a socket error mid-write: log it, never crash.
        hooks.logPeer("http", `HTTP stream failed: ${(err as Error)?.message ?? err}`);
        res.destroy();
      });
    return true;
  }

  async #serve(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    if (req.method !== "GET") {
      // HEAD would have to open a source to answer with a length: nothing is opened for it.
      if (req.method === "HEAD") res.writeHead(405, { allow: "GET", "cache-control": "no-store" }).end();
      else sendError(res, "E_BAD_REQUEST", `Method ${req.method} not allowed: use GET`, 405, { allow: "GET" });
      return;
    }
    // A probe: the access checks passed (a client asks this to learn why an upgrade failed).
    if (!target.query.has("name") && target.query.has("probe")) {
      res.writeHead(200, { "content-length": 0, "cache-control": "no-store" }).end();
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
    await serveHttp(req, res, target.query, this.#services, () => this.#closing);
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
