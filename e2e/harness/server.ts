/**
 * The browser grid's harness (started by Playwright as a webServer: `npx tsx e2e/harness/server.ts`).
 * One http server on HARNESS_PORT, behind the cutting proxy on PROXY_PORT, where the page loads:
 * - `/` and `/page.js`: a page that imports the library from source (client/index.ts, bundled
 *   here with esbuild) and runs the cases tests hand it (e2e/harness/page.ts);
 * - `/worker.html` (`?isolated=1`: cross-origin isolated), `/worker-page.js`, `/worker.js` (the
 *   library's worker module) and `/test-worker.js`: the worker page (e2e/harness/worker-page.ts);
 * - `/arraywire`: an ArrayServer publishing the grid's float64 and biguint64 arrays;
 * - `/secure`: an ArrayServer whose authenticate hook wants SECURITY.md's token (readToken);
 * - `/extensions`: an ArrayServer that takes uploads (published once verified) and publishes live
 *   arrays the tests create and grow through `GET /live/new?name=&rows=&row=`,
 *   `/live/append?name=&rows=` (element i is float64At(i)) and `/live/close?name=`;
 * - `/text-frame`: a WebSocket peer that answers a REQUEST with a header and then a text frame,
 *   and records the close codes it gets (`GET /text-frame/closes`);
 * - `/silent`: a peer that answers with a header and part of the array, then goes silent (HTTP
 *   and WebSocket), counting attempts (`GET /silent/count`);
 * - `GET /cut-stats?id=`: what the proxy saw for a cut id.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { WebSocketServer } from "ws";
import { ArrayServer, type LiveArray, readToken } from "../../server/index.ts";
import { decodeMessage, encodeArrayHeader, encodeData, HTTP_CONTENT_TYPE } from "../../shared/index.ts";
import { HARNESS_PORT, PAGE_ORIGIN, PROXY_PORT, TOKEN } from "./config.ts";
import { CuttingProxy } from "./cutting-proxy.ts";
import { float64At, GRID_LENGTH, makeBigUint64, makeFloat64 } from "./values.ts";

const page = await build({
  entryPoints: [fileURLToPath(new URL("./page.ts", import.meta.url))],
  bundle: true,
  write: false,
  format: "esm",
  platform: "browser",
  target: "es2022",
  logLevel: "warning",
});
const pageJs = page.outputFiles[0]?.text ?? "";
// The worker page, the library's own worker module (served next to it at /worker.js, where
// fetchArrayInWorker looks by default) and the instrumented test worker.
const bundles = await build({
  entryPoints: {
    "worker-page": fileURLToPath(new URL("./worker-page.ts", import.meta.url)),
    worker: fileURLToPath(new URL("../../client/worker.ts", import.meta.url)),
    "test-worker": fileURLToPath(new URL("./test-worker.ts", import.meta.url)),
  },
  bundle: true,
  write: false,
  outdir: "/",
  format: "esm",
  platform: "browser",
  target: "es2022",
  logLevel: "warning",
});
const scripts = new Map(bundles.outputFiles.map((f) => [f.path, f.text]));
const workerHtml = `<!doctype html><html><head><meta charset="utf-8"><title>arraywire worker</title></head>
<body><p id="status">loading</p><script type="module" src="/worker-page.js"></script></body></html>`;
/** Cross-origin isolation: COEP on every script (a worker's own response must carry it), COOP on the page. */
const COEP = { "cross-origin-embedder-policy": "require-corp" };
const zstdWasm = readFileSync(
  join(dirname(createRequire(import.meta.url).resolve("@bokuweb/zstd-wasm")), "../web/zstd.wasm"),
);
const pageHtml = `<!doctype html><html><head><meta charset="utf-8"><title>arraywire grid</title></head>
<body><p id="status">loading</p><script type="module" src="/page.js"></script></body></html>`;

const http = createServer((req, res) => {
  try {
    route(req, res);
  } catch (err) {
    if (!res.headersSent) res.writeHead(500).end(String(err));
  }
});
// The proxy rewrites Host to this server's address, so "same-origin" cannot match the page's
// origin: name it. Same-origin GETs carry no Origin at all (and curl neither): let them in.
const allowedOrigins = (origin: string | undefined) => origin === undefined || origin === PAGE_ORIGIN;
const arrays = new ArrayServer({ server: http, path: "/arraywire", allowedOrigins, log: () => {} });
arrays.publish("f64", makeFloat64(GRID_LENGTH));
arrays.publish("u64", makeBigUint64(GRID_LENGTH));
const secure = new ArrayServer({
  server: http,
  path: "/secure",
  allowedOrigins,
  authenticate: (req) => readToken(req) === TOKEN,
  log: () => {},
});
secure.publish("f64", makeFloat64(1000));
const extensions = new ArrayServer({
  server: http,
  path: "/extensions",
  allowedOrigins,
  log: () => {},
  upload: { onUpload: () => ({ allocate: true, publish: true }), maxUploadBytes: 256 * 1024 * 1024 },
});
extensions.publish("f64", makeFloat64(1000));
const lives = new Map<string, LiveArray>();

