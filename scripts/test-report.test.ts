/**
 * The names npm test's summary prints (scripts/test-report.mjs): from a report Vitest itself wrote
 * for tests that pass, fail, and pass only on a retry, and from a Playwright report's shape
 * (suites of files and describes, specs, tests with a status).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { playwrightFailedNames, vitestNames } from "./test-report.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "arraywire-test-report-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("vitestNames", () => {
  it("names the failed test with its error and the one that passed only on the retry, not the one that passed", () => {
    writeFileSync(
      join(dir, "vitest.config.mjs"),
      "export default { test: { globals: true, include: ['*.check.mjs'] } };\n",
    );
    writeFileSync(
      join(dir, "some.check.mjs"),
      [
        "let tries = 0;",
        "describe('group', () => {",
        "  it('passes', () => {});",
        "  it('fails', () => { expect(1).toBe(2); });",
        "  it('passes on its retry', () => { tries++; expect(tries).toBe(2); });",
        "});",
      ].join("\n"),
    );
    const out = join(dir, "report.json");
    const run = spawnSync(
      "npx",
      ["vitest", "run", "--root", dir, "--config", join(dir, "vitest.config.mjs"), "--retry", "1"].concat([
        "--reporter=json",
        `--outputFile.json=${out}`,
      ]),
      { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
    );
    expect(run.status, run.stderr).toBe(1);
    const names = vitestNames(JSON.parse(readFileSync(out, "utf8")), dir);
    expect(names.failed).toHaveLength(1);
    expect(names.failed[0]).toMatch(/^vitest some\.check\.mjs: group fails \(AssertionError: expected 1 to be 2/);
    expect(names.retried).toHaveLength(1);
    expect(names.retried[0]).toMatch(
      /^vitest some\.check\.mjs: group passes on its retry \(AssertionError: expected 1 to be 2/,
    );
  });

  it("names a file that failed to run, and nothing for an empty or missing report", () => {
    const report = {
      testResults: [
        { name: `${dir}/broken.test.ts`, status: "failed", message: "SyntaxError: x\nat y", assertionResults: [] },
      ],
    };
    expect(vitestNames(report, dir)).toEqual({ failed: ["vitest broken.test.ts: SyntaxError: x"], retried: [] });
    expect(vitestNames(null, dir)).toEqual({ failed: [], retried: [] });
  });
});

describe("playwrightFailedNames", () => {
  it("names unexpected and flaky tests with their describe path, not expected or skipped ones", () => {
    const spec = (title: string, status: string) => ({ title, file: "a.spec.ts", tests: [{ status }] });
    const report = {
      suites: [
        {
          title: "a.spec.ts",
          file: "a.spec.ts",
          specs: [spec("top", "unexpected"), spec("fine", "expected")],
          suites: [
            {
              title: "outer",
              file: "a.spec.ts",
              specs: [spec("skipped", "skipped")],
              suites: [{ title: "inner", file: "a.spec.ts", specs: [spec("deep", "flaky")] }],
            },
          ],
        },
      ],
    };
    expect(playwrightFailedNames(report)).toEqual([
      "playwright a.spec.ts: top (unexpected)",
      "playwright a.spec.ts: outer > inner > deep (flaky)",
    ]);
    expect(playwrightFailedNames(undefined)).toEqual([]);
  });
});
