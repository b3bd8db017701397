import { defineConfig } from "vite";

/**
 * Vite config of the demo dashboard (client/demo). `npm start` (server/demo.ts) runs Vite in
 * middleware mode on the same http server as the arraywire WebSocket endpoint; the page imports
 * the client from source (../index.ts), which Vite transforms on the fly.
 */
export default defineConfig({
  root: "client/demo",
  clearScreen: false,
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
