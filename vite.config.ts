import type { IncomingMessage, ServerResponse } from "node:http";
import { defineConfig, type Plugin } from "vite";

/**
 * Cross-origin isolation on request: `/?isolated=1` gets `Cross-Origin-Opener-Policy:
 * same-origin`, and every response Vite serves carries `Cross-Origin-Embedder-Policy:
 * require-corp` (a worker's own script must, for the worker to run in an isolated page). With
 * both, even http://127.0.0.1 is cross-origin isolated, so the page has SharedArrayBuffer and
 * the demo's worker fills shared memory. Without ?isolated=1 COEP alone changes nothing here:
 * the page loads nothing from other origins.
 */
function isolationHeaders(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
  try {
    if (new URL(req.url ?? "/", "http://localhost").searchParams.get("isolated") === "1") {
      res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    }
  } catch {
    // A target that does not parse: no isolation, Vite answers it as it does.
  }
  next();
}

const isolation: Plugin = {
  name: "arraywire-demo-isolation",
  configureServer: (server) => void server.middlewares.use(isolationHeaders),
  configurePreviewServer: (server) => void server.middlewares.use(isolationHeaders),
};

/**
 * Vite config of the demo dashboard (client/demo). `npm start` (server/demo.ts) runs Vite in
 * middleware mode on the same http server as the arraywire WebSocket endpoint; the page imports
 * the client from source (../index.ts), which Vite transforms on the fly.
 */
export default defineConfig({
  root: "client/demo",
  clearScreen: false,
  plugins: [isolation],
  // The page only imports repo sources (no npm deps): nothing to pre-bundle.
  optimizeDeps: { noDiscovery: true, include: [] },
  build: {
    // A static build still needs an ArrayServer at /arraywire on the same origin. It goes to the
    // git-ignored .vite/ rather than dist/, which is what npm packs.
    outDir: "../../.vite/demo-build",
    emptyOutDir: true,
    target: "es2022",
  },
});
