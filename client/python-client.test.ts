/**
 * Runs the pure-Python client written from docs/PROTOCOL.md alone
 * (docs/examples/arraywire_client.py) against a real ArrayServer, over both transports.
 * Skipped when python3 (3.11+) is not on the PATH.
 */
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer, arange } from "../server/index.ts";

const CLIENT = fileURLToPath(new URL("../docs/examples/arraywire_client.py", import.meta.url));
const REFERENCE_LENGTH = 50_000_000;
const SMALL = [1, -2, 3, -4, 5, -6, 32767, -32768, 0, 9, 10, 11];

function findPython(): string | null {
  const probe = spawnSync("python3", ["-c", "import sys; print(sys.version_info >= (3, 11))"], { encoding: "utf8" });
  return probe.status === 0 && probe.stdout.trim() === "True" ? "python3" : null;
}

const python = findPython();
if (python === null) {
  console.warn("python-client.test.ts: skipped, python3 >= 3.11 is not available on the PATH");
}

interface Run {
  code: number;
  out: Record<string, unknown>;
  stats: Record<string, unknown> | null;
  wallMs: number;
}

/** Runs the client asynchronously: the server lives in this process and must keep serving. */
function runClient(args: string[]): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(python ?? "python3", [CLIENT, ...args], { timeout: 50_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      const line = stdout.trim().split("\n").pop() ?? "";
      let out: Record<string, unknown>;
      try {
        out = JSON.parse(line) as Record<string, unknown>;
      } catch {
        reject(new Error(`client printed no JSON (exit ${code}): ${stdout}\n${stderr}`));
        return;
      }
      const statsLine = stderr.split("\n").find((l) => l.startsWith('{"stats"'));
      const stats = statsLine ? ((JSON.parse(statsLine) as { stats: Record<string, unknown> }).stats ?? null) : null;
      resolve({ code, out, stats, wallMs: performance.now() - started });
    });
  });
}

describe.skipIf(python === null)("Python client written from PROTOCOL.md", () => {
  let server: ArrayServer;
  let referenceSha256 = "";

  beforeAll(async () => {
    server = new ArrayServer({ port: 0 });
    await server.listen();
    const reference = new Float64Array(REFERENCE_LENGTH);
    for (let i = 0; i < REFERENCE_LENGTH; i++) reference[i] = i;
    referenceSha256 = createHash("sha256")
      .update(new Uint8Array(reference.buffer, reference.byteOffset, reference.byteLength))
      .digest("hex");
    server.publish("reference", reference);
    server.publish("small", new Int16Array(SMALL), { shape: [3, 4] });
    server.publish("arange", arange());
  });

  afterAll(async () => {
    await server?.close();
  });

  it("passes its self-test (doc check values and the §13 worked example)", async () => {
    const run = await runClient(["--self-test"]);
    expect(run).toMatchObject({ code: 0, out: { selfTest: "ok" } });
  });

  for (const transport of ["http", "ws"] as const) {
    it(`receives the 400 MB reference array over ${transport}, byte-identical`, async () => {
      const run = await runClient([
        server.url,
        "reference",
        "--transport",
        transport,
        "--checksum",
        "none",
        "--sha256",
        "--stats",
      ]);
      expect(run.code).toBe(0);
      expect(run.out).toEqual({
        dtype: "float64",
        shape: [REFERENCE_LENGTH],
        byteLength: REFERENCE_LENGTH * 8,
        sha256: referenceSha256,
        first: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        last: REFERENCE_LENGTH - 1,
      });
      const seconds = Number(run.stats?.bodySeconds);
      console.log(
        `python ${transport}: 400 MB body in ${seconds.toFixed(3)} s = ${((REFERENCE_LENGTH * 8) / 1e6 / seconds).toFixed(0)} MB/s; ` +
          `request to END ${Number(run.stats?.totalSeconds).toFixed(3)} s; process wall ${(run.wallMs / 1000).toFixed(2)} s`,
      );
    });
  }

  for (const transport of ["http", "ws"] as const) {
    for (const checksum of ["xxh32", "crc32c"] as const) {
      it(`receives a small int16 2-d array over ${transport} with ${checksum}`, async () => {
        const run = await runClient([server.url, "small", "--transport", transport, "--checksum", checksum]);
        expect(run.code).toBe(0);
        expect(run.out).toEqual({
          dtype: "int16",
          shape: [3, 4],
          byteLength: 24,
          first: SMALL.slice(0, 10),
          last: SMALL[SMALL.length - 1],
        });
      });
    }
  }

  for (const transport of ["http", "ws"] as const) {
    it(`fetches a range of the arange source with params over ${transport}`, async () => {
      const params = JSON.stringify({ length: 100_000, dtype: "int32", start: 5, step: 2, shape: [100, 1000] });
      const run = await runClient([
        server.url,
        "arange",
        "--transport",
        transport,
        "--params",
        params,
        "--range",
        "1000:91000",
        "--checksum",
        "xxh32",
      ]);
      expect(run.code).toBe(0);
      expect(run.out).toEqual({
        dtype: "int32",
        shape: [90_000], // a range: the flattened elements, not the source's [100, 1000]
        byteLength: 360_000,
        first: Array.from({ length: 10 }, (_, i) => 5 + 2 * (1000 + i)),
        last: 5 + 2 * 90_999,
      });
    });
  }

  for (const transport of ["http", "ws"] as const) {
    it(`reports E_UNKNOWN_NAME over ${transport} and exits non-zero`, async () => {
      const run = await runClient([server.url, "no-such-array", "--transport", transport]);
      expect(run.code).not.toBe(0);
      expect(run.out.error).toBe("E_UNKNOWN_NAME");
      expect(typeof run.out.message).toBe("string");
    });
  }
});
