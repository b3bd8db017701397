/**
 * The 4 GiB rows (issue 12, part 3): 2^29 + 1 float64 (4 GiB + 8 bytes, one element past byte
 * 2^32) from an arange server in its own process (generated per chunk: the server holds no
 * array), received by a fresh Node client process per run on each transport with the library
 * defaults (verify: XXH32) and maxBytes raised, then checked element by element. Reports MB/s
 * (1e6 bytes of array per second, from the request to the last byte) and the client's peak RSS
 * over its baseline (VmHWM at the end minus VmRSS before the fetch), and the server's peak RSS.
 * A browser row runs the same fetch in Chromium, launched directly (no DevTools attached), on
 * the default transport, reporting its MB/s and the renderer's peak RSS.
 * `npm run bench -- --big [--runs N]`; prints a table and writes big.json + big.md to
 * bench/results/tmp/big/ (or --out). Not part of --quick; about 2 minutes for 3 runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readRss } from "./proc.ts";

/** 2^29 + 1 float64: 4 GiB + 8 bytes. */
export const BIG_ELEMENT_COUNT = 2 ** 29 + 1;
const BIG_BYTE_LENGTH = BIG_ELEMENT_COUNT * 8;
const SELF = fileURLToPath(import.meta.url);
/** A run that has not finished by then failed (4.3 GB at 40 MB/s). */
const RUN_TIMEOUT_MS = 120_000;

/** One row of the 4 GiB bench. */
export interface BigArrayRow {
  label: string;
  mbps: number[];
  /** Client (or renderer) peak RSS minus its baseline, bytes. */
  clientPeakOverBaselineBytes: number[];
  /** Server process peak RSS (VmHWM), bytes. */
  serverPeakBytes: number[];
  failures: string[];
}

interface ClientReport {
  ok: boolean;
  ms: number;
  rssBefore: number;
  hwm: number;
  error?: string;
}

function memoryStatus(): { rss: number; hwm: number } {
  const status = readFileSync("/proc/self/status", "utf8");
  const kB = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kB("VmRSS"), hwm: kB("VmHWM") };
}

/**
 * Child role "server": one http server with an ArrayServer at /arraywire publishing arange up to
 * 4 GiB + 8 bytes, and the browser row's page (/ and /page.js, which runs client/index.ts bundled
 * with esbuild); the page POSTs its report to /result, passed on to the parent. Sends its URL.
 */
async function serveChild(): Promise<void> {
  const { createServer } = await import("node:http");
  const { build } = await import("esbuild");
  const { ArrayServer, arange } = await import("../server/index.ts");
  const client = fileURLToPath(new URL("../client/index.ts", import.meta.url));
  const bundle = await build({
    stdin: { contents: pageSource(client), resolveDir: process.cwd(), loader: "ts" },
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "warning",
  });
  const js = bundle.outputFiles[0]?.text ?? "";
  const http = createServer((req, res) => {
    // GET /arraywire?... is the HTTP transport.
    if (server.handleRequest(req, res)) return;
    if (req.url === "/page.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    } else if (req.url === "/result" && req.method === "POST") {
      let body = "";
      req.on("data", (d: Buffer) => {
        body += d.toString();
      });
      req.on("end", () => {
        res.writeHead(204).end();
        process.send?.({ type: "result", report: JSON.parse(body) as ClientReport });
      });
    } else if (req.url === "/") {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end('<!doctype html><meta charset="utf-8"><title>big</title><script type="module" src="/page.js"></script>');
    }
  });
  const server = new ArrayServer({ server: http, path: "/arraywire", log: () => {} });
  server.publish("arange", arange({ maxByteLength: BIG_BYTE_LENGTH }));
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  const { port } = http.address() as import("node:net").AddressInfo;
  process.send?.({ type: "listening", url: `ws://127.0.0.1:${port}/arraywire`, pageUrl: `http://127.0.0.1:${port}/` });
  process.on("disconnect", () => void server.close().then(() => process.exit(0)));
}

