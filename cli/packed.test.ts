/**
 * `npx arraywire` as a user meets it: `npm pack` this checkout, install the tarball into a
 * scratch project in a temporary directory (its dependencies come from the npm registry), then
 * run the command through npx with plain node: --help, and a serve + get whose .npy is read
 * back. Needs the npm registry (skipped, saying so, when it cannot be reached). Bounded: every
 * step has a timeout.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAIN_HELP } from "./main.ts";
import { ROOT, readNpyWithTs, waitFor, writeNpy } from "./test-helpers.ts";

function run(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
): { ok: boolean; stdout: string; output: string } {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: timeoutMs, env: { ...process.env, CI: "" } });
  return {
    ok: r.status === 0,
    stdout: r.stdout ?? "",
    output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error?.message ?? ""}`,
  };
}

describe("the packed tarball's bin", () => {
  it("installs as `arraywire`, runs with plain node through npx, and serves and gets", async (ctx) => {
    const registry = run("npm", ["view", "cli-progress@3.12.0", "version"], ROOT, 30_000);
    if (!registry.ok) {
      console.warn(`skipped: npm cannot reach the registry (npm view said: ${registry.output.trim().split("\n")[0]})`);
      ctx.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), "arraywire-packed-cli-"));
    try {
      const packed = run("npm", ["pack", "--pack-destination", dir], ROOT, 180_000);
      expect(packed.ok, packed.output).toBe(true);
      const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
      expect(tarball, packed.output).toBeDefined();
      const app = join(dir, "app");
      run("mkdir", [app], dir, 5_000);
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch", private: true }));
      const installed = run("npm", ["install", "--no-audit", "--no-fund", join(dir, tarball as string)], app, 300_000);
      expect(installed.ok, installed.output).toBe(true);

      const help = run("npx", ["--no-install", "arraywire", "--help"], app, 60_000);
      expect(help.ok, help.output).toBe(true);
      expect(help.stdout).toBe(`${MAIN_HELP}\n`);

      const values = Int16Array.from({ length: 600 }, (_, i) => i - 300);
      writeNpy(join(app, "ints.npy"), values, [200, 3]);
      // The installed bin itself (its shebang runs plain node), so that SIGINT reaches it.
      const serve = spawn(join(app, "node_modules", ".bin", "arraywire"), ["serve", "ints.npy", "--port", "0", "-q"], {
        cwd: app,
        stdio: ["ignore", "pipe", "inherit"],
      });
      let stdout = "";
      serve.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      const closed = new Promise<number | null>((resolve) => serve.on("close", (code) => resolve(code)));
      try {
        await waitFor(() => /^ws:\/\/\S+\n/.test(stdout), "the packed serve's URL", 60_000);
        const url = (stdout.split("\n")[0] as string).trim();
        const args = ["--no-install", "arraywire", "get", url, "ints", "-r", "50:150", "-o", "rows.npy", "-q"];
        const got = run("npx", args, app, 60_000);
        expect(got.ok, got.output).toBe(true);
        const back = readNpyWithTs(join(app, "rows.npy"));
        expect(back.descr).toBe("<i2");
        expect(back.shape).toEqual([100, 3]);
        expect(back.data).toEqual(new Uint8Array(values.buffer, 150 * 2, 300 * 2));
      } finally {
        serve.kill("SIGINT");
        expect(await closed).toBe(130);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
