/**
 * Servers of e2e/cross-origin.spec.ts, started in the test worker:
 * - the page's origin (PORTS.crossPage): the page (e2e/harness/cross-origin-page.ts, bundled from
 *   source), a same-origin ArrayServer at /arraywire, and a host app that answers other paths
 *   with a 404 page and leaves their upgrades unanswered (as Express does);
 * - the arrays' origin (PORTS.crossArrays): ArrayServers at /open (allowedOrigins: the page),
 *   /auth (the page, and SECURITY.md's token check), /closed (another origin only), /default
 *   ("same-origin") and /star ("*"); other paths get the host app's 404 page;
 * - an ArrayServer that owns its port (PORTS.owned), admitting the page: 404 E_NOT_FOUND elsewhere.
 * Every request is counted per path, so that tests see what resume retried.
 */
import { createServer, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { ArrayServer, type ArrayServerOptions, readToken } from "../../server/index.ts";
import { PORTS } from "./my-ports.ts";
import { makeFloat64 } from "./values.ts";

export const PAGE_ORIGIN = `http://127.0.0.1:${PORTS.crossPage}`;
export const ARRAYS_ORIGIN = `http://127.0.0.1:${PORTS.crossArrays}`;
export const OWNED_ORIGIN = `http://127.0.0.1:${PORTS.owned}`;
/** A name Chromium maps to 127.0.0.1 (--host-resolver-rules): not in any allowedHosts. */
export const UNLISTED_HOST = "arrays.test";
export const TOKEN = "t0ken";
/** Elements of the arrays served: 16 MB. */
export const CROSS_LENGTH = 2_000_000;

export interface CrossServers {
  /** Requests per path on the arrays' origin: "GET /auth", "UPGRADE /auth". */
  seen: string[];
  close(): Promise<void>;
}

async function listen(server: Server, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
}

export async function startCrossOrigin(): Promise<CrossServers> {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("./cross-origin-page.ts", import.meta.url))],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "warning",
  });
  const pageJs = bundle.outputFiles[0]?.text ?? "";
  const array = makeFloat64(CROSS_LENGTH);
  const servers: ArrayServer[] = [];
  const upgrades = new Set<Duplex>();
  const seen: string[] = [];
  const notFound = (res: import("node:http").ServerResponse) =>
    res.writeHead(404, { "content-type": "text/html" }).end("<!doctype html><h1>Cannot GET</h1>");

  // The page's origin.
  const pageHttp = createServer();
  const sameOrigin = new ArrayServer({ server: pageHttp, log: () => {} });
  sameOrigin.publish("f64", array);
  servers.push(sameOrigin);
  pageHttp.on("upgrade", (_req, socket) => upgrades.add(socket));
  pageHttp.on("request", (req, res) => {
    if (sameOrigin.handleRequest(req, res)) return;
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/") {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end('<!doctype html><p id="status">loading</p><script type="module" src="/page.js"></script>');
    } else if (path === "/page.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(pageJs);
    } else {
      notFound(res);
    }
  });

  // The arrays' origin.
  const arraysHttp = createServer();
  arraysHttp.on("request", (req) => seen.push(`GET ${new URL(req.url ?? "/", "http://x").pathname}`));
  arraysHttp.on("upgrade", (req, socket) => {
    seen.push(`UPGRADE ${new URL(req.url ?? "/", "http://x").pathname}`);
    upgrades.add(socket);
  });
  const endpoints: Record<string, ArrayServerOptions> = {
    "/open": { allowedOrigins: [PAGE_ORIGIN] },
    "/auth": { allowedOrigins: [PAGE_ORIGIN], authenticate: (req) => readToken(req) === TOKEN },
    "/closed": { allowedOrigins: ["http://elsewhere.example"] },
    "/default": {},
    "/star": { allowedOrigins: "*" },
  };
  const attached = Object.entries(endpoints).map(([path, options]) => {
    const server = new ArrayServer({ server: arraysHttp, path, log: () => {}, ...options });
    server.publish("f64", array);
    servers.push(server);
    return server;
  });
  arraysHttp.on("request", (req, res) => {
    if (!attached.some((server) => server.handleRequest(req, res))) notFound(res);
  });

  const owned = new ArrayServer({ port: PORTS.owned, allowedOrigins: [PAGE_ORIGIN], log: () => {} });
  owned.publish("f64", array);
  servers.push(owned);

  await listen(pageHttp, PORTS.crossPage);
  await listen(arraysHttp, PORTS.crossArrays);
  await owned.listen();

  return {
    seen,
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      for (const socket of upgrades) socket.destroy();
      for (const http of [pageHttp, arraysHttp]) {
        http.closeAllConnections();
        await new Promise((resolve) => http.close(resolve));
      }
    },
  };
}
