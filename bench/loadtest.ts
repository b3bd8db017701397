/**
 * Load test: N concurrent clients fetch M arrays in a loop for T seconds over loopback, against
 * an ArrayServer in its own process. Not part of CI.
 *
 *   npm run loadtest                                  # 8 clients, 10/100/400 MB, 30 s, ws
 *   npm run loadtest -- --clients 16 --seconds 60 --sizes 10,100 --transport mixed
 *   npm run loadtest -- --balanced --proxy haproxy      # the balanced setup instead: bench/balanced.ts
 *   npm run loadtest:balanced -- --proxy nginx --kill-every 4   # the same
 *
 * Flags: --clients N (1..64, default 8), --seconds T (1..600, default 30), --sizes MB,MB,...
 * (float64 arrays of that many 1e6 bytes, each 0.008..2000, at most 8; default 10,100,400),
 * --transport ws|http|mixed (mixed switches after each round of sizes; default ws), --out DIR (default
 * bench/results). Refused when the client targets and the server's arrays would need more than
 * 3/4 of RAM.
 *
 * Each client loops: take the next size (round-robin, starting at its own index), fetch it with
 * fetchArray (verify on: XXH32 of the range) into its own preallocated Float64Array of the largest
 * size (recv_into; first, middle and last elements are set to NaN first, then checked to be i),
 * and record bytes, milliseconds and errors by code. At T seconds requests in flight are aborted;
 * the bytes they already received count towards MB/s ("cut"), not as requests completed.
 *
 * Reports aggregate MB/s (1e6 bytes of array per second of the window), per-client MB/s
 * min/median/max, requests completed per size and transport, errors by code, and the peak RSS of
 * the server process and of this (client) process: baseline after startup and a GC, peak from
 * VmHWM after `clear_refs` plus a 50 ms VmRSS sampler. Prints a table and writes
 * loadtest.json and loadtest.md to the output directory.
 *
 * With `--balanced` the other flags go to bench/balanced.ts (several backend processes behind nginx
 * or HAProxy, or none; aggregate MB/s, errors by code and per-backend RSS), see its comment.
 *
 * It stops by itself after T seconds (a watchdog ends it at T + 60 s). Ctrl+C stops early and
 * still reports (marked interrupted); a second Ctrl+C exits at once. The server child runs in its
 * own process group (so a terminal's Ctrl+C does not kill it mid-run), is ended on every exit path,
 * and ends itself when its IPC channel to this process closes. Loopback (127.0.0.1) only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fetchArray, StreamError } from "../client/index.ts";
import { ArrayServer, fillArange, type ServerStats } from "../server/index.ts";
import { arrayName } from "./messages.ts";
import { RssSampler, readRss, resetPeakRss } from "./proc.ts";

const MB = 1e6;
const MAX_CLIENTS = 64;
const MAX_SECONDS = 600;
const MAX_SIZES = 8;
const WATCHDOG_GRACE_MS = 60_000;

type Transport = "ws" | "http";
interface LoadConfig {
  clients: number;
  seconds: number;
  elementCounts: number[];
  transport: Transport | "mixed";
  outDir: string;
}
interface ServeConfig {
  elementCounts: number[];
  maxConnectionsPerIp: number;
}
type ToServer = { type: "stats" };
type FromServer =
  | { type: "listening"; url: string }
  | { type: "stats"; stats: ServerStats; logLineCount: number; logSamples: string[] };

/** One request's outcome. */
interface RequestRecord {
  client: number;
  elementCount: number;
  transport: Transport;
  byteLength: number;
  ms: number;
  outcome: "ok" | "cut" | "error";
  code?: string;
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? 0 : s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- server role (child process)

async function serve(config: ServeConfig): Promise<void> {
  const samples: string[] = [];
  let logLineCount = 0;
  const server = new ArrayServer({
    port: 0,
    host: "127.0.0.1",
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    log: (line) => {
      if (logLineCount++ < 20) samples.push(line);
    },
  });
  for (const n of config.elementCounts) server.publish(arrayName(n), fillArange("float64", n));
  await server.listen();
  const send = (message: FromServer) => process.send?.(message);
  process.on("message", (message: ToServer) => {
    if (message.type === "stats") send({ type: "stats", stats: server.stats(), logLineCount, logSamples: samples });
  });
  process.on("SIGINT", () => {}); // the orchestrator decides when this process ends
  process.on("disconnect", () => {
    setTimeout(() => process.exit(0), 2000).unref();
    void server.close().finally(() => process.exit(0));
  });
  (globalThis as { gc?: () => void }).gc?.();
  send({ type: "listening", url: server.url });
}

// ---------------------------------------------------------------- orchestrator

function parseConfig(argv: string[]): LoadConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: "string", default: "8" },
      seconds: { type: "string", default: "30" },
      sizes: { type: "string", default: "10,100,400" },
      transport: { type: "string", default: "ws" },
      out: { type: "string", default: fileURLToPath(new URL("./results", import.meta.url)) },
    },
  });
  const clients = Number(values.clients);
  const seconds = Number(values.seconds);
  const sizes = values.sizes.split(",").map(Number);
  const transport = values.transport;
  const fail = (message: string): never => {
    console.error(`loadtest: ${message}`);
    process.exit(2);
  };
  if (!Number.isInteger(clients) || clients < 1 || clients > MAX_CLIENTS) {
    fail(`--clients: expected an integer in 1..${MAX_CLIENTS}, got ${values.clients}`);
  }
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > MAX_SECONDS) {
    fail(`--seconds: expected 1..${MAX_SECONDS}, got ${values.seconds}`);
  }
  if (sizes.length > MAX_SIZES || sizes.some((s) => !(s >= 0.008 && s <= 2000))) {
    fail(`--sizes: expected 1..${MAX_SIZES} sizes in MB, each 0.008..2000, got ${values.sizes}`);
  }
  if (transport !== "ws" && transport !== "http" && transport !== "mixed") {
    fail(`--transport: expected ws, http or mixed, got ${transport}`);
  }
  const elementCounts = [...new Set(sizes.map((s) => Math.round((s * MB) / 8)))];
  const maxBytes = Math.max(...elementCounts) * 8;
  const needBytes = clients * maxBytes + elementCounts.reduce((a, n) => a + n * 8, 0);
  if (needBytes > 0.75 * totalmem()) {
    fail(
      `${clients} client targets of ${maxBytes / MB} MB plus the server's arrays need ${(needBytes / 1e9).toFixed(1)} GB, over 3/4 of the machine's ${(totalmem() / 1e9).toFixed(1)} GB of RAM: use fewer clients or smaller sizes`,
    );
  }
  return { clients, seconds, elementCounts, transport: transport as LoadConfig["transport"], outDir: values.out };
}

