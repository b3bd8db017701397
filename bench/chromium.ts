/**
 * Starting Chromium for a bench run, two ways:
 * - directly (`chromium --headless=new ... <url>`): no DevTools protocol attached, so WebSocket
 *   receive runs at full speed (Playwright's network monitoring slows it about 4x);
 * - under Playwright (`chromium.launch({ executablePath })`), to show what a Playwright test sees.
 * Either way one fresh browser (fresh profile) per run, closed and reaped before the next.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandLineOf, descendantsOf, isAlive, signalEach } from "./proc.ts";

/** Flags both launch paths use (the list, minus --headless which each path sets). */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The Chromium executable: ARRAYWIRE_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  return process.env.ARRAYWIRE_CHROMIUM || "/usr/bin/chromium";
}

/** A running browser that the bench owns. */
export interface BenchBrowser {
  /** Last lines Chromium wrote to stderr (for failure reports). */
  stderrTail(): string;
  /** Closes the browser and waits until every process of it is gone. */
  close(): Promise<void>;
}

/**
 * Renderer processes under `root` (the bench's own pid: every browser it starts descends from it,
 * and only one runs at a time), excluding Chromium's internal WebUI renderer.
 */
export function rendererPids(root: number): number[] {
  return descendantsOf(root).filter((pid) => {
    const cmdline = commandLineOf(pid);
    return cmdline.includes("--type=renderer") && !cmdline.includes("--top-chrome-webui");
  });
}

async function waitUntilGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

/** Starts `chromium --headless=new` on `url` with a fresh profile, in its own process group. */
export function launchChromium(url: string): BenchBrowser {
  const userDataDir = mkdtempSync(join(tmpdir(), "arraywire-bench-chromium-"));
  const child: ChildProcess = spawn(
    chromiumPath(),
    ["--headless=new", ...CHROMIUM_FLAGS, `--user-data-dir=${userDataDir}`, url],
    { detached: true, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  child.once("error", (err) => {
    stderr += `\nspawn failed: ${err.message}`;
  });
  return {
    stderrTail: () => stderr.trim().split("\n").slice(-5).join("\n"),
    async close() {
      const pid = child.pid;
      if (pid !== undefined) {
        const pids = [pid, ...descendantsOf(pid)];
        try {
          process.kill(-pid, "SIGTERM"); // the group spawn({ detached }) created
        } catch {
          // Group already gone.
        }
        signalEach(pids, "SIGTERM");
        if (!(await waitUntilGone(pids, 5000))) signalEach(pids, "SIGKILL");
        await waitUntilGone(pids, 5000);
      }
      await exited;
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Starts Chromium through Playwright (CDP attached, as in a Playwright test) and opens `url`. */
export async function launchPlaywright(url: string): Promise<BenchBrowser> {
  const { chromium } = await import("@playwright/test");
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS, headless: true });
  let error = "";
  const page = await browser.newPage();
  page.on("pageerror", (err) => {
    error = err.message;
  });
  // The page reports over HTTP; goto only has to start it.
  page.goto(url).catch((err: Error) => {
    error = err.message;
  });
  return {
    stderrTail: () => error,
    async close() {
      const before = descendantsOf(process.pid).filter((pid) => commandLineOf(pid).includes("chromium"));
      await browser.close();
      if (!(await waitUntilGone(before, 5000))) signalEach(before, "SIGKILL");
    },
  };
}
