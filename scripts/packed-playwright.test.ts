/**
 * arraywire/playwright as a user meets it: `npm pack` this checkout, install the tarball with
 * @playwright/test 1.65.1 and Vite 8 into a scratch project in a temporary directory, write the
 * README's example app (a Vite page) and its ONE example spec, taken from README.md verbatim
 * (the blocks after `<!-- example: docs/examples/playwright/src/main.ts -->` and
 * `<!-- example: docs/examples/playwright/tests/prices.spec.ts -->`; scripts/doc-examples.test.ts
 * keeps them equal to those files),
 * and run the spec in Chromium against `vite dev` and against `vite build` + `vite preview`. So
 * the packed exports, types and worker module, and the README's text, are what is tested, and a
 * README example that drifts fails here.
 *
 * Needs the npm registry (skipped, saying so, when it cannot be reached) and a Chromium (skipped
 * likewise without one). Bounded: every step has a timeout. Ports: ARRAYWIRE_SCRATCH_PORT
 * (default 5194) and the next one, for the two Vite servers.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findChromium, playwrightChromiumPath } from "./browser.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PORT = Number(process.env.ARRAYWIRE_SCRATCH_PORT ?? 5194);
const PLAYWRIGHT_VERSION = "1.65.1";
const VITE_VERSION = "8.3.8";

/** The code block right after `<!-- example: tag -->` in README.md. */
function readmeExample(readme: string, tag: string): string {
  const marker = `<!-- example: ${tag} -->`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no ${marker}`);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match?.[1]) throw new Error(`README.md has no ts code block after ${marker}`);
  return match[1];
}

interface Ran {
  ok: boolean;
  output: string;
}

function run(command: string, args: string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}): Ran {
  const r = spawnSync(command, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: timeoutMs,
    killSignal: "SIGTERM",
  });
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? `\n${r.error.message}` : ""}`;
  return { ok: r.status === 0, output };
}

function playwrightConfig(executablePath: string | undefined): string {
  const launch = {
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
  };
  const dev = `http://localhost:${PORT}`;
  const preview = `http://localhost:${PORT + 1}`;
  return `import { defineConfig } from "@playwright/test";
export default defineConfig({
  testDir: "tests",
  workers: 1,
  retries: 0,
  timeout: 120_000,
  reporter: [["list"], ["json"]],
  use: { launchOptions: ${JSON.stringify(launch)} },
  projects: [
    { name: "vite dev", use: { baseURL: ${JSON.stringify(dev)} } },
    { name: "vite build", use: { baseURL: ${JSON.stringify(preview)} } },
  ],
  webServer: [
    { command: "npx vite --port ${PORT} --strictPort", url: ${JSON.stringify(dev)}, reuseExistingServer: false, timeout: 60_000 },
    { command: "npx vite build && npx vite preview --port ${PORT + 1} --strictPort", url: ${JSON.stringify(preview)}, reuseExistingServer: false, timeout: 120_000 },
  ],
});
`;
}

describe("the packed tarball in a scratch project", () => {
  it("passes the README's Playwright example spec in Chromium, against vite dev and vite build", async (ctx) => {
    const registry = run("npm", ["view", `@playwright/test@${PLAYWRIGHT_VERSION}`, "version"], ROOT, 30_000);
    if (!registry.ok) {
      console.warn(`skipped: npm cannot reach the registry (npm view said: ${registry.output.trim().split("\n")[0]})`);
      ctx.skip();
    }
    const browser = findChromium({ playwrightPath: await playwrightChromiumPath() });
    if (browser.source === "none") {
      console.warn(`skipped: ${browser.problem}`);
      ctx.skip();
      return;
    }
    const executablePath = browser.source === "playwright" ? undefined : browser.executablePath;
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const dir = mkdtempSync(join(tmpdir(), "arraywire-scratch-"));
    try {
      const packed = run("npm", ["pack", "--pack-destination", dir], ROOT, 180_000);
      expect(packed.ok, packed.output).toBe(true);
      const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
      expect(tarball, packed.output).toBeDefined();

      const app = join(dir, "app");
      mkdirSync(join(app, "src"), { recursive: true });
      mkdirSync(join(app, "tests"));
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
      writeFileSync(
        join(app, "index.html"),
        '<!doctype html><html><head><meta charset="utf-8"><title>scratch</title></head>\n<body><p id="status"></p><script type="module" src="/src/main.ts"></script></body></html>\n',
      );
      writeFileSync(join(app, "src", "main.ts"), readmeExample(readme, "docs/examples/playwright/src/main.ts"));
      writeFileSync(
        join(app, "tests", "prices.spec.ts"),
        readmeExample(readme, "docs/examples/playwright/tests/prices.spec.ts"),
      );
      writeFileSync(join(app, "playwright.config.ts"), playwrightConfig(executablePath));

      const installed = run(
        "npm",
        [
          "install",
          "--no-audit",
          "--no-fund",
          join(dir, tarball as string),
          `@playwright/test@${PLAYWRIGHT_VERSION}`,
          `vite@${VITE_VERSION}`,
        ],
        app,
        300_000,
      );
      expect(installed.ok, installed.output).toBe(true);
      // The exports ship with their types.
      const pkg = join(app, "node_modules", "arraywire", "dist");
      for (const d of ["server/playwright/index.d.ts", "client/worker.d.ts", "client/worker-fetch.d.ts"]) {
        expect(readdirSync(join(pkg, d, "..")), d).toContain(d.split("/").at(-1));
      }

      const report = join(dir, "report.json");
      const tested = run("npx", ["playwright", "test"], app, 420_000, { PLAYWRIGHT_JSON_OUTPUT_FILE: report, CI: "1" });
      const stats = JSON.parse(readFileSync(report, "utf8")).stats as { expected: number; unexpected: number };
      expect(stats, tested.output).toMatchObject({ expected: 6, unexpected: 0 });
      expect(tested.ok, tested.output).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 960_000);
});
