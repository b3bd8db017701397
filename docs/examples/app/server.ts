import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join } from "node:path";
import { ArrayServer } from "arraywire/server";
import publish from "./arrays.ts";

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

const http = createServer((req, res) => {
  if (arrays.handleRequest(req, res)) return; // GET /arraywire?name=... (the HTTP transport)
  // The page, built by `npx vite build` into dist/ (any static file handler does this).
  const path = new URL(req.url ?? "/", "http://localhost").pathname; // no ".." survives URL parsing
  let file = join("dist", path);
  if (!existsSync(file) || statSync(file).isDirectory()) file = join("dist", "index.html");
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(res);
});
const arrays = new ArrayServer({ server: http }); // WebSocket upgrades on /arraywire, same origin
publish(arrays);
http.listen(8080, "127.0.0.1", () => console.log("http://127.0.0.1:8080/"));
