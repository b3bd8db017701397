/**
 * The built command, as `npx arraywire` runs it: tsconfig.build.json compiled into a scratch
 * folder (under node_modules, so that the packages resolve as from dist/), then run with plain
 * node (no tsx): its --help is the README's, and serve + get work end to end. package.json's
 * "bin" must point at what the build writes, inside the published "files".
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN_HELP } from "./main.ts";
import { ROOT, readNpyWithTs, runCli, startServe, writeNpy } from "./test-helpers.ts";

const OUT_DIR = join(ROOT, "node_modules", ".cache", `arraywire-cli-bin-${process.pid}`);
const BUILT_BIN = join(OUT_DIR, "cli", "index.js");
const dir = mkdtempSync(join(tmpdir(), "arraywire-cli-bin-"));

beforeAll(() => {
  const tsc = join(ROOT, "node_modules", ".bin", "tsc");
  const build = spawnSync(tsc, ["-p", join(ROOT, "tsconfig.build.json"), "--outDir", OUT_DIR], {
    cwd: ROOT,
    timeout: 120_000,
  });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
}, 120_000);

afterAll(() => {
  rmSync(OUT_DIR, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe("the built arraywire command", () => {
  it("is the package's bin, inside the published files, a plain-node script with a shebang", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      bin: Record<string, string>;
      files: string[];
      dependencies: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ arraywire: "dist/cli/index.js" });
    expect(pkg.files).toContain("dist");
    expect(pkg.dependencies["cli-progress"]).toMatch(/^\d+\.\d+\.\d+$/); // a runtime dependency, pinned
    expect(existsSync(BUILT_BIN)).toBe(true);
    expect(readFileSync(BUILT_BIN, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });

  it("prints the README's help with plain node", async () => {
    const run = await runCli(["--help"], { bin: BUILT_BIN });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${MAIN_HELP}\n`);
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(readme).toContain(`\`\`\`text\n$ npx arraywire --help\n${MAIN_HELP}\n\`\`\``);
  });

  it("serves a .npy file and gets a range of it back, both built", async () => {
    const values = Float64Array.from({ length: 4096 }, (_, i) => i / 3);
    writeNpy(join(dir, "thirds.npy"), values, [512, 8]);
    const serve = await startServe([join(dir, "thirds.npy")], BUILT_BIN);
    try {
      const out = join(dir, "back.npy");
      const run = await runCli(["get", serve.url, "thirds", "--range", "100:300", "-o", out], { bin: BUILT_BIN });
      expect(run.code).toBe(0);
      const file = readNpyWithTs(out);
      expect(file.shape).toEqual([200, 8]);
      expect(file.data).toEqual(new Uint8Array(values.buffer, 800 * 8, 1600 * 8));
    } finally {
      expect((await serve.stop()).code).toBe(130);
    }
  });
});