/** The server child: started in its own process group, ended on every exit path. */
class ServerChild {
  readonly child: ChildProcess;
  readonly url: Promise<string>;

  constructor(config: ServeConfig) {
    const script = fileURLToPath(import.meta.url);
    this.child = spawn(
      process.execPath,
      ["--expose-gc", "--import", "tsx", script, "--serve", JSON.stringify(config)],
      {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        detached: true,
      },
    );
    process.on("exit", () => this.kill());
    this.url = new Promise((resolve, reject) => {
      this.child.once("exit", (code, signal) => reject(new Error(`server process exited (${code ?? signal})`)));
      this.child.on("message", (m: FromServer) => m.type === "listening" && resolve(m.url));
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  stats(): Promise<Extract<FromServer, { type: "stats" }> | null> {
    if (!this.child.connected) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), 3000);
      const onMessage = (m: FromServer) => {
        if (m.type !== "stats") return;
        clearTimeout(timer);
        this.child.off("message", onMessage);
        resolve(m);
      };
      this.child.on("message", onMessage);
      this.child.send({ type: "stats" } satisfies ToServer);
    });
  }

  /** Closes the IPC channel (the child closes its server and exits), then SIGKILL after 3 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    if (this.child.connected) this.child.disconnect();
    await Promise.race([exited, sleep(3000)]);
    this.kill();
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** The codes an error is counted under. */
function codeOf(err: unknown): string {
  if (err instanceof StreamError) return err.code;
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? code : ((err as Error)?.name ?? "UNKNOWN");
}

