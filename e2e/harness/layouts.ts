/**
 * The README's three layouts ("Serving the page and the arrays"), run as a reader runs them, in an
 * app directory: `vite` / `vite build` / `vite preview` with Vite's own CLI, and `tsx server.ts`,
 * each a child process; then Chromium opens the page, which must show the 400 MB array after
 * showing progress. Used by e2e/layouts.spec.ts (an app made of docs/examples/app with this
 * repository linked as its arraywire package) and e2e/fresh-app.spec.ts (`npm create vite` plus
 * the packed tarball plus the README's blocks).
 *
 * The only changes to what a reader types: the README's ports (5173, 8080) become PORTS.page and
 * PORTS.arrays in the files, and `--port` / `--strictPort` go on Vite's command line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { expect, type Page } from "@playwright/test";
import { PORTS } from "./my-ports.ts";

/** What the page shows once the array is there (docs/examples/app/src/main.ts). */
export const FINAL_TEXT = "50,000,000 values (5000 x 10000), 273.15 to 373.14 K";

/** A child process of a layout, stopped by its own pid. */
export interface Child {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `args` with Node in `cwd`; resolves once its output matches `ready`, rejects if it exits first. */
export async function startChild(cwd: string, args: string[], ready: RegExp, timeoutMs = 60_000): Promise<Child> {
  const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: plainEnv() });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(" ")}: not ready in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      output += d;
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited:\n${output}`));
    });
  });
  return {
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** The environment of a child: Vite's banner without colours, so that it can be matched. */
function plainEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.FORCE_COLOR;
  return env;
}

/** Runs a command to completion (vite build); throws with its output when it fails. */
export async function runToEnd(cwd: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: plainEnv() });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d;
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`${args.join(" ")} failed (${code}):\n${output}`);
  return output;
}

const vite = (app: string) => join(app, "node_modules", "vite", "bin", "vite.js");
const tsx = (app: string) => join(app, "node_modules", "tsx", "dist", "cli.mjs");

/**
 * Opens `url` and waits for the array: the page must show FINAL_TEXT, and on the way a progress
 * line strictly between 0 and 400 MB (the status text changes are recorded from before the
 * page's script runs). Takes a screenshot to `screenshot` when given.
 */
export async function expectArrayOnScreen(page: Page, url: string, screenshot?: string): Promise<string[]> {
  await page.addInitScript(() => {
    const log: string[] = [];
    (window as unknown as { __statusLog: string[] }).__statusLog = log;
    new MutationObserver(() => {
      const text = document.querySelector("#app p")?.textContent ?? "";
      if (text !== log.at(-1)) log.push(text);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  if (screenshot) {
    // Best effort: the transfer may end before the picture is taken (the log below is the check).
    await page
      .waitForFunction(() => / of 400 MB$/.test(document.querySelector("#app p")?.textContent ?? ""))
      .then(() => page.screenshot({ path: screenshot.replace(/\.png$/, "-progress.png") }))
      .catch(() => {});
  }
  await expect(page.locator("#app p")).toHaveText(FINAL_TEXT, { timeout: 120_000 });
  expect(await page.locator("#app progress").evaluate((bar) => (bar as HTMLProgressElement).value)).toBe(1);
  const log = await page.evaluate(() => (window as unknown as { __statusLog: string[] }).__statusLog);
  const partial = log
    .map((line) => /^(\d+) of 400 MB$/.exec(line))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]));
  expect(
    partial.some((mb) => mb > 0 && mb < 400),
    `progress shown: ${log.join(" | ")}`,
  ).toBe(true);
  expect(errors).toEqual([]);
  if (screenshot) await page.screenshot({ path: screenshot });
  return log;
}

/** Layout 1: `vite build`, then `tsx server.ts` serves dist/ and the arrays on PORTS.arrays. */
export async function layoutOneServer(page: Page, app: string, screenshot?: string): Promise<void> {
  rmSync(join(app, "dist"), { recursive: true, force: true });
  await runToEnd(app, [vite(app), "build"]);
  expect(existsSync(join(app, "dist", "index.html"))).toBe(true);
  const server = await startChild(app, [tsx(app), "server.ts"], new RegExp(`http://127\\.0\\.0\\.1:${PORTS.arrays}/`));
  try {
    await expectArrayOnScreen(page, `http://127.0.0.1:${PORTS.arrays}/`, screenshot);
  } finally {
    await server.stop();
  }
}

/** Layout 2: `vite` (dev) with the plugin, then `vite build` + `vite preview`. */
export async function layoutTwoPlugin(page: Page, app: string, screenshot?: string): Promise<void> {
  const dev = await startChild(app, [vite(app), "--port", String(PORTS.page), "--strictPort"], /Local:\s+http/);
  try {
    expect(dev.output()).toContain("arraywire: /arraywire (WebSocket and HTTP), publishing temperature, arange");
    await expectArrayOnScreen(page, `http://localhost:${PORTS.page}/`, screenshot);
  } finally {
    await dev.stop();
  }
  rmSync(join(app, "dist"), { recursive: true, force: true });
  await runToEnd(app, [vite(app), "build"]);
  const preview = await startChild(
    app,
    [vite(app), "preview", "--port", String(PORTS.preview), "--strictPort"],
    /Local:\s+http/,
  );
  try {
    await page.goto("about:blank");
    await expectArrayOnScreen(page, `http://localhost:${PORTS.preview}/`);
  } finally {
    await preview.stop();
  }
}

/** Layout 3: `tsx arrays-server.ts` on PORTS.arrays, `.env.development` pointing `vite` (dev) at it. */
export async function layoutThreeSeparate(page: Page, app: string, screenshot?: string): Promise<void> {
  expect(existsSync(join(app, ".env.development"))).toBe(true);
  const arrays = await startChild(app, [tsx(app), "arrays-server.ts"], /arrays at ws:/);
  try {
    const dev = await startChild(app, [vite(app), "--port", String(PORTS.page), "--strictPort"], /Local:\s+http/);
    try {
      await expectArrayOnScreen(page, `http://localhost:${PORTS.page}/`, screenshot);
    } finally {
      await dev.stop();
    }
  } finally {
    await arrays.stop();
  }
}
