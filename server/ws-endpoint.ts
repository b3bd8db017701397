/**
 * The WebSocket side of the endpoint: upgrades (target, access checks, then ws's handshake), the
 * per-address cap, heartbeats and stall checks, and the connections (connection.ts). shutdown()
 * closes them all within a grace period, whatever peers do.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type ServerOptions, type WebSocket, WebSocketServer } from "ws";
import { SUBPROTOCOL } from "../shared/index.ts";
import { checkAccess } from "./access.ts";
import type { InFlightBudget } from "./budget.ts";
import { requestAddress } from "./client-address.ts";
import { Connection } from "./connection.ts";
import type { PerIpLimit } from "./per-ip.ts";
import type { StreamServices } from "./plan.ts";
import { refuseUpgrade } from "./refusals.ts";
import { parseTarget } from "./request-target.ts";

/** How long a peer has to answer a close frame, and shutdown() to let connections finish, in ms. */
export const CLOSE_GRACE_MS = 1000;

/** Most WebSocket fragments one client message may come in. */
const MAX_CLIENT_FRAGMENTS = 256;

export class WsEndpoint {
  readonly #services: StreamServices;
  readonly #budget: InFlightBudget;
  readonly #perIp: PerIpLimit;
  readonly #ownsServer: boolean;
  readonly #wss: WebSocketServer;
  readonly #connections = new Map<WebSocket, Connection>();
  readonly #alive = new WeakSet<WebSocket>();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  /** Upgrades waiting for the access checks (a slow authenticate hook), dropped by shutdown(). */
  readonly #pendingUpgrades = new Set<Duplex>();
  #closing = false;

  /** @param ownsServer whether upgrades on other paths are ours to refuse (404) or another handler's. */
  constructor(services: StreamServices, budget: InFlightBudget, perIp: PerIpLimit, ownsServer: boolean) {
    this.#services = services;
    this.#budget = budget;
    this.#perIp = perIp;
    this.#ownsServer = ownsServer;
    // closeTimeout is in ws 8.23 but not yet in @types/ws 8.18, hence the widened type.
    const options: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      // With uploads on, payload messages up to their cap must get through; connection.ts still
      // holds control messages to maxControlByteLength (1009 above).
      maxPayload: Math.max(services.settings.maxControlByteLength, services.settings.upload?.maxPayloadByteLength ?? 0),
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
    this.#wss = new WebSocketServer(options);
    this.#wss.on("error", (err) => services.hooks.logPeer("ws", `server error: ${err.message}`));
    this.#wss.on("connection", (ws, req) => this.#onConnection(ws, req));
    const { heartbeatIntervalMs, stallTimeoutMs } = services.settings;
    if (heartbeatIntervalMs > 0) this.#every(heartbeatIntervalMs, () => this.#beat());
    if (stallTimeoutMs > 0) {
      this.#every(Math.max(10, Math.min(1000, stallTimeoutMs / 4)), () => {
        const now = performance.now();
        for (const connection of this.#connections.values()) connection.checkStalls(now);
      });
    }
  }

  /** Open connections (not counting ones closed for being over the per-IP cap). */
  get connections(): Iterable<Connection> {
    return this.#connections.values();
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The http server's 'upgrade' listener. Never throws, whatever the request target. */
  readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const target = parseTarget(req.url);
    const ours = target !== null && target.pathname === this.#services.settings.path;
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
    const { settings, hooks } = this.#services;
    void checkAccess(req, settings.allowedHosts, hooks).then((refusal) => {
      this.#pendingUpgrades.delete(socket);
      if (socket.destroyed) return;
      if (this.#closing) return refuseUpgrade(socket, 503);
      if (refusal) {
        // Only the address and the code: never the Origin, cookies or tokens.
        hooks.logPeer("refused", `refused an upgrade from ${requestAddress(req, this.#services)}: ${refusal.code}`);
        return refuseUpgrade(socket, refusal.status);
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit("connection", ws, req));
    });
  };

  /**
   * Sends E_SHUTDOWN to every stream, closes every connection with 1001, and resolves once they
   * are all closed or after `graceMs`, when the rest are terminated. Upgrades still in the access
   * checks are dropped; new ones get 503.
   */
  async shutdown(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.#closing = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const socket of this.#pendingUpgrades) socket.destroy();
    this.#pendingUpgrades.clear();
    for (const connection of this.#connections.values()) connection.shutdown();
    // Connections closing already (over the per-IP cap) need not wait for their peers.
    for (const ws of this.#wss.clients) if (!this.#connections.has(ws)) ws.terminate();
    const closed = [...this.#wss.clients].map(
      (ws) => new Promise((resolve) => (ws.readyState === ws.CLOSED ? resolve(null) : ws.once("close", resolve))),
    );
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise((resolve) => {
        grace = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(grace);
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    if (this.#closing) {
      ws.terminate(); // its handshake finished while shutdown() ran
      return;
    }
    const ip = requestAddress(req, this.#services);
    const allowed = this.#perIp.enter(ip);
    ws.on("close", () => {
      this.#perIp.leave(ip);
      this.#connections.delete(ws);
    });
    if (!allowed) {
      ws.on("error", () => {});
      ws.close(1013, `too many connections from this address (max ${this.#perIp.max})`);
      return;
    }
    this.#connections.set(ws, new Connection(ws, this.#services, this.#budget, req));
    this.#alive.add(ws);
    ws.on("pong", () => this.#alive.add(ws));
  }

  #beat(): void {
    for (const ws of this.#connections.keys()) {
      if (!this.#alive.has(ws)) {
        this.#services.hooks.logPeer("heartbeat", "terminating a connection that missed a heartbeat");
        ws.terminate();
        continue;
      }
      this.#alive.delete(ws);
      ws.ping();
    }
  }
}
