/**
 * The file-serving rows (issue 9, part 1): a 1.6 GB float64 .npy served from disk by a server in
 * its own process (server/file-sources/test-fixtures/file-server.ts), measured from this one.
 * - 10 concurrent clients (5 WebSocket, 5 HTTP; they keep no data, see drain-clients.ts):
 *   aggregate MB/s, and the server's RSS peak over its baseline (taken after a warm-up and a GC);
 * - one WebSocket client: MB/s of the file against the same array published from memory.
 * The file is written once to os.tmpdir()/arraywire-bench/ (never the repository) and reused.
 * `npm run bench -- --files [--runs N]`; prints a table and writes files.json to the results dir.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { drainHttp, drainWs } from "../server/file-sources/test-fixtures/drain-clients.ts";
import { encodeNpyHeader } from "../shared/index.ts";
import { FILE_SERVING } from "./plan.ts";
import { readRss } from "./proc.ts";

const MB = 1e6;
const MiB = 1024 * 1024;
const FIXTURE = fileURLToPath(new URL("../server/file-sources/test-fixtures/file-server.ts", import.meta.url));

/** One row of the file bench. */
export interface FileServingRow {
  label: string;
  mbps: number[];
  serverRssOverBaselineBytes?: number[];
}

/** The bench file: element i holds i; written in 4 MiB pieces, reused when present. */
function benchFile(elementCount: number): string {
  const dir = join(tmpdir(), "arraywire-bench");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `signal-${elementCount}.npy`);
  const header = encodeNpyHeader({ dtype: "float64", shape: [elementCount] });
  if (existsSync(path) && statSync(path).size === header.byteLength + elementCount * 8) return path;
  const fd = openSync(path, "w");
  writeSync(fd, header);
  const piece = new Float64Array(512 * 1024);
  for (let first = 0; first < elementCount; first += piece.length) {
    const n = Math.min(piece.length, elementCount - first);
    for (let i = 0; i < n; i++) piece[i] = first + i;
    writeSync(fd, new Uint8Array(piece.buffer, 0, n * 8));
  }
  closeSync(fd);
  return path;
}

async function startServer(path: string, memory: boolean): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", FIXTURE, JSON.stringify({ path, memory })], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("file server did not start within 120 s")), 120_000);
    child.once("exit", (code) => reject(new Error(`file server exited with ${code}`)));
    child.on("message", (m: { type: string; url?: string }) => {
      if (m.type === "listening") {
        clearTimeout(timer);
        resolve(m.url as string);
      }
    });
  });
  return { child, url };
}

function gc(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (m: { type: string }) => {
      if (m.type === "gc-done") {
        child.off("message", onMessage);
        resolve();
      }
    };
    child.on("message", onMessage);
    child.send({ type: "gc" });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Runs the file rows `runs` times each; bounded by a deadline per run (30 s plus 50 MB/s). */
export async function runFileServing(runs: number): Promise<FileServingRow[]> {
  const { elementCount, clientCount } = FILE_SERVING;
  const byteLength = elementCount * 8;
  const samples = [0, Math.floor(elementCount / 3), elementCount - 1];
  const path = benchFile(elementCount);
  const deadlineFor = (bytes: number) => Date.now() + 30_000 + (bytes / (50 * MB)) * 1000;
  const check = (report: { byteLength: number; values: number[] }) => {
    if (report.byteLength !== byteLength || report.values.some((v, i) => v !== samples[i])) {
      throw new Error(`file bench: data did not verify (${report.byteLength} bytes, values ${report.values})`);
    }
  };

  const many: FileServingRow = {
    label: `${clientCount} clients, ${byteLength / MB} MB .npy (${clientCount / 2} ws + ${clientCount / 2} http), aggregate`,
    mbps: [],
    serverRssOverBaselineBytes: [],
  };
  const singleFile: FileServingRow = { label: `1 ws client, ${byteLength / MB} MB .npy from disk`, mbps: [] };
  const singleMemory: FileServingRow = { label: `1 ws client, the same array in memory`, mbps: [] };

  const { child, url } = await startServer(path, true);
  try {
    const pid = child.pid as number;
    await Promise.all([
      drainWs(url, "file", samples, deadlineFor(byteLength)),
      drainHttp(url, "file", samples, deadlineFor(byteLength)),
    ]);
    for (let run = 0; run < runs; run++) {
      // Single client: file and memory, alternating which goes first.
      for (const [row, name] of (run % 2 === 0
        ? [
            [singleFile, "file"],
            [singleMemory, "memory"],
          ]
        : [
            [singleMemory, "memory"],
            [singleFile, "file"],
          ]) as [FileServingRow, string][]) {
        const report = await drainWs(url, name, samples, deadlineFor(byteLength));
        check(report);
        row.mbps.push(byteLength / MB / (report.ms / 1000));
      }
      await gc(child);
      const baseline = readRss(pid)?.rssBytes ?? 0;
      let peak = baseline;
      const timer = setInterval(() => {
        peak = Math.max(peak, readRss(pid)?.rssBytes ?? 0);
      }, 20);
      const started = performance.now();
      const deadline = deadlineFor(byteLength * clientCount);
      const reports = await Promise.all(
        Array.from({ length: clientCount }, (_, i) =>
          i % 2 === 0 ? drainWs(url, "file", samples, deadline) : drainHttp(url, "file", samples, deadline),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      clearInterval(timer);
      peak = Math.max(peak, readRss(pid)?.rssBytes ?? 0);
      for (const report of reports) check(report);
      many.mbps.push((byteLength * clientCount) / MB / seconds);
      many.serverRssOverBaselineBytes?.push(peak - baseline);
    }
  } finally {
    child.disconnect();
    child.kill();
  }
  return [many, singleFile, singleMemory];
}

/** The rows as a markdown table: median and min-max of each. */
export function fileServingTable(rows: FileServingRow[]): string[] {
  const range = (values: number[], digits = 0) =>
    `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)})`;
  const out = ["| file serving | MB/s | server RSS over baseline, MiB |", "| --- | ---: | ---: |"];
  for (const row of rows) {
    const rss = row.serverRssOverBaselineBytes?.map((b) => b / MiB);
    out.push(`| ${row.label} | ${range(row.mbps)} | ${rss ? range(rss) : ""} |`);
  }
  return out;
}
