/**
 * The bench's server process (run by the orchestrator with `node --expose-gc`, config JSON in
 * argv[2], an IPC channel to the orchestrator). One loopback http server carries:
 * - the ArrayServer at /arraywire (WebSocket, and GET for the HTTP transport), publishing
 *   `f64-<n>` (0..n-1 as float64) for each configured size;
 * - the peer endpoints of peer-servers.ts (/raw, /json, /arrow, /wsloop, /wsone), plus a raw TCP port
 *   (the XXH32 of each array, for /raw's hash=1, is computed once at start);
 * - up to MAX_CONNECTIONS_PER_IP connections from the one loopback address (the many-clients runs);
 * - the bench page (/page/...), and the page's handshake: POST /ready?run= is held until the
 *   orchestrator has sampled the renderer's baseline RSS and says "go"; POST /result carries the
 *   page's report, forwarded over IPC.
 * It runs apart from the measured Node client so that each gets its own core.
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join } from "node:path";
import { ArrayServer, fillArange } from "../server/index.ts";
import { xxh32 } from "../shared/index.ts";
import type { FromServer, RunReport, ServerConfig, ToServer } from "./messages.ts";
import { arrayName, RAW_CHECKSUM_HEADER } from "./messages.ts";
import {
  bytesOf,
  createRawTcpServer,
  encodeArrow,
  encodeJson,
  peerUpgradeHandler,
  sendBody,
  writeSize,
} from "./peer-servers.ts";

const MiB = 1024 * 1024;
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
};

const config = JSON.parse(process.argv[2] ?? "{}") as ServerConfig;
const send = (message: FromServer) => process.send?.(message);

const arrays = new Map<number, Float64Array>();
const jsonBodies = new Map<number, Uint8Array>();
const arrowBodies = new Map<number, Uint8Array>();
/** XXH32 of each array, 8 hex digits: what the verified hand-written BYOB loop checks against. */
const checksums = new Map<number, string>();
for (const n of config.elementCounts) {
  const array = fillArange("float64", n) as Float64Array;
  arrays.set(n, array);
  checksums.set(n, xxh32(bytesOf(array)).toString(16).padStart(8, "0"));
}
for (const n of config.jsonElementCounts) jsonBodies.set(n, encodeJson(arrays.get(n) ?? new Float64Array()));
for (const n of config.arrowElementCounts) {
  arrowBodies.set(n, encodeArrow(arrays.get(n) ?? new Float64Array(), config.arrowBatchRowCount));
}

const held = new Map<number, ServerResponse>();
const http = createServer((req, res) => void route(req, res));
/** Above the largest many-clients run (50), since every client comes from 127.0.0.1. */
const MAX_CONNECTIONS_PER_IP = 64;
const arrayServer = new ArrayServer({
  server: http,
  path: "/arraywire",
  heartbeatIntervalMs: 0,
  maxConnectionsPerIp: MAX_CONNECTIONS_PER_IP,
});
for (const [n, array] of arrays) arrayServer.publish(arrayName(n), array);
http.on("upgrade", peerUpgradeHandler(arrays));
const tcp = createRawTcpServer(arrays);

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (arrayServer.handleRequest(req, res)) return;
  const url = new URL(req.url ?? "/", "http://localhost");
  const n = Number(url.searchParams.get("n"));
  const run = Number(url.searchParams.get("run"));
  try {
    switch (url.pathname) {
      case "/raw":
        return await sendOr404(
          res,
          arrays.get(n) && bytesOf(arrays.get(n) as Float64Array),
          "application/octet-stream",
          writeSize(url.searchParams.get("write"), MiB),
          url.searchParams.get("hash") === "1" ? { [RAW_CHECKSUM_HEADER]: checksums.get(n) ?? "" } : {},
        );
      case "/json":
        return await sendOr404(res, jsonBodies.get(n), "application/json");
      case "/arrow":
        return await sendOr404(res, arrowBodies.get(n), "application/vnd.apache.arrow.stream");
      case "/ready":
        held.set(run, res);
        send({ type: "page-ready", run });
        return;
      case "/result": {
        const report = JSON.parse(await readBody(req)) as RunReport;
        res.writeHead(204).end();
        send({ type: "page-result", report });
        return;
      }
      default:
        if (url.pathname.startsWith("/page/")) return await sendPageFile(res, url.pathname.slice("/page/".length));
        res.writeHead(404).end();
    }
  } catch (err) {
    console.error(`[bench server] ${req.url}: ${(err as Error).stack ?? err}`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
}

async function sendOr404(
  res: ServerResponse,
  body: Uint8Array | undefined,
  contentType: string,
  writeByteLength?: number,
  extraHeaders?: Record<string, string>,
): Promise<void> {
  if (body) await sendBody(res, body, contentType, writeByteLength, extraHeaders);
  else res.writeHead(404).end();
}

async function sendPageFile(res: ServerResponse, file: string): Promise<void> {
  if (!/^[\w.-]+$/.test(file)) {
    res.writeHead(404).end();
    return;
  }
  const body = await readFile(join(config.pageDir, file));
  res.writeHead(200, { "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

process.on("message", (message: ToServer) => {
  switch (message.type) {
    case "go":
      held.get(message.run)?.writeHead(204).end();
      held.delete(message.run);
      break;
    case "gc":
      collectGarbage();
      send({ type: "done", id: message.id });
      break;
    case "stop":
      void stop();
      break;
  }
});
process.on("disconnect", () => void stop());

async function stop(): Promise<void> {
  tcp.close();
  await arrayServer.close();
  http.closeAllConnections();
  http.close();
  process.exit(0);
}

await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
collectGarbage();
send({
  type: "listening",
  httpPort: (http.address() as AddressInfo).port,
  tcpPort: (tcp.address() as AddressInfo).port,
});
