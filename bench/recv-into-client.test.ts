/**
 * Runs the bench's Python recv_into client (bench/recv_into_client.py) against a real ArrayServer
 * over HTTP: fresh and reused targets, with no hash, zlib.crc32 and the C XXH32 checked against
 * END; a stream whose values are wrong (the element check must fail), one whose END checksum is
 * wrong (the XXH32 check must fail), and an unknown name. Run with the interpreter the bench
 * picks (bench/runners.ts pythonPath: one with the xxhash module when there is one); skipped
 * without python3.
 */
import { execFile, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer } from "../server/index.ts";
import { encodeArrayHeader, encodeEnd, HTTP_CONTENT_TYPE, xxh32 } from "../shared/index.ts";
import type { NodeClientArgs, RunReport } from "./messages.ts";
import { REPORT_PREFIX } from "./messages.ts";
import { pythonPath } from "./runners.ts";

const CLIENT = fileURLToPath(new URL("./recv_into_client.py", import.meta.url));
/** 300,007 float64 values (2.4 MB): many recv_into calls, a length no read size divides. */
const ELEMENT_COUNT = 300_007;

const candidate = pythonPath();
const python = spawnSync(candidate, ["-c", "print(1)"], { encoding: "utf8" }).status === 0 ? candidate : null;
if (python === null) console.warn("recv-into-client.test.ts: skipped, python3 is not on the PATH");
const hasXxhash = python !== null && spawnSync(python, ["-c", "import xxhash"]).status === 0;

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
    for (const hash of ["none", "crc32", "xxh32"] as const) {
      it(`receives and verifies every element (${target} target, hash ${hash})`, async () => {
        const { code, report } = await runClient({ httpPort, target, hash });
        expect(code).toBe(0);
        expect(report).toMatchObject({ ok: true, run: 7, byteLength: ELEMENT_COUNT * 8, verified: true });
        expect(report.ms).toBeGreaterThan(0);
        expect(report.minorFaults).toBeGreaterThanOrEqual(0);
        expect(report.rssPeakBytes).toBeGreaterThan(report.rssBaselineBytes ?? Number.POSITIVE_INFINITY);
        const xxh32Hash = hasXxhash
          ? "xxh32 (C, python-xxhash), checked against END"
          : "zlib.crc32 (xxhash module missing: nothing checked)";
        expect(report.detail?.hash).toBe({ none: "none", crc32: "zlib.crc32", xxh32: xxh32Hash }[hash]);
      });
    }
  }

  it.skipIf(!hasXxhash)("fails a stream whose END checksum does not match the bytes (xxh32)", async () => {
    const n = 1000;
    const values = Float64Array.from({ length: n }, (_, i) => i);
    const bytes = new Uint8Array(values.buffer);
    const head = encodeArrayHeader({
      streamId: 1,
      name: "a",
      checksumAlgorithm: "xxh32",
      dtype: "float64",
      shape: [n],
      totalByteLength: bytes.byteLength,
      rangeByteStart: 0,
      rangeByteEnd: bytes.byteLength,
      firstByteOffset: 0,
      generation: 1,
      meta: null,
    });
    const checksum = (xxh32(bytes) ^ 1) >>> 0; // one bit off
    const end = encodeEnd({ streamId: 1, byteLength: bytes.byteLength, checksumAlgorithm: "xxh32", checksum });
    const fake: Server = createServer((_req, res) => {
      res.writeHead(200, {
        "content-type": HTTP_CONTENT_TYPE,
        "content-length": head.byteLength + bytes.byteLength + end.byteLength,
      });
      res.end(Buffer.concat([head, bytes, end]));
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    try {
      const { code, report } = await runClient({
        httpPort: (fake.address() as AddressInfo).port,
        elementCount: n,
        name: "a",
        hash: "xxh32",
      });
      expect(code).toBe(1);
      expect(report.ok).toBe(false);
      expect(report.error).toContain("checksum mismatch");
    } finally {
      await new Promise((resolve) => fake.close(resolve));
    }
  });

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