/** The page of the browser row: one fetchArray with the defaults (transport "auto"), checked, reported. */
function pageSource(client: string): string {
  return `import { fetchArray } from ${JSON.stringify(client)};
const n = ${BIG_ELEMENT_COUNT};
const started = performance.now();
let report;
try {
  const { array } = await fetchArray(new URL("/arraywire", location.href), "arange", { params: { length: n }, maxBytes: ${BIG_BYTE_LENGTH} });
  const ms = performance.now() - started;
  let wrong = -1;
  for (let i = 0; i < n; i++) if (array[i] !== i) { wrong = i; break; }
  report = wrong < 0 && array.length === n ? { ok: true, ms } : { ok: false, ms, error: "element " + wrong };
} catch (err) {
  report = { ok: false, ms: 0, error: String((err && err.message) || err) };
}
await fetch("/result", { method: "POST", body: JSON.stringify(report) });
`;
}

/** Child role "client": one fetch of the big array on `transport`, checked; prints the report as JSON. */
async function clientChild(url: string, transport: "ws" | "http"): Promise<void> {
  const { fetchArray } = await import("../client/index.ts");
  const before = memoryStatus();
  const started = performance.now();
  let report: ClientReport;
  try {
    const { array } = await fetchArray<Float64Array>(url, "arange", {
      transport,
      params: { length: BIG_ELEMENT_COUNT },
      maxBytes: BIG_BYTE_LENGTH,
    });
    const ms = performance.now() - started;
    const after = memoryStatus();
    let wrong = -1;
    for (let i = 0; i < BIG_ELEMENT_COUNT; i++) {
      if (array[i] !== i) {
        wrong = i;
        break;
      }
    }
    report =
      array.length === BIG_ELEMENT_COUNT && wrong < 0
        ? { ok: true, ms, rssBefore: before.rss, hwm: after.hwm }
        : { ok: false, ms, rssBefore: before.rss, hwm: after.hwm, error: `element ${wrong} is ${array[wrong]}` };
  } catch (err) {
    report = { ok: false, ms: 0, rssBefore: before.rss, hwm: 0, error: String((err as Error).message ?? err) };
  }
  console.log(`BIG-REPORT ${JSON.stringify(report)}`);
}

function startServer(): Promise<{ child: ChildProcess; url: string; pageUrl: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", SELF, "server"], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("big-array server did not start within 60 s")), 60_000);
    child.once("exit", (code) => reject(new Error(`big-array server exited with ${code}`)));
    child.on("message", (m: { type: string; url: string; pageUrl: string }) => {
      if (m.type === "listening") {
        clearTimeout(timer);
        resolve({ child, url: m.url, pageUrl: m.pageUrl });
      }
    });
  });
}

function runClient(url: string, transport: "ws" | "http"): Promise<ClientReport> {
  const child = spawn(process.execPath, ["--import", "tsx", SELF, "client", url, transport], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("BIG-REPORT "));
      resolve(
        line
          ? (JSON.parse(line.slice("BIG-REPORT ".length)) as ClientReport)
          : { ok: false, ms: 0, rssBefore: 0, hwm: 0, error: `client exited with ${code} and no report` },
      );
    });
  });
}

/**
 * The browser row: Chromium started directly on the server's page; the renderers' RSS is sampled
 * every 200 ms (the first sample of each is its baseline) and the row reports the renderer with
 * the highest peak (VmHWM) when the page's report arrives: the one that held the array.
 */
