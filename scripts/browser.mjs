// Which Chromium the e2e tests use, and how `npm test` gets one on a fresh machine. Shared by
// scripts/test.mjs and playwright.config.ts, so the two always agree.
//
// Order: ARRAYWIRE_CHROMIUM (a path; when set it must exist, nothing else is tried), Debian's
// /usr/bin/chromium, then Playwright's own build. When none is there, ensureChromium() runs
// `npx playwright install chromium`; where that fails and the process runs as root on Debian or
// Ubuntu, it installs Debian's `chromium` with apt-get; otherwise it gives one line saying what
// to install. Every effect (file checks, commands, output) is a parameter, so the decisions are
// tested without installing or removing anything (scripts/browser.test.ts).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

/** Debian's Chromium (package `chromium`). */
export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/** Longest a `npx playwright install chromium` may take (a ~170 MB download on a slow link). */
const PLAYWRIGHT_INSTALL_TIMEOUT_MS = 10 * 60 * 1000;
/** Longest each apt-get step may take. */
const APT_TIMEOUT_MS = 15 * 60 * 1000;

/**
 * Where Playwright keeps its own Chromium (whether or not it is installed), or null when
 * @playwright/test cannot be loaded.
 */
export async function playwrightChromiumPath() {
  try {
    const { chromium } = await import("@playwright/test");
    return chromium.executablePath();
  } catch {
    return null;
  }
}

/**
 * The browser to use, or why there is none.
 * @param {object} options
 * @param {Record<string, string | undefined>} [options.env] defaults to process.env
 * @param {string | null} [options.playwrightPath] Playwright's Chromium path (see playwrightChromiumPath)
 * @param {string[]} [options.systemPaths] system browsers to try, defaults to [DEBIAN_CHROMIUM]
 * @param {(path: string) => boolean} [options.exists] defaults to fs.existsSync
 * @returns {{ source: "env" | "system" | "playwright", executablePath: string } | { source: "none", problem: string }}
 *   "playwright" means: launch without an executablePath, Playwright picks its own build.
 */
export function findChromium({
  env = process.env,
  playwrightPath = null,
  systemPaths = [DEBIAN_CHROMIUM],
  exists = existsSync,
} = {}) {
  const chosen = env.ARRAYWIRE_CHROMIUM;
  if (chosen) {
    return exists(chosen)
      ? { source: "env", executablePath: chosen }
      : { source: "none", problem: `ARRAYWIRE_CHROMIUM is ${chosen}, which does not exist` };
  }
  for (const path of systemPaths) {
    if (exists(path)) return { source: "system", executablePath: path };
  }
  if (playwrightPath && exists(playwrightPath)) return { source: "playwright", executablePath: playwrightPath };
  return { source: "none", problem: "no Chromium found" };
}

/** True when /etc/os-release (its text) names Debian or Ubuntu, or a distribution derived from them. */
export function isDebianLike(osRelease) {
  const ids = [];
  for (const line of String(osRelease ?? "").split("\n")) {
    const match = /^(ID|ID_LIKE)=(.*)$/.exec(line.trim());
    if (match) ids.push(...match[2].replace(/["']/g, "").split(/\s+/));
  }
  return ids.includes("debian") || ids.includes("ubuntu");
}

/** The OS release text, or "" where there is none (macOS, Windows). */
export function readOsRelease() {
  try {
    return readFileSync("/etc/os-release", "utf8");
  } catch {
    return "";
  }
}

/**
 * Runs a command to completion; returns true when it exited with 0.
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: Record<string, string>, timeoutMs?: number, quiet?: boolean }} [options]
 */
export function runCommand(command, args, { env = {}, timeoutMs = 0, quiet = false } = {}) {
  const result = spawnSync(command, args, {
    stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit",
    env: { ...process.env, ...env },
    timeout: timeoutMs || undefined,
  });
  return result.status === 0;
}

/**
 * Finds a Chromium, installing one when none is there (see the file's opening comment).
 * @param {object} options every effect, so a test can drive each branch
 * @param {() => ReturnType<typeof findChromium>} options.find looks for a browser (called again after each install)
 * @param {typeof runCommand} options.run runs a command
 * @param {boolean} options.isRoot the process may install system packages
 * @param {string} options.osRelease /etc/os-release's text ("" when absent)
 * @param {(line: string) => void} options.log prints one line
 * @returns {ReturnType<typeof findChromium>} a browser, or `source: "none"` with a one-line `problem`
 */
export function ensureChromium({ find, run, isRoot, osRelease, log }) {
  const found = find();
  // ARRAYWIRE_CHROMIUM names a browser on purpose: a wrong path is reported, never "fixed".
  if (found.source !== "none" || found.problem.startsWith("ARRAYWIRE_CHROMIUM")) return found;

  log("arraywire: no Chromium found; trying `npx playwright install chromium`");
  if (run("npx", ["playwright", "install", "chromium"], { timeoutMs: PLAYWRIGHT_INSTALL_TIMEOUT_MS })) {
    const installed = find();
    if (installed.source !== "none") return installed;
  }

  const debianLike = isDebianLike(osRelease);
  if (isRoot && debianLike) {
    log(
      "arraywire: Playwright could not install its browser; installing Debian's chromium with apt-get " +
        "(apt-get update, then apt-get install -y chromium)",
    );
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    const ok =
      run("apt-get", ["update", "-qq"], { env, timeoutMs: APT_TIMEOUT_MS, quiet: true }) &&
      run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], {
        env,
        timeoutMs: APT_TIMEOUT_MS,
        quiet: true,
      });
    const installed = find();
    if (installed.source !== "none") return installed;
    return {
      source: "none",
      problem: ok
        ? `apt-get installed chromium, but ${DEBIAN_CHROMIUM} is still missing; set ARRAYWIRE_CHROMIUM to its path`
        : "apt-get could not install chromium; install it (apt-get install chromium) or set ARRAYWIRE_CHROMIUM",
    };
  }
  const how = debianLike
    ? "run `apt-get install chromium` as root (or `npx playwright install chromium` where downloads work)"
    : "run `npx playwright install chromium` where downloads work";
  return {
    source: "none",
    problem: `no Chromium for the e2e tests: ${how}, or set ARRAYWIRE_CHROMIUM to a Chromium binary`,
  };
}
