/**
 * A new user's first hour, automated (issue 11 item 8): `npm create vite@latest` (vanilla-ts),
 * `npm install`, the packed tarball plus tsx, then the files exactly as README.md shows them
 * (its blocks, not docs/examples: the text a reader copies), `tsc` as the app's own build runs it,
 * and each layout of "Serving the page and the arrays" in Chromium: a 400 MB array on screen
 * after progress. Screenshots go to test-results/fresh-app-layout-*.png. Needs the npm registry
 * (create-vite, vite, typescript, tsx): skipped, saying so, when it cannot be reached.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { examplesOf, REPO } from "../scripts/doc-examples.ts";
import { packTarball, writeWithPorts } from "./harness/app-dirs.ts";
import { layoutOneServer, layoutThreeSeparate, layoutTwoPlugin } from "./harness/layouts.ts";

test.describe.configure({ mode: "serial" });

const SHOTS = join(REPO, "test-results");
let work: string;
let app: string;
let unreachable: string | null = null;

function npm(cwd: string, args: string[], timeoutMs = 120_000): string {
  return execFileSync("npm", args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: timeoutMs,
    env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" },
  });
}

/** The README's files of the app (docs/examples/app/X is X in the app), with the layout ports. */
function writeReadmeFile(file: string): void {
  const example = examplesOf("README.md").examples.find((e) => e.file === `docs/examples/app/${file}`);
  if (!example) throw new Error(`README.md shows no ${file}`);
  writeWithPorts(app, file, example.text);
}

test.beforeAll(async () => {
  test.setTimeout(240_000);
  try {
    npm(REPO, ["view", "create-vite", "version"], 20_000);
  } catch (err) {
    unreachable = `the npm registry cannot be reached (${(err as Error).message.split("\n")[0]})`;
    return;
  }
  work = mkdtempSync(join(tmpdir(), "arraywire-fresh-"));
  const tarball = packTarball(work);
  npm(work, ["create", "--yes", "vite@latest", "app", "--", "--template", "vanilla-ts", "--no-interactive"]);
  app = join(work, "app");
  npm(app, ["install", "--prefer-offline"]);
  const devDependencies = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).devDependencies as Record<
    string,
    string
  >;
  npm(app, ["install", "--prefer-offline", tarball, `tsx@${devDependencies.tsx}`]);
  for (const file of ["vite.config.ts", "arrays.ts", "src/main.ts", "server.ts", "arrays-server.ts"]) {
    writeReadmeFile(file);
  }
  mkdirSync(SHOTS, { recursive: true });
});
test.afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test.beforeEach(() => {
  test.skip(unreachable !== null, `fresh-app test skipped: ${unreachable}`);
});

test("the fresh app is what create-vite makes today, and the README's src/main.ts typechecks in it", () => {
  const pkg = JSON.parse(readFileSync(join(app, "package.json"), "utf8"));
  expect(pkg.devDependencies.vite).toMatch(/^\^8\./);
  expect(Object.keys(pkg.dependencies ?? {})).toContain("arraywire");
  // create-vite's own build script starts with `tsc` (its tsconfig includes src/).
  execFileSync(join(app, "node_modules", ".bin", "tsc"), { cwd: app, encoding: "utf8", stdio: "pipe" });
});

test("layout 1 from the README: one Node server for the built page and the arrays", async ({ page }) => {
  rmSync(join(app, ".env.development"), { force: true });
  await layoutOneServer(page, app, join(SHOTS, "fresh-app-layout-1.png"));
});

test("layout 2 from the README: the Vite plugin, dev and preview", async ({ page }) => {
  rmSync(join(app, ".env.development"), { force: true });
  await layoutTwoPlugin(page, app, join(SHOTS, "fresh-app-layout-2.png"));
});

test("layout 3 from the README: a separate arrays server with allowedOrigins", async ({ page }) => {
  rmSync(join(app, "vite.config.ts"), { force: true });
  writeReadmeFile(".env.development");
  await layoutThreeSeparate(page, app, join(SHOTS, "fresh-app-layout-3.png"));
});