interface RunState {
  url: string;
  stopping: boolean;
  controllers: Set<AbortController>;
  records: RequestRecord[];
  errorSamples: Map<string, string>;
}

async function runClient(index: number, config: LoadConfig, state: RunState): Promise<void> {
  const maxCount = Math.max(...config.elementCounts);
  const target = new Float64Array(maxCount);
  for (let turn = index; !state.stopping; turn++) {
    const n = config.elementCounts[turn % config.elementCounts.length] as number;
    const transport: Transport =
      config.transport !== "mixed"
        ? config.transport
        : Math.floor(turn / config.elementCounts.length) % 2 === 0 // switch every round of sizes
          ? "ws"
          : "http";
    const probes = [0, Math.floor(n / 2), n - 1];
    for (const i of probes) target[i] = Number.NaN;
    const controller = new AbortController();
    state.controllers.add(controller);
    let receivedByteLength = 0;
    const start = performance.now();
    const record = (outcome: RequestRecord["outcome"], byteLength: number, code?: string) =>
      state.records.push({
        client: index,
        elementCount: n,
        transport,
        byteLength,
        ms: performance.now() - start,
        outcome,
        code,
      });
    try {
      const { array } = await fetchArray(state.url, arrayName(n), {
        transport,
        into: target,
        verify: true,
        signal: controller.signal,
        onProgress: (p) => {
          receivedByteLength = p.receivedByteLength;
        },
      });
      const bad = probes.find((i) => array[i] !== i);
      if (array.length !== n || bad !== undefined) {
        const message = `expected ${n} elements with a[i] = i, got length ${array.length}, a[${bad}] = ${array[bad ?? 0]}`;
        throw Object.assign(new Error(message), { code: "E_VALUE_MISMATCH" });
      }
      record("ok", n * 8);
    } catch (err) {
      if (state.stopping && controller.signal.aborted) {
        record("cut", receivedByteLength);
        break;
      }
      const code = codeOf(err);
      if (!state.errorSamples.has(code)) state.errorSamples.set(code, String((err as Error)?.message ?? err));
      record("error", receivedByteLength, code);
      await sleep(100); // no hot loop against a failing server
    } finally {
      state.controllers.delete(controller);
    }
  }
}

function machine(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    os: `Linux ${release()}`,
    node: process.version,
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
  };
}

function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]?.map((_, c) => Math.max(...cells.map((r) => r[c]?.length ?? 0))) ?? [];
  return cells
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join("  "))
    .join("\n");
}

