/**
 * The Vite plugin: an ArrayServer inside `vite dev` and `vite preview`, on Vite's own http server,
 * so that the page and the arrays share one origin (no CORS, no proxy). WebSocket upgrades on the
 * arraywire path go to the ArrayServer; every other upgrade (Vite's HMR socket) is left alone. The
 * HTTP transport is a middleware that runs before Vite's own (its SPA fallback would answer the
 * path with index.html). Arrays come from the `arrays` option or a `setup` module; in dev an edit
 * to the setup module (or a file it imports) publishes again and reloads the page. The server
 * closes when Vite closes (or restarts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Connect, HttpServer, Logger, Plugin, PreviewServer, ViteDevServer } from "vite";
import { ArrayServer, type ArrayServerOptions } from "../server/index.ts";
import { type ArrayInit, publishArrays, runSetupModule, type SetupResult } from "./publish.ts";

/** Options of {@link arraywire}: ArrayServer's options (but where it listens), and what to publish. */
export interface ArraywirePluginOptions extends Omit<ArrayServerOptions, "server" | "port" | "host"> {
  /**
   * Arrays to publish, by name: a typed array, an ArraySource (`arange()`), or a function that
   * returns one (or a promise of one), called when a server starts: `vite build` never runs it.
   */
  arrays?: Readonly<Record<string, ArrayInit>>;
  /**
   * A module that publishes arrays, as a path relative to Vite's root (e.g. "./arrays.ts"). Its
   * default export is a function that gets the ArrayServer (`export default (arrays) => {
   * arrays.publish(...) }`, may be async) or an object like `arrays`. It is loaded with Vite's
   * `runnerImport`, so it may be TypeScript; packages it imports load as plain Node modules. It
   * runs after `arrays`, once per server start; in dev, saving it or a file it imports runs it
   * again (names it no longer publishes are unpublished) and reloads the page.
   */
  setup?: string;
}

/** Where the plugin runs: the dev server or the preview server. */
type Host = {
  readonly kind: "dev" | "preview";
  readonly httpServer: HttpServer | null;
  readonly middlewares: Connect.Server;
  readonly logger: Logger;
  readonly root: string;
  /** Vite's own allowedHosts for this server. */
  readonly allowedHosts: string[] | true;
};

/**
 * The arraywire Vite plugin: `plugins: [arraywire({ arrays: { t: () => new Float64Array(n) } })]`
 * serves them at `/arraywire` (option `path`) on the dev and preview servers, over WebSocket and
 * HTTP. `allowedHosts` defaults to Vite's own `server.allowedHosts` (`preview.allowedHosts`), and
 * `log` to Vite's logger.
 * @throws {TypeError} / {@link RangeError} (when the server starts) for invalid ArrayServer
 *   options or arrays; what the `arrays` functions or the setup module throw.
 */
export function arraywire(options: ArraywirePluginOptions = {}): Plugin {
  const { arrays, setup, ...serverOptions } = options;
  const running = new Map<"dev" | "preview", ArrayServer>();

  async function start(host: Host): Promise<{ server: ArrayServer; setupResult: SetupResult | null }> {
    const log = serverOptions.log ?? ((message: string) => host.logger.warn(`[arraywire] ${message}`));
    const server = new ArrayServer({
      allowedHosts: host.allowedHosts,
      ...serverOptions,
      log,
      // No http server in middleware mode: the HTTP transport still works through the
      // middleware; WebSocket upgrades need one (said below).
      server: host.httpServer ?? undefined,
      ...(host.httpServer ? {} : { port: 0 }),
    });
    running.set(host.kind, server);
    if (arrays) await publishArrays(server, arrays);
    const setupResult = setup === undefined ? null : await runSetupModule(server, setup, host.root);
    host.middlewares.use((req: IncomingMessage, res: ServerResponse, next: Connect.NextFunction) =>
      server.middleware(req, res, () => next()),
    );
    if (!host.httpServer) {
      log("Vite runs in middleware mode: the HTTP transport is served; WebSockets need your own http server");
    }
    host.logger.info(
      `  arraywire: ${serverOptions.path ?? "/arraywire"} (WebSocket and HTTP), publishing ${server.names().join(", ") || "nothing yet"}`,
    );
    return { server, setupResult };
  }

  async function stop(kind: "dev" | "preview"): Promise<void> {
    const server = running.get(kind);
    running.delete(kind);
    await server?.close();
  }

  return {
    name: "arraywire",
    async configureServer(vite: ViteDevServer) {
      const { server, setupResult } = await start({
        kind: "dev",
        httpServer: vite.httpServer,
        middlewares: vite.middlewares,
        logger: vite.config.logger,
        root: vite.config.root,
        allowedHosts: vite.config.server.allowedHosts,
      });
      if (setup !== undefined && setupResult) watchSetup(vite, server, setup, setupResult);
    },
    async configurePreviewServer(preview: PreviewServer) {
      await start({
        kind: "preview",
        httpServer: preview.httpServer,
        middlewares: preview.middlewares,
        logger: preview.config.logger,
        root: preview.config.root,
        allowedHosts: preview.config.preview.allowedHosts,
      });
    },
    closeServer: () => stop("dev"),
    closePreviewServer: () => stop("preview"),
  };
}

/**
 * In dev: runs the setup module again when it or a file it imported changes, unpublishes the
 * names it no longer publishes, and reloads the page. A throwing module is logged; what was
 * published stays.
 */
function watchSetup(vite: ViteDevServer, server: ArrayServer, setup: string, first: SetupResult): void {
  let current = { names: new Set(first.names), files: new Set(first.files) };
  let queue = Promise.resolve();
  const rerun = async () => {
    try {
      const result = await runSetupModule(server, setup, vite.config.root);
      for (const name of current.names) if (!result.names.includes(name)) server.unpublish(name);
      current = { names: new Set(result.names), files: new Set(result.files) };
      vite.config.logger.info(`  arraywire: ${setup} changed, published ${result.names.join(", ")}`);
      vite.ws.send({ type: "full-reload" });
    } catch (err) {
      vite.config.logger.error(`[arraywire] ${setup} failed: ${(err as Error)?.stack ?? err}`);
    }
  };
  vite.watcher.on("change", (file) => {
    // Runs one at a time, in order: two quick saves publish twice, never interleaved.
    if (current.files.has(file)) queue = queue.then(rerun);
  });
}
