// tests/fixtures.ts: the fixture's ArrayServer attached to your app's own http server
import type { Server } from "node:http";
import { test as base } from "arraywire/playwright";
import type { ArrayServer } from "arraywire/server";

/** Your app as its tests start it (yours will differ). */
interface MyApp {
  httpServer: Server;
  /** Routes the HTTP transport to the ArrayServer: arrays.handleRequest(req, res) or arrays.middleware. */
  mountArrays(arrays: ArrayServer): void;
  close(): Promise<void>;
}
declare function startMyApp(): Promise<MyApp>;

export const test = base.extend<{ mounted: undefined }, { app: MyApp }>({
  app: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern
    async ({}, use) => {
      const app = await startMyApp();
      await use(app);
      await app.close();
    },
    { scope: "worker" },
  ],
  arrayServerOptions: [async ({ app }, use) => use({ server: app.httpServer }), { scope: "worker" }],
  mounted: [
    async ({ app, arrayServer }, use) => {
      app.mountArrays(arrayServer.server);
      await use(undefined);
    },
    { auto: true },
  ],
});