function markdownTable(rows: (string | number)[][]): string {
  const [head, ...body] = rows.map((r) => `| ${r.join(" | ")} |`);
  return [head, `|${(rows[0] ?? []).map(() => "---").join("|")}|`, ...body].join("\n");
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  const sizesMB = config.elementCounts.map((n) => (n * 8) / MB);
  console.log(
    `loadtest: ${config.clients} clients x ${sizesMB.join("/")} MB, ${config.seconds} s, transport ${config.transport}`,
  );
  const server = new ServerChild({ elementCounts: config.elementCounts, maxConnectionsPerIp: 2 * config.clients + 8 });
  const state: RunState = { url: "", stopping: false, controllers: new Set(), records: [], errorSamples: new Map() };
  let interrupted = false;
  const stop = () => {
    state.stopping = true;
    for (const c of state.controllers) c.abort(new Error("load test window over"));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.stopping) {
      console.error(`\nloadtest: ${signal} again, exiting now`);
      server.kill();
      process.exit(130);
    }
    console.error(`\nloadtest: ${signal}, stopping early (again to exit at once)`);
    interrupted = true;
    stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  setTimeout(
    () => {
      console.error("loadtest: watchdog, exiting");
      process.exit(1);
    },
    config.seconds * 1000 + WATCHDOG_GRACE_MS,
  ).unref();

  state.url = await server.url;
  const serverBaseline = readRss(server.pid)?.rssBytes ?? 0;
  (globalThis as { gc?: () => void }).gc?.();
  const clientBaseline = readRss(process.pid)?.rssBytes ?? 0;
  const hwm = { server: resetPeakRss(server.pid), client: resetPeakRss(process.pid) };
  const samplers = { server: new RssSampler(server.pid, 50), client: new RssSampler(process.pid, 50) };

  const startedAt = performance.now();
  const deadline = setTimeout(stop, config.seconds * 1000);
  const progress = setInterval(() => {
    const done = state.records.filter((r) => r.outcome === "ok");
    const mbps = done.reduce((a, r) => a + r.byteLength, 0) / MB / ((performance.now() - startedAt) / 1000);
    console.log(
      `  ${((performance.now() - startedAt) / 1000).toFixed(0)} s: ${done.length} requests, ${mbps.toFixed(0)} MB/s`,
    );
  }, 5000);
  const loops = Array.from({ length: config.clients }, (_, i) => runClient(i, config, state));
  while (!state.stopping) await Promise.race([Promise.all(loops), sleep(100)]);
  const windowSeconds = (performance.now() - startedAt) / 1000;
  await Promise.all(loops);
  clearTimeout(deadline);
  clearInterval(progress);

  const peak = (who: "server" | "client", pid: number) =>
    Math.max(samplers[who].stop(), hwm[who] ? (readRss(pid)?.peakBytes ?? 0) : 0);
  const serverPeak = peak("server", server.pid);
  const clientPeak = peak("client", process.pid);
  const serverEnd = await server.stats();
  await server.stop();

  const { records } = state;
  const ok = records.filter((r) => r.outcome === "ok");
  const cut = records.filter((r) => r.outcome === "cut");
  const errors = records.filter((r) => r.outcome === "error");
  const windowBytes = [...ok, ...cut].reduce((a, r) => a + r.byteLength, 0);
  const perClient = Array.from({ length: config.clients }, (_, client) => {
    const mine = records.filter((r) => r.client === client);
    const bytes = mine.filter((r) => r.outcome !== "error").reduce((a, r) => a + r.byteLength, 0);
    return {
      client,
      requestsCompleted: mine.filter((r) => r.outcome === "ok").length,
      errors: mine.filter((r) => r.outcome === "error").length,
      megabytesPerSecond: round(bytes / MB / windowSeconds),
    };
  });
  const clientRates = perClient.map((c) => c.megabytesPerSecond);
  const errorsByCode: Record<string, number> = {};
  for (const r of errors) errorsByCode[r.code ?? "UNKNOWN"] = (errorsByCode[r.code ?? "UNKNOWN"] ?? 0) + 1;
  const groups = (key: (r: RequestRecord) => string) => {
    const out = new Map<string, RequestRecord[]>();
    for (const r of ok) out.set(key(r), [...(out.get(key(r)) ?? []), r]);
    return [...out].map(([name, rs]) => ({
      name,
      requestsCompleted: rs.length,
      medianMs: round(median(rs.map((r) => r.ms))),
      maxMs: round(Math.max(...rs.map((r) => r.ms))),
      medianRequestMegabytesPerSecond: round(median(rs.map((r) => r.byteLength / MB / (r.ms / 1000)))),
    }));
  };
  const memory = (baseline: number, peakBytes: number, viaHwm: boolean) => ({
    baselineMB: round(baseline / MB),
    peakMB: round(peakBytes / MB),
    peakMinusBaselineMB: round((peakBytes - baseline) / MB),
    peakFrom: viaHwm ? "VmHWM after clear_refs, and a 50 ms VmRSS sampler" : "a 50 ms VmRSS sampler",
  });
  const results = {
    generatedAt: new Date().toISOString(),
    machine: machine(),
    config: { clients: config.clients, seconds: config.seconds, sizesMB, transport: config.transport },
    interrupted,
    windowSeconds: round(windowSeconds, 2),
    aggregate: {
      megabytesPerSecond: round(windowBytes / MB / windowSeconds),
      completedMegabytesPerSecond: round(ok.reduce((a, r) => a + r.byteLength, 0) / MB / windowSeconds),
      requestsCompleted: ok.length,
      requestsCut: cut.length,
      errorCount: errors.length,
    },
    perClientMegabytesPerSecond: {
      min: round(Math.min(...clientRates)),
      median: round(median(clientRates)),
      max: round(Math.max(...clientRates)),
    },
    bySize: groups((r) => `${(r.elementCount * 8) / MB} MB`),
    byTransport: groups((r) => r.transport),
    errorsByCode,
    errorSamples: Object.fromEntries(state.errorSamples),
    memory: {
      server: memory(serverBaseline, serverPeak, hwm.server),
      client: {
        ...memory(clientBaseline, clientPeak, hwm.client),
        targetsMB: (config.clients * Math.max(...config.elementCounts) * 8) / MB,
      },
    },
    serverAtEnd: serverEnd && {
      stats: serverEnd.stats,
      logLineCount: serverEnd.logLineCount,
      logSamples: serverEnd.logSamples,
    },
    perClient,
  };
  const a = results.aggregate;
  const pc = results.perClientMegabytesPerSecond;
  const summary: (string | number)[][] = [
    ["", "value"],
    ["aggregate MB/s (completed + cut bytes)", a.megabytesPerSecond],
    ["aggregate MB/s (completed only)", a.completedMegabytesPerSecond],
    ["per-client MB/s min / median / max", `${pc.min} / ${pc.median} / ${pc.max}`],
    ["requests completed / cut at the end / errors", `${a.requestsCompleted} / ${a.requestsCut} / ${a.errorCount}`],
    [
      "errors by code",
      Object.entries(errorsByCode)
        .map(([c, k]) => `${c}: ${k}`)
        .join(", ") || "none",
    ],
    ["server RSS baseline -> peak (MB)", `${results.memory.server.baselineMB} -> ${results.memory.server.peakMB}`],
    ["client RSS baseline -> peak (MB)", `${results.memory.client.baselineMB} -> ${results.memory.client.peakMB}`],
  ];
  const groupRows = (title: string, rows: ReturnType<typeof groups>): (string | number)[][] => [
    [title, "completed", "median ms", "max ms", "median MB/s per request"],
    ...rows.map((g) => [g.name, g.requestsCompleted, g.medianMs, g.maxMs, g.medianRequestMegabytesPerSecond]),
  ];
  const clientRows = [
    ["client", "completed", "errors", "MB/s"],
    ...perClient.map((c) => [c.client, c.requestsCompleted, c.errors, c.megabytesPerSecond]),
  ];
  console.log(
    `\n${table(summary)}\n\n${table(groupRows("size", results.bySize))}\n\n${table(groupRows("transport", results.byTransport))}\n\n${table(clientRows)}`,
  );

  mkdirSync(config.outDir, { recursive: true });
  writeFileSync(join(config.outDir, "loadtest.json"), `${JSON.stringify(results, null, 2)}\n`);
  const m = results.machine;
  const md = [
    "# arraywire load test",
    "",
    `${results.generatedAt}${interrupted ? " (interrupted: stopped early by a signal)" : ""}. ${config.clients} clients x ${sizesMB.join("/")} MB arrays, ${results.windowSeconds} s, transport ${config.transport}, loopback. Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, ${m.os}, Node ${m.node}, load average ${m.loadAverage1m} at the end.`,
    "",
    markdownTable(summary),
    "",
    markdownTable(groupRows("size", results.bySize)),
    "",
    markdownTable(groupRows("transport", results.byTransport)),
    "",
    markdownTable(clientRows),
    "",
    'MB/s is 1e6 bytes of array per second of the window. Each client fetches with `fetchArray` (verify on) into its own preallocated target of the largest size (so client RSS includes clients x largest size), checks first/middle/last elements, and loops until the window ends; requests still running then are aborted and their received bytes count as "cut". Server and clients share the machine\'s cores; all clients run in one Node process.',
    "",
  ].join("\n");
  writeFileSync(join(config.outDir, "loadtest.md"), md);
  console.log(`\nwrote ${join(config.outDir, "loadtest.json")} and loadtest.md`);
  process.exit(0);
}

const argv = process.argv.slice(2);
if (argv[0] === "--serve") await serve(JSON.parse(argv[1] ?? "{}") as ServeConfig);
else if (argv.includes("--balanced")) {
  // The balanced setup (bench/balanced.ts): backends behind nginx or HAProxy, its own flags.
  const { runBalanced } = await import("./balanced.ts");
  await runBalanced(argv.filter((a) => a !== "--balanced"));
} else await main();
