/**
 * `npm run loadtest -- --balanced ...` reaches bench/balanced.ts: its flags are checked (both
 * sides of a bound), and a tiny run (1 MB, 1 s, two backends behind nginx, or straight without a
 * proxy) writes a report with the aggregate rate, the errors and each backend's RSS.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findExecutable } from "../server/test-fixtures/proxy-process.ts";
import { parseConfig } from "./balanced.ts";

const loadtest = fileURLToPath(new URL("./loadtest.ts", import.meta.url));

/** Runs `tsx bench/loadtest.ts` with `args`; at most 90 s. */
function run(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", loadtest, ...args], { encoding: "utf8", timeout: 90_000 });
}

describe("the balanced load test's flags", () => {
  it("accept each bound and refuse one past it", () => {
    expect(parseConfig(["--clients", "1", "--backends", "1", "--seconds", "1", "--mb", "1"])).toMatchObject({
      clients: 1,
      backends: 1,
      seconds: 1,
    });
    expect(parseConfig(["--clients", "64", "--backends", "8", "--mb", "1"])).toMatchObject({
      clients: 64,
      backends: 8,
    });
    expect(() => parseConfig(["--clients", "0"])).toThrow("Invalid --clients: expected an integer in 1..64, got 0");
    expect(() => parseConfig(["--clients", "65"])).toThrow(RangeError);
    expect(() => parseConfig(["--backends", "9"])).toThrow(RangeError);
    expect(() => parseConfig(["--proxy", "caddy"])).toThrow(
      "Invalid --proxy: expected nginx, haproxy or none, got caddy",
    );
  });

  it("reach it through npm run loadtest -- --balanced", () => {
    const r = run(["--balanced", "--proxy", "caddy"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("Invalid --proxy: expected nginx, haproxy or none, got caddy");
  });
});

describe("a tiny balanced load test run", () => {
  for (const proxy of ["none", "nginx"] as const) {
    const skip = proxy !== "none" && !findExecutable(proxy);
    it.skipIf(skip)(
      `reports aggregate MB/s, errors and per-backend RSS (${proxy})`,
      () => {
        const out = mkdtempSync(join(tmpdir(), "aw-balanced-"));
        try {
          const r = run(
            ["--balanced", "--proxy", proxy, "--backends", "2", "--clients", "2", "--seconds", "1"].concat([
              "--mb",
              "1",
              "--transport",
              "mixed",
              "--out",
              out,
            ]),
          );
          expect(r.status, r.stderr).toBe(0);
          const md = readFileSync(join(out, "balanced.md"), "utf8");
          const aggregate = Number(/\| aggregate MB\/s \(completed \+ cut bytes\) \| ([\d.]+) \|/.exec(md)?.[1]);
          expect(aggregate).toBeGreaterThan(0);
          expect(md).toMatch(/\| errors by code \| none \|/);
          // One row per backend: bytes written and RSS baseline -> peak.
          const rows = [...md.matchAll(/^\| (\d) \| [\d.]+ \(\d+%\) \| \d+ \| ([\d.]+) -> ([\d.]+) \|$/gm)];
          expect(rows.map((m) => m[1])).toEqual(["0", "1"]);
          for (const m of rows) expect(Number(m[3])).toBeGreaterThanOrEqual(Number(m[2]));
          const json = JSON.parse(readFileSync(join(out, "balanced.json"), "utf8"));
          expect(json.config).toMatchObject({ proxy, backends: 2, clients: 2 });
        } finally {
          rmSync(out, { recursive: true, force: true });
        }
      },
      120_000,
    );
  }
});
