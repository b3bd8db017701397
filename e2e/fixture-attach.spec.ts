/**
 * arraywire/playwright attached to the app's own http server, as README.md shows: a worker
 * fixture starts the "app" (an http server serving the harness's worker page), and
 * `arrayServerOptions` is overridden with `{ server }`, so the fixture's ArrayServer attaches to it
 * (same origin as the page). WebSocket upgrades work as they are; the app mounts the ArrayServer's
 * middleware for the HTTP transport.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "@playwright/test";
import type { ArrayServer } from "../server/index.ts";
import { test as base, expectArray, waitForArray } from "../server/playwright/index.ts";
import { PAGE_ORIGIN } from "./harness/config.ts";
import type { WorkerCase } from "./harness/worker-page.ts";

interface App {
  server: Server;
  origin: string;
  /** Mounts the ArrayServer's middleware (the app's own routing). */
  mount(arrays: ArrayServer): void;
}

const test = base.extend<{ mounted: undefined }, { app: App }>({
  app: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern
    async ({}, use) => {
      // The app serves the harness's worker page and scripts as its own.
      const files = new Map<string, string>();
      for (const path of ["/worker.html", "/worker-page.js", "/worker.js", "/test-worker.js"]) {
        files.set(path, await (await fetch(`${PAGE_ORIGIN}${path}`)).text());
      }
      let arrays: ArrayServer | null = null;
      const server = createServer((req, res) => {
        const path = new URL(req.url ?? "/", "http://x").pathname;
        const body = files.get(path);
        if (body !== undefined) {
          res.writeHead(200, { "content-type": path.endsWith(".html") ? "text/html" : "text/javascript" }).end(body);
          return;
        }
        if (arrays?.handleRequest(req, res)) return;
        res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await use({ server, origin, mount: (a) => (arrays = a) });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    { scope: "worker" },
  ],
  arrayServerOptions: [async ({ app }, use) => use({ server: app.server }), { scope: "worker" }],
  mounted: [
    async ({ app, arrayServer }, use) => {
      app.mount(arrayServer.server);
      await use(undefined);
    },
    { auto: true },
  ],
});

test.use({ arrays: { levels: Int32Array.from({ length: 100_000 }, (_, i) => i - 50_000) } });

for (const transport of ["ws", "http"] as const) {
  test(`attaches to the app's own server: same origin, the app's page receives and is checked (${transport})`, async ({
    page,
    app,
    arraywire,
  }) => {
    expect(new URL(arraywire.url).origin).toBe(app.origin);
    await page.goto(`${app.origin}/worker.html`);
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "ready");
    const c: WorkerCase = { endpoint: "/arraywire", name: "levels", thread: "main", transport, noCheck: true };
    await page.evaluate((workerCase) => window.__workerCase(workerCase), c);
    await waitForArray(page, "levels");
    await expectArray(page, "levels").toHaveValuesAt({ 0: -50_000, 50000: 0, 99999: 49_999 });
    await expectArray(page, "levels").toHaveDtype("int32");
  });
}
