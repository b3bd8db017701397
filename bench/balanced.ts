/**
 * Load test against a balanced setup: B backend processes (server/test-fixtures/balanced-server.ts)
 * publishing the same Float64Array a[i] = i under the same name, behind nginx or HAProxy with
 * docs/DEPLOY.md's configuration, and N clients in this process fetching it through the proxy in
 * a loop for T seconds. Not part of CI; heavy: run it under `flock /tmp/aw-heavy.lock`.
 *
 *   npx tsx bench/balanced.ts                                   # nginx, 3 backends, 8 clients, 100 MB, 20 s, ws
 *   npx tsx bench/balanced.ts --proxy haproxy --transport mixed --kill-every 5
 *   npx tsx bench/balanced.ts --proxy none --transport http    # the same clients, no proxy
 *
 * Flags: --proxy nginx|haproxy|none (default nginx; none: client i connects straight to backend
 * i mod B, the baseline without a proxy, where a crashed backend's clients cannot go elsewhere), --backends 1..8 (3), --clients 1..64 (8),
 * --seconds 1..600 (20), --mb 1..2000 (array size, 100), --transport ws|http|mixed (ws; mixed
 * alternates per request), --kill-every S (0 = never: every S seconds, crash the backend that
 * wrote the most since the last kill with SIGKILL, restart it a second later; clients resume),
 * --max-per-ip N (each backend's maxConnectionsPerIp, 256: behind a proxy every client shares
 * the proxy's address), --out DIR (default bench/results: balanced.json and balanced.md).
 *
 * Each client fetches with verify on (XXH32) and resume on, into its own preallocated target,
 * and checks three elements. At T seconds requests in flight are aborted; their bytes count
 * towards MB/s ("cut"). Reported: aggregate MB/s, per-client MB/s, requests and errors by code,
 * kills, and per backend the bytes it wrote (its share of the load, from /proc/<pid>/io) and its
 * RSS baseline and peak (VmRSS sampled every 50 ms from /proc/<pid>/status). It stops by itself;
 * a watchdog ends it at T + 60 s, and every process and temp directory it starts is ended on exit.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fetchArray, StreamError } from "../client/index.ts";
import { type Backend, startBackends } from "../server/test-fixtures/backends.ts";
import type { ProxyKind } from "../server/test-fixtures/proxy-config.ts";
import { freePort, ProxyProcess, proxyVersion } from "../server/test-fixtures/proxy-process.ts";
import { crashBusiest, SlotMonitor, type SlotStats } from "./backend-monitor.ts";
import { describeMachine } from "./machine.ts";

const NAME = "balanced-load";
const MB = 1e6;
const WATCHDOG_GRACE_MS = 60_000;
/** Requests that went this long without a byte are listed in the report. */
const STALL_REPORT_MS = 2000;

interface Config {
  proxy: ProxyKind | "none";
  backends: number;
  clients: number;
  seconds: number;
  elementCount: number;
  transport: "ws" | "http" | "mixed";
  killEverySeconds: number;
  maxPerIp: number;
  out: string;
}

interface RequestRecord {
  client: number;
  transport: "ws" | "http";
  byteLength: number;
  outcome: "ok" | "cut" | "error";
  code?: string;
  ms: number;
  /** Longest time without a new byte during the request (progress is reported every 50 ms). */
  longestGapMs: number;
  /** Bytes held when that gap began. */
  gapAtByteLength: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? 0 : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`Invalid --${name}: expected an integer in ${min}..${max}, got ${text}`);
  }
  return n;
}

/** @throws {RangeError} for a flag out of range, or targets that would need over 3/4 of RAM. */
export function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      proxy: { type: "string", default: "nginx" },
      backends: { type: "string", default: "3" },
      clients: { type: "string", default: "8" },
      seconds: { type: "string", default: "20" },
      mb: { type: "string", default: "100" },
      transport: { type: "string", default: "ws" },
      "kill-every": { type: "string", default: "0" },
      "max-per-ip": { type: "string", default: "256" },
      out: { type: "string", default: fileURLToPath(new URL("./results", import.meta.url)) },
    },
  });
  if (values.proxy !== "nginx" && values.proxy !== "haproxy" && values.proxy !== "none") {
    throw new RangeError(`Invalid --proxy: expected nginx, haproxy or none, got ${values.proxy}`);
  }
  if (values.transport !== "ws" && values.transport !== "http" && values.transport !== "mixed") {
    throw new RangeError(`Invalid --transport: expected ws, http or mixed, got ${values.transport}`);
  }
  const config: Config = {
    proxy: values.proxy,
    backends: integer("backends", values.backends, 1, 8),
    clients: integer("clients", values.clients, 1, 64),
    seconds: integer("seconds", values.seconds, 1, 600),
    elementCount: Math.round((integer("mb", values.mb, 1, 2000) * MB) / 8),
    transport: values.transport,
    killEverySeconds: integer("kill-every", values["kill-every"], 0, 600),
    maxPerIp: integer("max-per-ip", values["max-per-ip"], 1, 100_000),
    out: values.out,
  };
  const need = (config.clients + config.backends) * config.elementCount * 8;
  if (need > 0.75 * totalmem()) {
    throw new RangeError(
      `Invalid load: ${config.clients} targets and ${config.backends} backends of ${(config.elementCount * 8) / MB} MB need ${(need / 1e9).toFixed(1)} GB, over 3/4 of RAM`,
    );
  }
  return config;
}

