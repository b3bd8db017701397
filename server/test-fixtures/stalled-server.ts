/**
 * Child process of server/stalled.test.ts (run with `node --expose-gc --import tsx`, config JSON
 * in argv[2], an IPC channel to the test). It publishes "big", a Float64Array with a[i] = i
 * generated once at startup (so the test's baseline RSS includes it), and "small", then answers
 * commands over IPC: "stats" (ArrayServer.stats() plus the server's log lines) and "gc". It exits
 * when the channel closes, so a test that dies cannot leave it behind.
 */
import { ArrayServer, fillArange, type ServerStats } from "../index.ts";

/** What the test passes in argv[2]. */
export interface StalledServerConfig {
  bigElementCount: number;
  smallElementCount: number;
  stallTimeoutMs: number;
  maxConnectionsPerIp: number;
}

/** Commands from the test. */
export type StalledServerCommand = { type: "stats"; id: number } | { type: "gc"; id: number };

/** Messages to the test. */
export type StalledServerReply =
  | { type: "listening"; url: string }
  | { type: "stats"; id: number; stats: ServerStats; logs: string[] }
  | { type: "done"; id: number };

/** Log lines kept for the test; the rest are counted away (a broken run must not flood memory). */
const MAX_LOGS = 500;

const config = JSON.parse(process.argv[2] ?? "{}") as StalledServerConfig;
const send = (reply: StalledServerReply) => process.send?.(reply);
const logs: string[] = [];

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

const server = new ArrayServer({
  port: 0,
  host: "127.0.0.1",
  stallTimeoutMs: config.stallTimeoutMs,
  maxConnectionsPerIp: config.maxConnectionsPerIp,
  // Off, so that only the stall timeout can drop a client (a paused peer cannot answer pings).
  heartbeatIntervalMs: 0,
  log: (message) => {
    if (logs.length < MAX_LOGS) logs.push(message);
  },
});
server.publish("big", fillArange("float64", config.bigElementCount));
server.publish("small", fillArange("float64", config.smallElementCount));
await server.listen();

process.on("message", (command: StalledServerCommand) => {
  switch (command.type) {
    case "stats":
      send({ type: "stats", id: command.id, stats: server.stats(), logs: [...logs] });
      break;
    case "gc":
      collectGarbage();
      send({ type: "done", id: command.id });
      break;
  }
});
process.on("disconnect", () => {
  void server.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

collectGarbage();
send({ type: "listening", url: server.url });
