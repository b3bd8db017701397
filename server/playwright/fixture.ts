/**
 * The `test` of arraywire/playwright: Playwright's test with
 * - worker options `arrays` (what the worker's server publishes) and `arrayServerOptions`;
 * - a worker-scoped, boxed `arrayServer`: an ArrayServer on 127.0.0.1, port 0, started once per
 *   test worker and closed after its last test (real sockets: no page.route, no base64);
 * - a test fixture `arraywire`: the server's URLs, and `publish` for arrays of one test
 *   (unpublished after it, or restored to the worker's own);
 * - `context` with the page registry installed, so that every page's transfers can be awaited
 *   (waitForArray) and checked in place (expectArray).
 */
import {
  test as base,
  type PlaywrightTestArgs,
  type PlaywrightTestOptions,
  type PlaywrightWorkerArgs,
  type PlaywrightWorkerOptions,
  type TestType,
} from "@playwright/test";
import type { ArrayServer } from "../array-server.ts";
import type { ArrayServerOptions } from "../options.ts";
import { installArrayRegistry } from "./page-registry.ts";
import { type ArraySpec, type ArraywireServer, publishSpec, startArraywireServer } from "./test-server.ts";

/** Worker options: set them with `test.use({ arrays: { ... } })` (at the top of a file) or in the config's `use`. */
export interface ArraywireWorkerOptions {
  /** Arrays the worker's server publishes, by name. Defaults to none. */
  arrays: Record<string, ArraySpec>;
  /**
   * Options of the worker's ArrayServer. `allowedOrigins` defaults to "*" (a loopback test
   * server for the test's own browser). Pass `server` to attach to an http server you start in
   * a worker fixture of your own (the app under test); mount `arrayServer.server.middleware` in it
   * for the HTTP transport. Defaults to `{}`: 127.0.0.1, port 0, path /arraywire.
   */
  arrayServerOptions: ArrayServerOptions;
}

/** Worker fixtures. */
export interface ArraywireWorkerFixtures {
  /** The worker's arrays server (boxed: it stays out of the report's steps). */
  arrayServer: ArraywireServer;
}

/** What a test gets as `arraywire`. */
export interface ArraywireFixture {
  /** The endpoint over HTTP, e.g. `http://127.0.0.1:41234/arraywire`: hand it to the page. */
  readonly url: string;
  /** The same endpoint as a WebSocket URL. */
  readonly wsUrl: string;
  /** The worker's ArrayServer. */
  readonly server: ArrayServer;
  /**
   * Publishes an array for this test only: after the test it is unpublished, or the worker's own
   * array of that name (from `arrays`) is published again.
   * @throws {TypeError} for a bad spec, and what ArrayServer#publish throws.
   */
  publish(name: string, spec: ArraySpec): void;
}

/** Test fixtures. */
export interface ArraywireTestFixtures {
  arraywire: ArraywireFixture;
}

/**
 * Playwright's `test`, extended with arraywire's fixtures (see the module comment). Use it in
 * place of `@playwright/test`'s, or `mergeTests` it with your own.
 */
// Typed here, not inferred: an inferred type is emitted as import("playwright/test"), a package
// the consumer need not have (its peer dependency is @playwright/test).
export const test: TestType<
  PlaywrightTestArgs & PlaywrightTestOptions & ArraywireTestFixtures,
  PlaywrightWorkerArgs & PlaywrightWorkerOptions & ArraywireWorkerOptions & ArraywireWorkerFixtures
> = base.extend<ArraywireTestFixtures, ArraywireWorkerOptions & ArraywireWorkerFixtures>({
  arrays: [{}, { scope: "worker", option: true }],
  arrayServerOptions: [{}, { scope: "worker", option: true }],
  arrayServer: [
    async ({ arrays, arrayServerOptions }, use) => {
      const server = await startArraywireServer(arrays, arrayServerOptions);
      try {
        await use(server);
      } finally {
        await server.close();
      }
    },
    { scope: "worker", box: true, title: "arraywire server" },
  ],
  arraywire: async ({ arrayServer, arrays }, use) => {
    const published = new Set<string>();
    await use({
      url: arrayServer.url,
      wsUrl: arrayServer.wsUrl,
      server: arrayServer.server,
      publish(name, spec) {
        publishSpec(arrayServer.server, name, spec);
        published.add(name);
      },
    });
    for (const name of published) {
      const own = Object.hasOwn(arrays, name) ? arrays[name] : undefined;
      if (own === undefined) arrayServer.server.unpublish(name);
      else publishSpec(arrayServer.server, name, own);
    }
  },
  context: async ({ context }, use) => {
    await installArrayRegistry(context);
    await use(context);
  },
});
