/**
 * The demo (`npm start`): one http server on HOST:PORT (defaults 127.0.0.1:5173) that serves the
 * dashboard in client/demo through Vite in middleware mode, carries Vite's HMR socket, and hosts
 * an {@link ArrayServer} at /arraywire (WebSocket upgrades, and GET for the HTTP transport)
 * publishing `arange` under the name "arange", once written, the file dataset "signal"
 * (server/demo-signal.ts: a 50M-sample float64 .npy in a cache directory, served by npyFile), and
 * a live array "live-signal" that grows at 20 Hz (server/demo-live.ts). It takes uploads under
 * names that start with "upload/" (published once verified, within a 512 MiB budget) and lists
 * what it publishes.
 *
 * Besides the page it answers GET /api/info with what the server publishes and which dtypes its
 * runtime can generate (Node 20 has no Float16Array), so the page can grey out what would fail.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { relative } from "node:path";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { createServer as createViteServer, version as viteVersion } from "vite";
import { DTYPES, isDtypeSupported } from "../shared/index.ts";
import { startDemoSignal } from "./demo-live.ts";
import { prepareSignal, SIGNAL_LENGTH, signalState } from "./demo-signal.ts";
import { ArrayServer, arange, npyFile } from "./index.ts";
import { refuseUpgrade } from "./refusals.ts";
import { parseTarget } from "./request-target.ts";

const DEFAULT_PORT = 5173;
/**
 * Largest array `arange` generates: 32 GiB (arange's default is 256 MiB), so the 500M float64
 * preset (4 GB) fits, and so does a request past what a browser tab can allocate (which the
 * client refuses with E_ALLOCATION_FAILED at the header). Generated chunk by chunk, it costs the
 * server no memory per request.
 */
const MAX_ARANGE_BYTE_LENGTH = 2 ** 35;
const ENDPOINT_PATH = "/arraywire";
const INFO_PATH = "/api/info";
/** Uploads the demo takes: names under this prefix, within this budget. */
const UPLOAD_PREFIX = "upload/";
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
/** How long responses in flight (HTTP-transport streams) may run on after SIGINT/SIGTERM. */
const SHUTDOWN_GRACE_MS = 1000;

const host = process.env.HOST || "127.0.0.1";
const port = parsePort(process.env.PORT);

const httpServer = createServer();
const vite = await createViteServer({
  configFile: fileURLToPath(new URL("../vite.config.ts", import.meta.url)),
  root: fileURLToPath(new URL("../client/demo", import.meta.url)),
  // Vite 8 moved hmr.server to ws.server (hmr.server still works, with a deprecation warning).
  // DEMO_HMR=0 (the e2e tests) keeps edits to the sources from reloading a page mid-stream.
  server: { middlewareMode: true, ws: { server: httpServer }, hmr: process.env.DEMO_HMR !== "0" },
});
const arrays = new ArrayServer({
  server: httpServer,
  path: ENDPOINT_PATH,
  upload: {
    onUpload: ({ name }) => (name.startsWith(UPLOAD_PREFIX) ? { allocate: true, publish: true } : false),
    maxUploadBytes: MAX_UPLOAD_BYTES,
  },
});
arrays.publish("arange", arange({ maxByteLength: MAX_ARANGE_BYTE_LENGTH }));
const stopSignal = startDemoSignal(arrays);
/** The file dataset: written in the background at first start, published once complete. */
const signal = signalState();

httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
  // Parsed inside a try (parseTarget): a target such as `//[` must not end the process, and is
  // nobody's to serve.
  const target = parseTarget(req.url);
  if (target === null) {
    res.writeHead(400, { "content-type": "text/plain" }).end("Invalid request target\n");
    return;
  }
  if (req.method === "GET" && target.pathname === INFO_PATH) {
    sendInfo(res);
    return;
  }
  // GET /arraywire?name=... is the HTTP transport; every other path is the page (Vite).
  if (arrays.handleRequest(req, res)) return;
  vite.middlewares(req, res, () => {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("Not found\n");
  });
});

// Upgrades whose target does not parse are nobody's (ArrayServer and Vite leave them alone).
httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex) => {
  if (parseTarget(req.url) !== null) return;
  socket.on("error", () => {}); // before the write: the peer may already have reset
  refuseUpgrade(socket, 400);
});

await new Promise<void>((resolve, reject) => {
  httpServer.once("error", reject);
  httpServer.listen(port, host, () => {
    httpServer.off("error", reject);
    resolve();
  });
});
// With PORT=0 the OS picks the port: print the one actually bound.
const boundPort = (httpServer.address() as AddressInfo).port;
const origin = `${host.includes(":") ? `[${host}]` : host}:${boundPort}`;
console.log(`arraywire demo: http://${origin}/`);
console.log(`  WebSocket ws://${origin}${ENDPOINT_PATH} publishes: ${arrays.names().join(", ")}`);
console.log(
  `  page: ${relative(process.cwd(), vite.config.root) || "."} (Vite ${viteVersion}, HMR ${vite.config.server.hmr === false ? "off" : "on"})`,
);
console.log("  Ctrl+C to stop");
void prepareSignal(signal).then((path) => {
  if (path === null) {
    console.log(`arraywire demo: could not write the signal dataset: ${signal.error}`);
    return;
  }
  arrays.publish("signal", npyFile(path));
  console.log(`arraywire demo: publishing "signal" from ${path}`);
});

let closing = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (closing) {
    // A second Ctrl+C while streams drain: stop now.
    process.exit(1);
  }
  closing = true;
  console.log(`\narraywire demo: ${signal}, shutting down`);
  // ArrayServer.close() sends E_SHUTDOWN to WebSocket streams in flight, closes their sockets and
  // cuts its HTTP-transport responses (within about a second); Vite closes its HMR socket and
  // watcher. The http server is the demo's: what else is still open on it (a page's keep-alive
  // connection, a half-sent request) gets a grace period and is then cut.
  stopSignal();
  await arrays.close();
  await vite.close();
  const force = setTimeout(() => httpServer.closeAllConnections(), SHUTDOWN_GRACE_MS);
  const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
  httpServer.closeIdleConnections();
  await closed;
  clearTimeout(force);
  process.exit(0);
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

function sendInfo(res: ServerResponse): void {
  const body = JSON.stringify({
    names: arrays.names(),
    datasets: [
      {
        name: "signal",
        description: "a 50M-sample float64 signal (.npy file)",
        dtype: "float64",
        shape: [SIGNAL_LENGTH],
        state: signal.state,
        progress: signal.progress,
      },
    ],
    dtypes: DTYPES.filter(isDtypeSupported),
    maxByteLength: MAX_ARANGE_BYTE_LENGTH,
    endpointPath: ENDPOINT_PATH,
    uploadPrefix: UPLOAD_PREFIX,
    maxUploadBytes: MAX_UPLOAD_BYTES,
  });
  res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(body);
}

/**
 * PORT as a number.
 * @throws {RangeError} for anything but an integer in 0..65535.
 */
function parsePort(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_PORT;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new RangeError(`Invalid PORT: expected an integer in 0..65535, got ${JSON.stringify(value)}`);
  }
  return parsed;
}
