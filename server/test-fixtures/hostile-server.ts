/**
 * Child process of the hostile-peer tests (run with `node --expose-gc --import tsx`, config JSON
 * in argv[2], an IPC channel to the test). It runs an ArrayServer on 127.0.0.1, port 0 (its own
 * http server, or attached to one whose other paths answer 418), so that a crash shows as this
 * process exiting and its memory and event-loop lag can be measured apart from the test's.
 * It publishes "arange" (maxByteLength from the config), "small" (1,000 float64) and "grow" (below).
 * Commands: "stats" (server stats, RSS, peak RSS, event-loop lag, log lines), "reset" (peak RSS
 * and lag start over), "gc", "close" (how long close() took). It exits when the channel closes.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  ArrayServer,
  type ArrayServerOptions,
  type ArraySource,
  arange,
  type ServerStats,
  typedArraySource,
} from "../index.ts";

/** What the test passes in argv[2]. */
export interface HostileServerConfig {
  /** ArrayServer options (JSON-able ones); `log` is always the fixture's own. */
  options?: Omit<ArrayServerOptions, "log" | "server" | "authenticate" | "allowedOrigins">;
  /** Attach to a plain http server instead of owning one. */
  attached?: boolean;
  /** maxByteLength of the "arange" source. */
  arangeMaxByteLength?: number;
  /**
   * Install an authenticate hook that accepts every request after the delay its
   * `x-auth-delay-ms` header asks for (none: at once), so a test can hold a request in it.
   */
  slowAuth?: boolean;
}

export type HostileServerCommand =
  | { type: "stats"; id: number }
  | { type: "reset"; id: number }
  | { type: "gc"; id: number }
  | { type: "close"; id: number };

export interface HostileServerStats {
  stats: ServerStats;
  rssBytes: number;
  /** VmHWM since the last "reset" (0 where the kernel does not allow resetting it). */
  peakRssBytes: number;
  /** Largest event-loop delay since the last "reset", in ms. */
  maxLagMs: number;
  logCount: number;
  /** The last lines logged (at most 20). */
  logs: string[];
}

export type HostileServerReply =
  | { type: "listening"; url: string; port: number }
  | ({ type: "stats"; id: number } & HostileServerStats)
  | { type: "done"; id: number }
  | { type: "closed"; id: number; closeMs: number };

/**
 * "grow": a source that materialises what it serves. Params `{ mib, id }`: it reserves `mib` MiB
 * against maxSourceBytes, then allocates and fills them (so they count in RSS). `id` only makes
 * requests distinct, so each one opens its own array.
 */
const grow: ArraySource = {
  open(params, context) {
    const mib = Number(params?.mib ?? 1);
    context.reserve(mib * 1024 * 1024);
    const array = new Float64Array((mib * 1024 * 1024) / 8).fill(Number(params?.id ?? 1));
    return typedArraySource(array);
  },
};

const config = JSON.parse(process.argv[2] ?? "{}") as HostileServerConfig;
const send = (reply: HostileServerReply) => process.send?.(reply);
const logs: string[] = [];
let logCount = 0;
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();

const host = config.attached
  ? createServer((req, res) => {
      if (!server.handleRequest(req, res)) res.writeHead(418).end();
    })
  : undefined;
host?.on("upgrade", (req, socket) => {
  if (!req.url?.startsWith("/arraywire")) socket.end("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n");
});
const server = new ArrayServer({
  ...config.options,
  port: 0,
  host: "127.0.0.1",
  server: host,
  authenticate: config.slowAuth
    ? (req) => {
        const delayMs = Math.min(Number(req.headers["x-auth-delay-ms"] ?? 0) || 0, 60_000);
        return new Promise<boolean>((resolve) => setTimeout(() => resolve(true), delayMs));
      }
    : undefined,
  log: (message) => {
    logCount++;
    logs.push(message);
    if (logs.length > 20) logs.shift();
  },
});
server.publish("arange", arange({ maxByteLength: config.arangeMaxByteLength }));
server.publish("grow", grow);
server.publish(
  "small",
  Float64Array.from({ length: 1000 }, (_, i) => i),
);
if (host) await new Promise<void>((resolve) => host.listen(0, "127.0.0.1", () => resolve()));
await server.listen();

function kB(status: string, key: string): number {
  return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
}

function resetPeak(): void {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    // Not allowed here: peakRssBytes then stays the process's lifetime peak.
  }
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

process.on("message", (command: HostileServerCommand) => {
  switch (command.type) {
    case "stats": {
      const status = readFileSync("/proc/self/status", "utf8");
      send({
        type: "stats",
        id: command.id,
        stats: server.stats(),
        rssBytes: kB(status, "VmRSS"),
        peakRssBytes: kB(status, "VmHWM"),
        maxLagMs: lag.max / 1e6,
        logCount,
        logs: [...logs],
      });
      break;
    }
    case "reset":
      resetPeak();
      lag.reset();
      send({ type: "done", id: command.id });
      break;
    case "gc":
      collectGarbage();
      send({ type: "done", id: command.id });
      break;
    case "close": {
      const t0 = performance.now();
      void server.close().then(() => send({ type: "closed", id: command.id, closeMs: performance.now() - t0 }));
      break;
    }
  }
});
process.on("disconnect", () => {
  void server.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

collectGarbage();
const { port } = (host?.address() ?? (await server.listen())) as AddressInfo;
send({ type: "listening", url: server.url, port });
