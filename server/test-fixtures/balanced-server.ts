/**
 * One backend of a load-balanced setup: the child process that server/balanced.test.ts and
 * bench/balanced.ts start two or three of, behind nginx or HAProxy (run with
 * `node --import tsx`, config JSON in argv[2], an IPC channel to the parent).
 *
 * It publishes the same array under the same name as every other backend: a Float64Array with
 * a[i] = i, generated here at startup. Its generation derives from its content (an XXH32 of its
 * bytes, hashed after publish), so every backend answers with the same generation, whatever it
 * published before, and a resume is valid on any of them.
 *
 * It reports `{ type: "listening", port, pid }` over IPC and exits when the channel closes, so a
 * parent that dies cannot leave it behind. The parent reads how many bytes it has written from
 * /proc/<pid>/io (server/test-fixtures/backends.ts), which needs nothing from the server.
 */
import { ArrayServer } from "../index.ts";

/** What the parent passes in argv[2]. */
export interface BalancedServerConfig {
  /** Port to listen on (127.0.0.1); 0 picks one. A restarted backend gets its old port back. */
  port: number;
  /** Name the array is published under. */
  name: string;
  /** Elements of the float64 array a[i] = i. */
  elementCount: number;
  /** ArrayServer's heartbeatIntervalMs (0 turns pings off). */
  heartbeatIntervalMs: number;
  /**
   * ArrayServer's maxConnectionsPerIp. Behind a proxy every client comes from the proxy's
   * address, so this caps the whole proxy, not one client (docs/DEPLOY.md).
   */
  maxConnectionsPerIp: number;
  /** ArrayServer's trustProxy (addresses whose X-Forwarded-For it believes). Defaults to none. */
  trustProxy?: string[];
  /**
   * Times the same array is published under the same name before the last publish, as a
   * process that refreshed unchanged data would have done. Defaults to 0.
   */
  republishCount?: number;
}

/** The message to the parent once the backend listens. */
export interface BalancedServerReply {
  type: "listening";
  port: number;
  pid: number;
}

/** Log lines kept; a broken run must not flood memory. */
const MAX_LOG_LINES = 100;

const config = JSON.parse(process.argv[2] ?? "{}") as BalancedServerConfig;
const send = (reply: BalancedServerReply) => process.send?.(reply);

let logLineCount = 0;
const server = new ArrayServer({
  port: config.port,
  host: "127.0.0.1",
  heartbeatIntervalMs: config.heartbeatIntervalMs,
  maxConnectionsPerIp: config.maxConnectionsPerIp,
  trustProxy: config.trustProxy,
  log: (line) => {
    // stderr is the parent's: a few lines help when a run fails, a flood would not.
    if (logLineCount++ < MAX_LOG_LINES) console.error(`[backend ${process.pid}] ${line}`);
  },
});
const array = new Float64Array(config.elementCount);
for (let i = 0; i < array.length; i++) array[i] = i;
for (let i = 0; i < (config.republishCount ?? 0); i++) server.publish(config.name, array);
server.publish(config.name, array);
const address = await server.listen();

process.on("disconnect", () => {
  setTimeout(() => process.exit(0), 2000).unref();
  void server.close().finally(() => process.exit(0));
});
send({ type: "listening", port: address.port, pid: process.pid });
