/**
 * "Serving the page and the arrays" (README), each layout end to end in Chromium (issue 11 item 3):
 * the example files (docs/examples/app, the same bytes the README shows) in an app directory
 * with the packed tarball as its arraywire package, Vite's CLI and tsx as a reader runs them, and
 * the page showing the 400 MB array after showing progress: (1) one Node server for the built
 * page and the arrays, (2) the Vite plugin in `vite` and `vite preview`, (3) the page on Vite and
 * the arrays on their own server with allowedOrigins (cross-origin). e2e/fresh-app.spec.ts runs
 * the same from `npm create vite` and the README's text.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "@playwright/test";
import { fromExamples, packTarball, writeExample } from "./harness/app-dirs.ts";
import { layoutOneServer, layoutThreeSeparate, layoutTwoPlugin } from "./harness/layouts.ts";

test.describe.configure({ mode: "serial" });

let work: string;
let app: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  work = mkdtempSync(join(tmpdir(), "arraywire-layouts-"));
  app = join(work, "app");
  fromExamples(app, packTarball(work));
});
test.afterAll(() => rmSync(work, { recursive: true, force: true }));

test("layout 1: one Node server for the built page and the arrays (vite build, tsx server.ts)", async ({ page }) => {
  rmSync(join(app, ".env.development"), { force: true });
  await layoutOneServer(page, app);
});

test("layout 2: the Vite plugin, in vite (dev) and vite preview", async ({ page }) => {
  rmSync(join(app, ".env.development"), { force: true });
  await layoutTwoPlugin(page, app);
});

test("layout 3: the page on Vite, the arrays on their own server with allowedOrigins", async ({ page }) => {
  // No plugin here: a plain Vite app, and .env.development pointing the page at the arrays.
  rmSync(join(app, "vite.config.ts"), { force: true });
  writeExample(app, ".env.development");
  await layoutThreeSeparate(page, app);
});
