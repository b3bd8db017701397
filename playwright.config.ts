import { chromium, defineConfig } from "@playwright/test";
import { PAGE_ORIGIN } from "./e2e/harness/config.ts";
import { findChromium } from "./scripts/browser.mjs";

/**
 * End-to-end tests of the demo dashboard (e2e/*.spec.ts) against `npm start`'s server on port
 * 5174, and the browser grid (e2e/grid.spec.ts) against its harness (e2e/harness/server.ts) on
 * the next two ports. The browser is chosen by scripts/browser.mjs, as in `npm test`:
 * ARRAYWIRE_CHROMIUM, else Debian's /usr/bin/chromium when present, else Playwright's own build
 * (`npm test` installs one when none is there).
 *
 * Timeouts are generous: under Playwright (CDP attached) WebSocket receive in Chromium runs at
 * roughly 50-100 MB/s, so the 400 MB reference stream takes 4-8 s, and several times that on a
 * loaded machine.
 */
// ARRAYWIRE_E2E_PORT lets two checkouts run their suites side by side.
const PORT = Number(process.env.ARRAYWIRE_E2E_PORT ?? 5174);
const baseURL = `http://127.0.0.1:${PORT}`;
const browser = findChromium({ playwrightPath: chromium.executablePath() });
// "playwright" and "none" launch without a path: Playwright's own build (or its own error).
const executablePath = browser.source === "env" || browser.source === "system" ? browser.executablePath : undefined;

export default defineConfig({
  testDir: "e2e",
  testMatch: "**/*.spec.ts",
  // One browser at a time: each test moves hundreds of MB through one loopback server.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 240_000,
  expect: { timeout: 60_000 },
  reporter: process.env.CI ? [["list"], ["html", { open: "never" }]] : "list",
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    viewport: { width: 1280, height: 900 },
  },
  projects: [
    {
      name: "chromium",
      use: {
        browserName: "chromium",
        launchOptions: {
          executablePath,
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      },
    },
  ],
  webServer: [
    {
      command: "npx tsx server/demo.ts",
      url: `${baseURL}/api/info`,
      // DEMO_HMR=0: an edit to the sources during a run must not reload the page mid-stream.
      env: { PORT: String(PORT), HOST: "127.0.0.1", DEMO_HMR: "0" },
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
    },
    {
      // The browser grid's harness: arrays, fake peers and the page behind a cutting proxy.
      command: "npx tsx e2e/harness/server.ts",
      url: `${PAGE_ORIGIN}/health`,
      env: { ARRAYWIRE_E2E_PORT: String(PORT) },
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
    },
  ],
});
