/**
 * Runs the bench's Python recv_into client (bench/recv_into_client.py) against a real ArrayServer
 * over HTTP: fresh and reused targets, with and without the zlib.crc32, and a stream whose values
 * are wrong (the element check must fail) or whose name is unknown. Skipped without python3.
 */
import { execFile, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer } from "../server/index.ts";
import type { NodeClientArgs, RunReport } from "./messages.ts";
import { REPORT_PREFIX } from "./messages.ts";

const CLIENT = fileURLToPath(new URL("./recv_into_client.py", import.meta.url));
/** 300,007 float64 values (2.4 MB): many recv_into calls, a length no read size divides. */
const ELEMENT_COUNT = 300_007;

const python = spawnSync("python3", ["-c", "print(1)"], { encoding: "utf8" }).status === 0 ? "python3" : null;
if (python === null) console.warn("recv-into-client.test.ts: skipped, python3 is not on the PATH");

function runClient(args: Partial<NodeClientArgs>): Promise<{ code: number; report: RunReport }> {
  const full = { run: 7, method: "python", target: "fresh", tcpPort: 0, elementCount: ELEMENT_COUNT, ...args };
  return new Promise((resolve, reject) => {
    execFile(python ?? "python3", [CLIENT, JSON.stringify(full)], { timeout: 30_000 }, (error, stdout, stderr) => {
      const line = stdout.split("\n").find((l) => l.startsWith(REPORT_PREFIX));
      if (!line) {
        reject(new Error(`no report: ${stdout}\n${stderr}`));
        return;
      }
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, report: JSON.parse(line.slice(REPORT_PREFIX.length)) as RunReport });
    });
  });
}

describe.skipIf(python === null)("Python recv_into client (bench)", () => {
  let server: ArrayServer;
  let httpPort = 0;

  beforeAll(async () => {
    server = new ArrayServer({ port: 0 });
    httpPort = (await server.listen()).port;
    const good = new Float64Array(ELEMENT_COUNT);
    const bad = new Float64Array(ELEMENT_COUNT);
    for (let i = 0; i < ELEMENT_COUNT; i++) {
      good[i] = i;
      bad[i] = i;
    }
    bad[ELEMENT_COUNT >> 1] = -5; // one wrong value in the middle
    server.publish(`f64-${ELEMENT_COUNT}`, good);
    server.publish("wrong", bad);
  });

  afterAll(async () => {
    await server?.close();
  });

  for (const target of ["fresh", "reused"] as const) {
    for (const hash of ["none", "crc32"] as const) {
      it(`receives and verifies every element (${target} target, hash ${hash})`, async () => {
        const { code, report } = await runClient({ httpPort, target, hash });
        expect(code).toBe(0);
        expect(report).toMatchObject({ ok: true, run: 7, byteLength: ELEMENT_COUNT * 8, verified: true });
        expect(report.ms).toBeGreaterThan(0);
        expect(report.minorFaults).toBeGreaterThanOrEqual(0);
        expect(report.rssPeakBytes).toBeGreaterThan(report.rssBaselineBytes ?? Number.POSITIVE_INFINITY);
        expect(report.detail?.hash).toBe(hash === "crc32" ? "zlib.crc32" : "none");
      });
    }
  }

  it("reports a stream whose values are wrong as unverified", async () => {
    const { report } = await runClient({ httpPort, name: "wrong", target: "reused" });
    expect(report).toMatchObject({ ok: true, verified: false, byteLength: ELEMENT_COUNT * 8 });
  });

  it("fails with the HTTP status for an unknown name, and exits non-zero", async () => {
    const { code, report } = await runClient({ httpPort, name: "nope" });
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.error).toContain("HTTP/1.1 404");
  });
});