/** Appends `rows` rows to `live`, element i being float64At(i). */
function appendRows(live: LiveArray, rows: number): void {
  const row = live.rowShape.reduce((a, b) => a * b, 1);
  const first = live.length * row;
  const values = new Float64Array(rows * row);
  for (let i = 0; i < values.length; i++) values[i] = float64At(first + i);
  live.append(values);
}

// Fake peers for the failure cases.
const SILENT_ELEMENTS = 1000;
/** A header for the silent peer's array, starting where a resume asks (the peer then sends 800 bytes). */
const silentHeader = (streamId: number, resumeByteOffset: number) =>
  encodeArrayHeader({
    streamId,
    name: "f64",
    checksumAlgorithm: "xxh32",
    dtype: "float64",
    shape: [SILENT_ELEMENTS],
    totalByteLength: SILENT_ELEMENTS * 8,
    rangeByteStart: 0,
    rangeByteEnd: SILENT_ELEMENTS * 8,
    firstByteOffset: resumeByteOffset,
    generation: 1,
    meta: null,
  });
let silentCount = 0;
const textFrameCloses: number[] = [];
const peers = new WebSocketServer({ noServer: true });
http.on("upgrade", (req, socket, head) => {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  if (path !== "/text-frame" && path !== "/silent") return; // the ArrayServers' paths, or nobody's
  socket.on("error", () => {});
  peers.handleUpgrade(req, socket, head, (ws) => {
    if (path === "/silent") silentCount++;
    ws.on("close", (code) => {
      if (path === "/text-frame") textFrameCloses.push(code);
    });
    ws.on("message", (data) => {
      const m = decodeMessage(data as Buffer);
      if (m.type !== "REQUEST") return;
      ws.send(silentHeader(m.streamId, m.resumeByteOffset));
      if (path === "/text-frame") {
        ws.send("a text frame");
      } else {
        ws.send(encodeData(m.streamId, m.resumeByteOffset, 800)); // 100 elements, then nothing
        ws.send(new Uint8Array(800));
      }
    });
  });
});

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://x");
  if (arrays.handleRequest(req, res) || secure.handleRequest(req, res) || extensions.handleRequest(req, res)) return;
  const json = (value: unknown): void => {
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(value));
  };
  switch (url.pathname) {
    case "/":
      res.writeHead(200, { "content-type": "text/html" }).end(pageHtml);
      return;
    case "/page.js":
      res.writeHead(200, { "content-type": "text/javascript" }).end(pageJs);
      return;
    case "/worker.html": {
      const isolated = url.searchParams.get("isolated") === "1";
      const headers = isolated ? { ...COEP, "cross-origin-opener-policy": "same-origin" } : {};
      res.writeHead(200, { "content-type": "text/html", ...headers }).end(workerHtml);
      return;
    }
    case "/zstd.wasm":
      // The codec's WebAssembly: the package looks for it next to the script that loads it
      // (new URL("./zstd.wasm", import.meta.url)), and esbuild bundles only the JavaScript.
      res.writeHead(200, { "content-type": "application/wasm", ...COEP }).end(zstdWasm);
      return;
    case "/worker-page.js":
    case "/worker.js":
    case "/test-worker.js":
      res.writeHead(200, { "content-type": "text/javascript", ...COEP }).end(scripts.get(url.pathname));
      return;
    case "/silent":
      silentCount++;
      res.writeHead(200, { "content-type": HTTP_CONTENT_TYPE });
      res.write(silentHeader(1, Number(url.searchParams.get("resume") ?? 0)));
      res.write(new Uint8Array(800)); // then nothing: the connection stays open
      return;
    case "/silent/count":
      json(silentCount);
      return;
    case "/text-frame/closes":
      json(textFrameCloses);
      return;
    case "/cut-stats":
      json(proxy.stats(url.searchParams.get("id") ?? ""));
      return;
    case "/health":
      json("ok");
      return;
    case "/live/new": {
      const name = url.searchParams.get("name") ?? "";
      const row = Number(url.searchParams.get("row") ?? 1);
      const live = extensions.publishLive(name, { dtype: "float64", maxLength: 1_000_000, rowShape: [row] });
      lives.set(name, live);
      appendRows(live, Number(url.searchParams.get("rows") ?? 0));
      json(live.shape);
      return;
    }
    case "/live/append": {
      const live = lives.get(url.searchParams.get("name") ?? "");
      if (live) appendRows(live, Number(url.searchParams.get("rows") ?? 1));
      json(live?.shape ?? null);
      return;
    }
    case "/live/close":
      lives.get(url.searchParams.get("name") ?? "")?.close();
      json("closed");
      return;
    default:
      res.writeHead(404).end();
  }
}

await new Promise<void>((resolve) => http.listen(HARNESS_PORT, "127.0.0.1", () => resolve()));
const proxy = await CuttingProxy.start(PROXY_PORT, HARNESS_PORT);
console.log(`grid harness: page at ${PAGE_ORIGIN}/ (proxy), server on 127.0.0.1:${HARNESS_PORT}`);

const stop = async () => {
  await proxy.close();
  await Promise.all([arrays.close(), secure.close(), extensions.close()]);
  http.closeAllConnections();
  http.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