function codeOf(err: unknown): string {
  if (err instanceof StreamError) return err.code;
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? code : ((err as Error)?.name ?? "UNKNOWN");
}

async function runClient(
  index: number,
  config: Config,
  url: string,
  state: {
    stopping: boolean;
    controllers: Set<AbortController>;
    records: RequestRecord[];
    samples: Map<string, string>;
  },
) {
  const n = config.elementCount;
  const into = new Float64Array(n);
  for (let turn = 0; !state.stopping; turn++) {
    const transport = config.transport === "mixed" ? ((turn + index) % 2 === 0 ? "ws" : "http") : config.transport;
    for (const i of [0, n >> 1, n - 1]) into[i] = Number.NaN;
    const controller = new AbortController();
    state.controllers.add(controller);
    let received = 0;
    const startedAt = performance.now();
    let lastAt = startedAt;
    let longestGapMs = 0;
    let gapAtByteLength = 0;
    const noteGap = (byteLength: number) => {
      const now = performance.now();
      if (now - lastAt > longestGapMs) {
        longestGapMs = now - lastAt;
        gapAtByteLength = byteLength;
      }
      lastAt = now;
    };
    try {
      const { array } = await fetchArray(url, NAME, {
        transport,
        into,
        verify: true,
        resume: { attempts: 5, initialDelayMs: 100, maxDelayMs: 2000 },
        signal: controller.signal,
        onProgress: (p) => {
          if (p.receivedByteLength !== received) noteGap(received);
          received = p.receivedByteLength;
        },
      });
      for (const i of [0, n >> 1, n - 1]) {
        if (array[i] !== i) throw new StreamError("E_BENCH_MISMATCH", `expected a[${i}] = ${i}, got ${array[i]}`, 0);
      }
      noteGap(received);
      state.records.push({
        client: index,
        transport,
        byteLength: n * 8,
        outcome: "ok",
        ms: performance.now() - startedAt,
        longestGapMs,
        gapAtByteLength,
      });
    } catch (err) {
      noteGap(received);
      if (state.stopping) {
        state.records.push({
          client: index,
          transport,
          byteLength: received,
          outcome: "cut",
          ms: performance.now() - startedAt,
          longestGapMs,
          gapAtByteLength,
        });
      } else {
        const code = codeOf(err);
        if (!state.samples.has(code)) state.samples.set(code, (err as Error)?.message ?? String(err));
        state.records.push({
          client: index,
          transport,
          byteLength: received,
          outcome: "error",
          code,
          ms: performance.now() - startedAt,
          longestGapMs,
          gapAtByteLength,
        });
        await sleep(100);
      }
    } finally {
      state.controllers.delete(controller);
    }
  }
}

