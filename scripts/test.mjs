#!/usr/bin/env node
// `npm test`: typecheck, lint, the browser (found or set up), unit + integration tests (Vitest,
// some of which drive Chromium), then e2e (Playwright in Chromium). Every step runs even if an earlier one failed; the last line is the total as
// "N passed, N failed" and the exit code is non-zero when anything failed.
//
// The browser step sets up its own browser on a fresh machine (scripts/browser.mjs): when no Chromium
// is found it tries `npx playwright install chromium`, then, as root on Debian or Ubuntu, Debian's
// `chromium` with apt-get; otherwise it stops with one line saying what to install, counted as
// one failure.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureChromium, findChromium, playwrightChromiumPath, readOsRelease, runCommand } from "./browser.mjs";
import { playwrightFailedNames, vitestNames } from "./test-report.mjs";

const dir = mkdtempSync(join(tmpdir(), "arraywire-test-"));
const results = [];

function run(label, command, args, env = {}) {
  console.log(`\n=== ${label}: ${command} ${args.join(" ")}`);
  const r = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, ...env } });
  return r.status === 0;
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
}

// Typecheck and lint each count as one check.
for (const [label, args] of [
  ["typecheck", ["tsc", "-p", "tsconfig.json", "--noEmit"]],
  ["lint", ["biome", "check", "."]],
]) {
  const ok = run(label, "npx", args);
  results.push({ label, passed: ok ? 1 : 0, failed: ok ? 0 : 1 });
}

// Before Vitest: the packed-tarball Playwright test and the e2e step both need it.
console.log("\n=== browser");
const playwrightPath = await playwrightChromiumPath();
const browser = ensureChromium({
  find: () => findChromium({ playwrightPath }),
  run: runCommand,
  isRoot: process.getuid?.() === 0,
  osRelease: readOsRelease(),
  log: (line) => console.log(line),
});
// Pinned, so that playwright.config.ts (and the Vitest tests that start Chromium) use exactly it.
const browserEnv =
  browser.source !== "none" && browser.source !== "playwright" ? { ARRAYWIRE_CHROMIUM: browser.executablePath } : {};

const vitestJson = join(dir, "vitest.json");
const vitestOk = run(
  "unit + integration",
  "npx",
  ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`],
  browserEnv,
);
const v = readJson(vitestJson);
// CI shows only the tail of the output: the names of what failed go into the summary, and of
// what passed only on the retry vitest.config.ts allows in CI (not counted as failures).
const { failed: failedNames, retried: retriedNames } = vitestNames(v, process.cwd());
results.push({
  label: "vitest",
  passed: v?.numPassedTests ?? 0,
  failed: v ? v.numFailedTests + (vitestOk || v.numFailedTests > 0 ? 0 : 1) : 1,
});

if (browser.source === "none") {
  console.log(`e2e not run: ${browser.problem}`);
  results.push({ label: "playwright", passed: 0, failed: 1 });
} else {
  console.log(`arraywire: e2e tests use ${browser.executablePath} (${browser.source})`);
  const playwrightJson = join(dir, "playwright.json");
  const env = { PLAYWRIGHT_JSON_OUTPUT_FILE: playwrightJson, ...browserEnv };
  const playwrightOk = run("e2e", "npx", ["playwright", "test", "--reporter=list,json"], env);
  const p = readJson(playwrightJson);
  const pFailed = p ? p.stats.unexpected + p.stats.flaky : 1;
  failedNames.push(...playwrightFailedNames(p));
  results.push({
    label: "playwright",
    passed: p?.stats.expected ?? 0,
    failed: pFailed + (playwrightOk || pFailed > 0 ? 0 : 1),
  });
}

rmSync(dir, { recursive: true, force: true });
console.log("\n=== summary");
for (const name of retriedNames) console.log(`PASSED ON RETRY ${name}`);
for (const name of failedNames) console.log(`FAILED ${name}`);
for (const r of results) console.log(`${r.label}: ${r.passed} passed, ${r.failed} failed`);
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