async function runBrowser(server: ChildProcess, pageUrl: string): Promise<ClientReport> {
  const reported = new Promise<ClientReport>((resolve) => {
    const onMessage = (m: { type: string; report: ClientReport }) => {
      if (m.type !== "result") return;
      server.off("message", onMessage);
      resolve(m.report);
    };
    server.on("message", onMessage);
    setTimeout(() => {
      server.off("message", onMessage);
      resolve({ ok: false, ms: 0, rssBefore: 0, hwm: 0, error: "browser run timed out" });
    }, RUN_TIMEOUT_MS);
  });
  const profile = mkdtempSync(join(tmpdir(), "arraywire-big-chromium-"));
  const chromium = spawn(
    process.env.ARRAYWIRE_CHROMIUM ?? "/usr/bin/chromium",
    [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      pageUrl,
    ],
    { stdio: "ignore" },
  );
  const baselines = new Map<number, number>();
  const renderers = () =>
    descendants(chromium.pid ?? 0).filter((pid) => safeRead(`/proc/${pid}/cmdline`).includes("--type=renderer"));
  const sampler = setInterval(() => {
    for (const pid of renderers()) {
      if (!baselines.has(pid)) baselines.set(pid, readRss(pid)?.rssBytes ?? 0);
    }
  }, 200);
  const report = await reported;
  clearInterval(sampler);
  let best = { hwm: 0, baseline: 0 };
  for (const pid of renderers()) {
    const hwm = readRss(pid)?.peakBytes ?? 0;
    if (hwm > best.hwm) best = { hwm, baseline: baselines.get(pid) ?? 0 };
  }
  chromium.kill("SIGTERM");
  await new Promise((r) => chromium.once("exit", r));
  // Chromium's helpers may still be writing to the profile for a moment after it exits.
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  } catch (err) {
    console.warn(`big-array: could not remove ${profile}: ${(err as Error).message}`);
  }
  return { ...report, rssBefore: best.baseline, hwm: best.hwm };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function descendants(root: number): number[] {
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const child of safeRead(`/proc/${pid}/task/${pid}/children`).split(/\s+/).filter(Boolean)) {
      out.push(Number(child));
      queue.push(Number(child));
    }
  }
  return out;
}

/** Runs every row `runs` times, alternating them; returns the rows. */
export async function runBigArray(runs: number, browser: boolean): Promise<BigArrayRow[]> {
  const { child, url, pageUrl } = await startServer();
  const rows: BigArrayRow[] = [
    {
      label: "Node fetchArray, ws, 4 GiB + 8 B float64",
      mbps: [],
      clientPeakOverBaselineBytes: [],
      serverPeakBytes: [],
      failures: [],
    },
    {
      label: "Node fetchArray, http, 4 GiB + 8 B float64",
      mbps: [],
      clientPeakOverBaselineBytes: [],
      serverPeakBytes: [],
      failures: [],
    },
  ];
  if (browser) {
    rows.push({
      label: "Chromium fetchArray, default (http), 4 GiB + 8 B float64",
      mbps: [],
      clientPeakOverBaselineBytes: [],
      serverPeakBytes: [],
      failures: [],
    });
  }
  try {
    for (let round = 0; round < runs; round++) {
      for (let k = 0; k < rows.length; k++) {
        const index = (k + round) % rows.length;
        const row = rows[index] as BigArrayRow;
        const report =
          index === 2 ? await runBrowser(child, pageUrl) : await runClient(url, index === 0 ? "ws" : "http");
        const server = readRss(child.pid ?? 0);
        if (report.ok) {
          row.mbps.push(BIG_BYTE_LENGTH / 1e3 / report.ms);
          row.clientPeakOverBaselineBytes.push(report.hwm - report.rssBefore);
          row.serverPeakBytes.push(server?.peakBytes ?? Number.NaN);
        } else {
          row.failures.push(report.error ?? "failed");
        }
        console.log(
          `  ${row.label}: ${report.ok ? `${(BIG_BYTE_LENGTH / 1e3 / report.ms).toFixed(0)} MB/s, peak ${((report.hwm - report.rssBefore) / 2 ** 30).toFixed(2)} GiB over baseline` : `FAILED: ${report.error}`}`,
        );
      }
    }
  } finally {
    child.disconnect();
    await new Promise((r) => child.once("exit", r));
  }
  return rows;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(2);

/** The Markdown table of the rows. */
export function bigArrayTable(rows: readonly BigArrayRow[]): string[] {
  return [
    "| 4 GiB + 8 B (2^29 + 1 float64, arange) | MB/s median (min-max) | client peak over baseline, GiB | server peak RSS, GiB | runs ok |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.mbps.length ? `${median(r.mbps).toFixed(0)} (${Math.min(...r.mbps).toFixed(0)}-${Math.max(...r.mbps).toFixed(0)})` : "-"} | ${r.mbps.length ? gib(median(r.clientPeakOverBaselineBytes)) : "-"} | ${r.mbps.length ? gib(median(r.serverPeakBytes)) : "-"} | ${r.mbps.length}/${r.mbps.length + r.failures.length}${r.failures.length ? ` (${r.failures[0]})` : ""} |`,
    ),
  ];
}

if (process.argv[2] === "server") void serveChild();
else if (process.argv[2] === "client") void clientChild(process.argv[3] as string, process.argv[4] as "ws" | "http");