function report(
  config: Config,
  records: RequestRecord[],
  windowMs: number,
  slots: SlotStats[],
  kills: string[],
  samples: Map<string, string>,
  load: string[],
): string {
  const mb = (b: number) => (b / MB).toFixed(1);
  const bytes = records.reduce((a, r) => a + r.byteLength, 0);
  const perClient = Array.from(
    { length: config.clients },
    (_, c) => records.filter((r) => r.client === c).reduce((a, r) => a + r.byteLength, 0) / MB / (windowMs / 1000),
  );
  const count = (o: RequestRecord["outcome"]) => records.filter((r) => r.outcome === o).length;
  const codes = new Map<string, number>();
  for (const r of records) if (r.code) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
  const stalls = records.filter((r) => r.longestGapMs > STALL_REPORT_MS);
  const totalWritten = slots.reduce((a, s) => a + s.writtenByteLength, 0);
  const machine = describeMachine();
  const lines = [
    "# arraywire load test through a load balancer",
    "",
    `${new Date().toISOString()}. ${config.clients} clients x ${mb(config.elementCount * 8)} MB Float64Array ${config.proxy === "none" ? "straight (client i to backend i mod B, no proxy)" : `through ${proxyVersion(config.proxy)} (docs/DEPLOY.md config)`} to ${config.backends} backend processes, ${(windowMs / 1000).toFixed(2)} s, transport ${config.transport}, verify on, resume on${config.killEverySeconds ? `, the busiest backend crashed (SIGKILL) every ${config.killEverySeconds} s and restarted 1 s later` : ""}. Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, ${machine.os}, Node ${machine.node}, load average ${load.join(" -> ")}. Shared, noisy machine: clients, proxy and backends all run on its cores.`,
    "",
    "|  | value |",
    "|---|---|",
    `| aggregate MB/s (completed + cut bytes) | ${(bytes / MB / (windowMs / 1000)).toFixed(1)} |`,
    `| per-client MB/s min / median / max | ${Math.min(...perClient).toFixed(1)} / ${median(perClient).toFixed(1)} / ${Math.max(...perClient).toFixed(1)} |`,
    `| requests completed / cut at the end / errors | ${count("ok")} / ${count("cut")} / ${count("error")} |`,
    `| errors by code | ${codes.size === 0 ? "none" : [...codes].map(([c, n]) => `${c} x${n}`).join(", ")} |`,
    `| backend crashes | ${kills.length === 0 ? "none" : kills.join("; ")} |`,
    `| requests with a gap of over ${STALL_REPORT_MS / 1000} s without a byte | ${stalls.length === 0 ? "none" : stalls.map((r) => `client ${r.client} ${r.transport} ${(r.longestGapMs / 1000).toFixed(1)} s at ${mb(r.gapAtByteLength)} MB (${r.outcome})`).join("; ")} |`,
    "",
    "| transport | requests completed | per-request MB/s min / median / max |",
    "|---|---|---|",
    ...(["ws", "http"] as const).map((t) => {
      const rates = records
        .filter((r) => r.outcome === "ok" && r.transport === t)
        .map((r) => r.byteLength / MB / (r.ms / 1000));
      const figures = rates.length
        ? `${Math.min(...rates).toFixed(1)} / ${median(rates).toFixed(1)} / ${Math.max(...rates).toFixed(1)}`
        : "-";
      return `| ${t} | ${rates.length} | ${figures} |`;
    }),
    "",
    "| backend | MB written (share) | processes | RSS baseline -> peak (MB) |",
    "|---|---|---|---|",
    ...slots.map(
      (s, i) =>
        `| ${i} | ${mb(s.writtenByteLength)} (${((100 * s.writtenByteLength) / Math.max(1, totalWritten)).toFixed(0)}%) | ${s.processes} | ${mb(s.baselineRssBytes)} -> ${mb(s.peakRssBytes)} |`,
    ),
    "",
    ...[...samples].map(([code, message]) => `- ${code}: ${message}`),
    "",
  ];
  return lines.join("\n");
}

/**
 * Runs the load test with command-line flags (see the module comment) and writes its report.
 * `npm run loadtest -- --balanced ...` can hand its arguments here.
 * @throws {RangeError} for flags out of range; what starting the backends or the proxy throws.
 */
export async function runBalanced(argv: string[]): Promise<void> {
  const config = parseConfig(argv);
  const load = [loadavg()[0]?.toFixed(2) ?? "?"];
  const backends = await startBackends(config.backends, {
    name: NAME,
    elementCount: config.elementCount,
    heartbeatIntervalMs: 30_000,
    maxConnectionsPerIp: config.maxPerIp,
  });
  let proxy: ProxyProcess | null = null;
  const cleanup = async () => {
    await proxy?.stop();
    await Promise.all(backends.map((b) => b.stop()));
  };
  const watchdog = setTimeout(
    () => {
      console.error(`balanced: still running ${WATCHDOG_GRACE_MS / 1000} s after the window; ending`);
      void cleanup().finally(() => process.exit(1));
    },
    config.seconds * 1000 + WATCHDOG_GRACE_MS,
  );
  watchdog.unref();
  process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));
  try {
    if (config.proxy !== "none") {
      proxy = await ProxyProcess.start(config.proxy, {
        listenPort: await freePort(),
        backendPorts: backends.map((b) => b.port),
      });
    }
    const state = {
      stopping: false,
      controllers: new Set<AbortController>(),
      records: [] as RequestRecord[],
      samples: new Map<string, string>(),
    };
    const monitor = new SlotMonitor(backends);
    const kills: string[] = [];
    const urlOf = (i: number) =>
      proxy ? proxy.url : `ws://127.0.0.1:${(backends[i % backends.length] as Backend).port}/arraywire`;
    const started = performance.now();
    const clients = Array.from({ length: config.clients }, (_, i) => runClient(i, config, urlOf(i), state));
    const killer =
      config.killEverySeconds > 0
        ? crashBusiest(
            { seconds: config.seconds, everySeconds: config.killEverySeconds },
            backends,
            monitor,
            state,
            kills,
          )
        : Promise.resolve();
    await sleep(config.seconds * 1000);
    state.stopping = true;
    const windowMs = performance.now() - started;
    for (const c of state.controllers) c.abort();
    await Promise.all([...clients, killer]);
    monitor.stop();
    load.push(loadavg()[0]?.toFixed(2) ?? "?");
    const md = report(config, state.records, windowMs, monitor.stats, kills, state.samples, load);
    mkdirSync(config.out, { recursive: true });
    writeFileSync(join(config.out, "balanced.md"), md);
    writeFileSync(
      join(config.out, "balanced.json"),
      `${JSON.stringify({ date: new Date().toISOString(), config, windowMs, slots: monitor.stats, kills, records: state.records }, null, 2)}\n`,
    );
    console.log(md);
    console.log(`wrote ${join(config.out, "balanced.md")} and balanced.json`);
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runBalanced(process.argv.slice(2));
