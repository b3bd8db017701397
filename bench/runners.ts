/**
 * Running one measurement: the server process (started once), a Node or Python client process per
 * run, a fresh Chromium per browser run, and the many-clients runs. Memory is measured from outside
 * the process: peak minus baseline, the peak from VmHWM after resetting it (clear_refs), or from
 * polling VmRSS every 20 ms where the kernel refuses the reset; minor page faults and CPU time
 * from /proc/PID/stat.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { type BenchBrowser, launchChromium, launchPlaywright, rendererPids } from "./chromium.ts";
import type { FromServer, NodeClientArgs, RunReport, ServerConfig, ToServer } from "./messages.ts";
import { REPORT_PREFIX } from "./messages.ts";
import { type ManyClients, MB, type Method } from "./plan.ts";
import { RssSampler, readCounters, readRss, resetPeakRss } from "./proc.ts";
import { megabytesPerSecond, type Sample } from "./results.ts";

/** Generous per-run limit: 30 s plus 10 MB/s for the bytes (Playwright's ws runs at ~70-100 MB/s). */
function timeoutFor(byteLength: number): number {
  return 30_000 + (byteLength / (10 * MB)) * 1000;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Peak-minus-baseline RSS, minor faults and CPU time of one process over one run. */
class MemoryProbe {
  readonly pid: number;
  readonly baselineBytes: number;
  readonly #reset: boolean;
  readonly #sampler: RssSampler;
  readonly #counters: { minorFaults: number; cpuSeconds: number };

  constructor(pid: number) {
    this.pid = pid;
    this.baselineBytes = readRss(pid)?.rssBytes ?? 0;
    this.#reset = resetPeakRss(pid);
    this.#sampler = new RssSampler(pid);
    this.#counters = readCounters(pid) ?? { minorFaults: 0, cpuSeconds: 0 };
  }

  /** Current RSS (bytes), peak RSS since the probe started (bytes), minor faults and CPU seconds since then. */
  finish(): { currentBytes: number; peakBytes: number; minorFaults: number; cpuSeconds: number } {
    const sampled = this.#sampler.stop();
    const status = readRss(this.pid);
    const counters = readCounters(this.pid);
    const peakBytes = this.#reset && status ? Math.max(status.peakBytes, sampled) : sampled;
    return {
      currentBytes: status?.rssBytes ?? 0,
      peakBytes,
      minorFaults: counters ? counters.minorFaults - this.#counters.minorFaults : 0,
      cpuSeconds: counters ? counters.cpuSeconds - this.#counters.cpuSeconds : 0,
    };
  }
}

/** Children the bench started, so that they can all be ended on exit or error. */
export const liveChildren = new Set<{ kill(): Promise<void> | void }>();

/** The bench's server process, with request/response calls and page events over IPC. */
export class ServerProcess {
  readonly #child: ChildProcess;
  readonly #events = new Map<string, { resolve: (value: unknown) => void; promise: Promise<unknown> }>();
  #nextId = 0;
  httpPort = 0;
  tcpPort = 0;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on("message", (message: FromServer) => {
      if (message.type === "listening") {
        this.httpPort = message.httpPort;
        this.tcpPort = message.tcpPort;
        this.#event("listening").resolve(undefined);
      } else if (message.type === "page-ready") this.#event(`ready:${message.run}`).resolve(undefined);
      else if (message.type === "page-result") this.#event(`result:${message.report.run}`).resolve(message.report);
      else if (message.type === "done") this.#event(`done:${message.id}`).resolve(undefined);
    });
  }

  /** Starts `node --expose-gc <script> <config>` and waits until it listens (arrays built). */
  static async start(script: string, config: ServerConfig): Promise<ServerProcess> {
    const child = spawn(process.execPath, ["--expose-gc", script, JSON.stringify(config)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const server = new ServerProcess(child);
    liveChildren.add(server);
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`server process exited with ${code}`))),
    );
    await Promise.race([withTimeout(server.#event("listening").promise, 300_000, "server start"), exited]);
    return server;
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  /** A one-shot event, created by whichever side (waiter or message) comes first. */
  #event(key: string): { resolve: (value: unknown) => void; promise: Promise<unknown> } {
    let event = this.#events.get(key);
    if (!event) {
      let resolve: (value: unknown) => void = () => {};
      const promise = new Promise<unknown>((r) => {
        resolve = r;
      });
      event = { resolve, promise };
      this.#events.set(key, event);
    }
    return event;
  }

  /** Resolves when the page of `run` posted /ready. */
  pageReady(run: number, timeoutMs: number): Promise<void> {
    return withTimeout(this.#event(`ready:${run}`).promise as Promise<void>, timeoutMs, "page ready");
  }

  /** Resolves with the report the page of `run` posted. */
  pageResult(run: number, timeoutMs: number): Promise<RunReport> {
    return withTimeout(this.#event(`result:${run}`).promise as Promise<RunReport>, timeoutMs, "page result");
  }

  go(run: number): void {
    this.#child.send({ type: "go", run } satisfies ToServer);
  }

  /** Sends a command and resolves with the name the server answers with, if any. */
  call(message: { type: "gc" }): Promise<void> {
    const id = ++this.#nextId;
    this.#child.send({ ...message, id } satisfies ToServer);
    return withTimeout(this.#event(`done:${id}`).promise as Promise<void>, 120_000, message.type);
  }

  kill(): Promise<void> {
    liveChildren.delete(this);
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
      this.#child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.#child.connected) this.#child.send({ type: "stop" } satisfies ToServer);
      else this.#child.kill("SIGTERM");
    });
  }
}

/** Interpreters tried for the Python rows, in order, when ARRAYWIRE_PYTHON is not set. */
const PYTHON_CANDIDATES = ["python3", "/usr/bin/python3"];
let chosenPython: string | undefined;

/**
 * The Python interpreter of the Python rows: ARRAYWIRE_PYTHON, else the first of python3 on the
 * PATH and /usr/bin/python3 that has the xxhash module (the C XXH32 the verified rows need), else
 * python3 (whose verified rows then fall back to zlib.crc32 and say so in their detail).
 */
export function pythonPath(): string {
  if (process.env.ARRAYWIRE_PYTHON) return process.env.ARRAYWIRE_PYTHON;
  chosenPython ??=
    PYTHON_CANDIDATES.find((python) => spawnSync(python, ["-c", "import xxhash"], { stdio: "ignore" }).status === 0) ??
    "python3";
  return chosenPython;
}

/** Runs one client process (`command script <args JSON>`) and returns its report. */
async function runClientProcess(
  command: string,
  script: string,
  args: NodeClientArgs,
  timeoutMs: number,
): Promise<RunReport> {
  const child = spawn(command, [script, JSON.stringify(args)], { stdio: ["ignore", "pipe", "inherit"] });
  const handle = { kill: () => void child.kill("SIGKILL") };
  liveChildren.add(handle);
  let stdout = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  try {
    await withTimeout(exited, timeoutMs, "node client");
  } catch (err) {
    child.kill("SIGKILL");
    await exited;
    throw err;
  } finally {
    liveChildren.delete(handle);
  }
  const line = stdout.split("\n").find((l) => l.startsWith(REPORT_PREFIX));
  if (!line) throw new Error(`${args.method} client printed no report (exit ${child.exitCode})`);
  return JSON.parse(line.slice(REPORT_PREFIX.length)) as RunReport;
}

function sampleFrom(report: RunReport): Sample {
  if (!report.ok) return { ok: false, ms: 0, mbps: 0, verified: false, error: report.error };
  return {
    ok: report.verified,
    ms: report.ms,
    mbps: megabytesPerSecond(report.byteLength, report.ms),
    verified: report.verified,
    detail: report.detail,
    minorFaults: report.minorFaults,
    error: report.verified ? undefined : "data did not verify",
  };
}

/** What every runner needs. */
export interface RunContext {
  server: ServerProcess;
  nodeClientScript: string;
  pythonClientScript: string;
}

/** One Node (or Python) client run of `method` on `elementCount` values. */
export async function runNode(ctx: RunContext, method: Method, elementCount: number, run: number): Promise<Sample> {
  const args: NodeClientArgs = {
    run,
    method: method.kind as NodeClientArgs["method"],
    elementCount,
    target: method.target ?? "fresh",
    httpPort: ctx.server.httpPort,
    tcpPort: ctx.server.tcpPort,
    verify: method.verify,
    chunkByteLength: method.chunkByteLength,
    creditByteLength: method.creditByteLength,
    writeByteLength: method.writeByteLength,
    windowByteLength: method.windowByteLength,
    hash: method.hash,
  };
  const server = new MemoryProbe(ctx.server.pid);
  const timeoutMs = timeoutFor(elementCount * 8);
  const report =
    method.env === "python"
      ? await runClientProcess(pythonPath(), ctx.pythonClientScript, args, timeoutMs)
      : await runClientProcess(process.execPath, ctx.nodeClientScript, args, timeoutMs);
  const serverEnd = server.finish();
  const sample = sampleFrom(report);
  if (report.rssPeakBytes !== undefined && report.rssBaselineBytes !== undefined) {
    sample.clientRssBytes = report.rssPeakBytes - report.rssBaselineBytes;
  }
  sample.serverRssBytes = serverEnd.peakBytes - server.baselineBytes;
  return sample;
}

/** One browser run: a fresh Chromium (direct, or under Playwright) opening the bench page. */
export async function runBrowser(ctx: RunContext, method: Method, elementCount: number, run: number): Promise<Sample> {
  const params = new URLSearchParams({ run: String(run), method: method.kind, n: String(elementCount) });
  if (method.verify === false) params.set("verify", "0");
  for (const [key, value] of Object.entries(method.pageParams ?? {})) params.set(key, value);
  const url = `http://127.0.0.1:${ctx.server.httpPort}/page/index.html?${params}`;
  const timeoutMs = timeoutFor(elementCount * 8);
  const ready = ctx.server.pageReady(run, 60_000);
  const result = ctx.server.pageResult(run, 60_000 + timeoutMs);
  result.catch(() => {}); // awaited below; avoid an unhandled rejection if ready fails first
  let browser: BenchBrowser | undefined;
  const handle = { kill: () => browser?.close() };
  liveChildren.add(handle);
  try {
    browser = method.env === "playwright" ? await launchPlaywright(url) : launchChromium(url);
    await ready;
    const renderers = rendererPids(process.pid).map((pid) => new MemoryProbe(pid));
    const server = new MemoryProbe(ctx.server.pid);
    ctx.server.go(run);
    const report = await result;
    const serverEnd = server.finish();
    // The page's renderer is the one holding the array now (Chromium may keep a spare one).
    const ends = renderers.map((probe) => ({ probe, end: probe.finish() }));
    ends.sort((a, b) => b.end.currentBytes - a.end.currentBytes);
    const sample = sampleFrom(report);
    if (ends[0]) {
      sample.rendererRssBytes = ends[0].end.peakBytes - ends[0].probe.baselineBytes;
      sample.minorFaults = ends[0].end.minorFaults;
    }
    sample.serverRssBytes = serverEnd.peakBytes - server.baselineBytes;
    return sample;
  } catch (err) {
    const tail = browser?.stderrTail();
    throw new Error(`${(err as Error).message}${tail ? `\n${tail}` : ""}`);
  } finally {
    await browser?.close();
    liveChildren.delete(handle);
  }
}

/**
 * One many-clients run: `many.clientCount` concurrent arraywire clients (one Node process, library
 * defaults, one shared touched target) on the published array of `many.elementCount` values.
 * The server's baseline RSS is taken after a GC, with the array (already published and touched)
 * in it, so peak minus baseline is what the clients cost; its CPU seconds (utime + stime) over
 * the run give CPU seconds per GB sent. Bounded: 30 s plus 100 MB/s for the bytes.
 */
export async function runManyClients(ctx: RunContext, many: ManyClients, run: number): Promise<Sample> {
  await ctx.server.call({ type: "gc" });
  const server = new MemoryProbe(ctx.server.pid);
  const byteLength = many.elementCount * 8 * many.clientCount;
  const args: NodeClientArgs = {
    run,
    method: "many",
    elementCount: many.elementCount,
    target: "reused",
    httpPort: ctx.server.httpPort,
    tcpPort: ctx.server.tcpPort,
    clientCount: many.clientCount,
  };
  const report = await runClientProcess(
    process.execPath,
    ctx.nodeClientScript,
    args,
    30_000 + (byteLength / (100 * MB)) * 1000,
  );
  const serverEnd = server.finish();
  const sample = sampleFrom(report);
  sample.serverRssBytes = serverEnd.peakBytes - server.baselineBytes;
  sample.serverCpuSecondsPerGB = serverEnd.cpuSeconds / (byteLength / 1e9);
  if (report.rssPeakBytes !== undefined && report.rssBaselineBytes !== undefined) {
    sample.clientRssBytes = report.rssPeakBytes - report.rssBaselineBytes;
  }
  return sample;
}
