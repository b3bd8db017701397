/**
 * SECURITY.md's token example in Chromium, as written (issue 11 item 7): its server
 * (docs/examples/security/token-server.ts, run with tsx) on the README's 8080, its page code
 * (token-page.ts, bundled with arraywire/client from source) on a page at the README's 5173, both
 * replaced by PORTS.arrays and PORTS.page. The page fetches with the token as a subprotocol ("auto"
 * picks ws) and as an Authorization header over HTTP (a preflighted cross-origin GET), then writes
 * the length into the page.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { build } from "esbuild";
import { REPO, withPorts } from "../scripts/doc-examples.ts";
import { LAYOUT_PORTS } from "./harness/app-dirs.ts";
import { type Child, startChild } from "./harness/layouts.ts";
import { PORTS } from "./harness/my-ports.ts";

let work: string;
let server: Child;
let pages: Server;

test.beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "arraywire-security-"));
  writeFileSync(join(work, "package.json"), '{ "type": "module" }\n');
  for (const file of ["token-server.ts", "token-page.ts"]) {
    const text = readFileSync(join(REPO, "docs", "examples", "security", file), "utf8");
    writeFileSync(join(work, file), withPorts(text, LAYOUT_PORTS));
  }
  const bundle = await build({
    entryPoints: [join(work, "token-page.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "warning",
    alias: { "arraywire/client": join(REPO, "client", "index.ts") },
  });
  const pageJs = bundle.outputFiles[0]?.text ?? "";
  pages = createServer((req, res) => {
    if (req.url === "/page.js") res.writeHead(200, { "content-type": "text/javascript" }).end(pageJs);
    else
      res
        .writeHead(200, { "content-type": "text/html" })
        .end('<!doctype html><script type="module" src="/page.js"></script>');
  });
  await new Promise<void>((resolve) => pages.listen(PORTS.page, "127.0.0.1", resolve));
  const tsx = join(REPO, "node_modules", "tsx", "dist", "cli.mjs");
  const tsconfig = join(REPO, "docs", "examples", "tsconfig.json");
  // It prints nothing: a two-line wrapper says when its top-level await (listen) is done.
  writeFileSync(join(work, "run.ts"), 'await import("./token-server.ts");\nconsole.log("listening");\n');
  server = await startChild(work, [tsx, "--tsconfig", tsconfig, "run.ts"], /listening/);
});
test.afterAll(async () => {
  await server?.stop();
  await new Promise((resolve) => pages?.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

test("SECURITY.md's token example: a subprotocol token (ws) and a Bearer header (HTTP) from a page", async ({
  page,
}) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const sockets: string[] = [];
  page.on("websocket", (ws) => sockets.push(new URL(ws.url()).pathname));
  const gets: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/arraywire")) gets.push(`${r.method()} ${r.headers().authorization ?? "no token"}`);
  });
  await page.goto(`http://localhost:${PORTS.page}/`);
  await expect(page.locator("body")).toHaveText("1000 values", { timeout: 30_000 });
  expect(errors).toEqual([]);
  // The subprotocol form went over a WebSocket ("auto" picked ws); the header form over HTTP.
  expect(sockets).toEqual(["/arraywire"]);
  expect(gets).toEqual(["GET Bearer a-session-token"]);
});
