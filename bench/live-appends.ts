/**
 * Live appends under load (issue 9, part 3): one row of `npm run bench` (bench/run.ts runs
 * {@link runLiveAppends} after the many-clients runs; `npm run bench -- --live` runs only these
 * rows, at every rate), or alone with `npx tsx bench/live-appends.ts` (under
 * `flock /tmp/aw-heavy.lock`):
 * a server process appends rows of 1 MB to a live float64 array at 100 Hz while 20 subscribers
 * (in two client processes of 10, each subscriber on its own connection) follow it with
 * `subscribe()`. Each row's first value is the wall-clock time of its append
 * (performance.timeOrigin + performance.now(), in ms); each subscriber's onAppend records, for
 * every row it delivers, now minus that time: the end-to-end latency from append() to onAppend.
 * Reports p50 / p99 / max over all subscribers and rows (the first second left out as warm-up),
 * the server's RSS (from /proc, peak and at the end) next to the live array's own bytes, and how
 * many rows each subscriber got. Run alone it prints only; bench/run.ts writes the rows into its
 * results (latest.json, latest.md).
 *
 * Options: --rates 100,50,25,10 (appends per second; one run per rate, in fresh processes),
 * --row-bytes 1048576, --subscribers 20, --processes 2, --seconds 3 (each subscriber holds
 * everything it received: 20 x 300 MB at 100 Hz), --verify (XXH32 at END; off by default: 20
 * subscribers hashing 100 MB/s each would measure the hash, not the delivery). A subscriber that
 * falls 64 MiB behind is ended by the server (E_SLOW_CONSUMER): the run counts it.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { subscribe } from "../client/index.ts";
import { ArrayServer } from "../server/index.ts";
import { readRss } from "./proc.ts";

const MiB = 1024 * 1024;

/** Settings of the live-appends runs (see the module comment for the defaults). */
export interface LiveAppendsOptions {
  rates: number[];
  rate: number;
  rowBytes: number;
  subscribers: number;
  processes: number;
  seconds: number;
  verify: boolean;
}

type ToParent =
  | { type: "listening"; url: string }
  | { type: "ready" }
  | { type: "done"; latencies: number[]; warmupLatencies: number[]; rows: number[]; failures: string[] }
  | { type: "appended"; rows: number; lateMs: number; liveBytes: number };

/** The defaults: 1 MiB rows at 100, 50, 25 and 10 Hz to 20 subscribers in 2 processes for 3 s. */
export const LIVE_APPENDS_DEFAULTS: LiveAppendsOptions = {
  rates: [100, 50, 25, 10],
  rate: 100,
  rowBytes: MiB,
  subscribers: 20,
  processes: 2,
  seconds: 3,
  verify: false,
};

/** One run's figures (times in ms, sizes in bytes). */
export interface LiveAppendsRow {
  rate: number;
  rowBytes: number;
  subscribers: number;
  seconds: number;
  rowsAppended: number;
  /** How far behind its schedule the server's last append ran. */
  scheduleLateMs: number;
  rowsPerSubscriber: { min: number; max: number };
  /** Subscribers the server ended with E_SLOW_CONSUMER. */
  slowConsumers: number;
  /**
   * End-to-end latency from append() to onAppend, over all subscribers and rows after the 1 s
   * warm-up (warmupExcluded), or over every row when none arrived after it.
   */
  latency: { p50: number; p99: number; max: number; count: number; warmupExcluded: boolean } | null;
  serverRssBeforeBytes: number;
  serverRssPeakBytes: number;
  /** The live array's own bytes at the end. */
  liveBytes: number;
  otherFailures: string[];
}

function parseOptions(argv: string[]): LiveAppendsOptions {
  const value = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    return i < 0 ? fallback : Number(argv[i + 1]);
  };
  const i = argv.indexOf("--rates");
  const d = LIVE_APPENDS_DEFAULTS;
  const rates = i < 0 ? d.rates : (argv[i + 1] ?? "").split(",").map(Number);
  return {
    rates,
    rate: value("rate", rates[0] ?? d.rate),
    rowBytes: value("row-bytes", d.rowBytes),
    subscribers: value("subscribers", d.subscribers),
    processes: value("processes", d.processes),
    seconds: value("seconds", d.seconds),
    verify: argv.includes("--verify"),
  };
}

const now = () => performance.timeOrigin + performance.now();

/** The server process: publishes "live", appends on "start", closes at the end. */
async function runServer(options: LiveAppendsOptions): Promise<void> {
  const send = (m: ToParent) => process.send?.(m);
  const server = new ArrayServer({ log: () => {}, maxConnectionsPerIp: 1024 });
  await server.listen();
  const rowElements = options.rowBytes / 8;
  const total = Math.round(options.rate * options.seconds);
  const live = server.publishLive("live", { dtype: "float64", maxLength: total, rowShape: [rowElements] });
  send({ type: "listening", url: server.url });
  process.on("message", (m: { type: string }) => {
    if (m.type !== "start") return;
    const row = new Float64Array(rowElements);
    for (let i = 1; i < rowElements; i++) row[i] = i;
    const started = performance.now();
    let lateMs = 0;
    let appended = 0;
    const tick = () => {
      // Catch up on the schedule (appends are due every 1000 / rate ms since the start).
      const due = Math.min(total, Math.floor(((performance.now() - started) * options.rate) / 1000) + 1);
      while (appended < due) {
        row[0] = now();
        live.append(row);
        appended++;
      }
      lateMs = Math.max(lateMs, performance.now() - started - ((appended - 1) * 1000) / options.rate);
      if (appended >= total) {
        live.close();
        send({ type: "appended", rows: appended, lateMs, liveBytes: live.byteLength });
        return;
      }
      setTimeout(tick, Math.max(0, started + (appended * 1000) / options.rate - performance.now()));
    };
    tick();
  });
  process.on("disconnect", () => void server.close().then(() => process.exit(0)));
}

/** A client process: `count` subscribers, each on its own connection. */
async function runSubscribers(url: string, count: number, options: LiveAppendsOptions): Promise<void> {
  const send = (m: ToParent) => process.send?.(m);
  const latencies: number[] = [];
  const warmupLatencies: number[] = [];
  const rows: number[] = [];
  const failures: string[] = [];
  const rowElements = options.rowBytes / 8;
  const warmupMs = 1000;
  let firstAt = 0;
  const runs = Array.from({ length: count }, async (_, s) => {
    let delivered = 0;
    try {
      await subscribe(url, "live", {
        verify: options.verify,
        maxBytes: options.rowBytes * options.rate * options.seconds + MiB,
        onAppend: (u) => {
          const at = now();
          const a = u.appended as Float64Array;
          for (let i = 0; i < a.length; i += rowElements) {
            const appendedAt = a[i] as number;
            firstAt ||= appendedAt;
            (appendedAt - firstAt >= warmupMs ? latencies : warmupLatencies).push(at - appendedAt);
            delivered++;
          }
        },
      });
    } catch (err) {
      failures.push(`subscriber ${s}: ${(err as { code?: string }).code ?? "no code"}: ${(err as Error).message}`);
    }
    rows.push(delivered);
  });
  // The server starts appending once every process says ready: give the subscriptions a moment
  // to connect and get their header (the array is empty until then).
  setTimeout(() => send({ type: "ready" }), 1000);
  await Promise.all(runs);
  send({ type: "done", latencies, warmupLatencies, rows, failures });
  setTimeout(() => process.exit(0), 100);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** The rows as a markdown table. */
export function liveAppendsTable(rows: LiveAppendsRow[]): string[] {
  const mb = (n: number) => (n / 1e6).toFixed(0);
  const out = [
    "| live appends | appended MB/s to all | rows appended (schedule late by) | rows per subscriber | E_SLOW_CONSUMER | latency p50 / p99 / max (ms), rows | server RSS before / peak (MB) | live array (MB) | RSS beyond it (MB) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const latency =
      r.latency === null
        ? "n/a, 0"
        : `${r.latency.p50.toFixed(1)} / ${r.latency.p99.toFixed(1)} / ${r.latency.max.toFixed(1)}, ${r.latency.count}${r.latency.warmupExcluded ? "" : " (all in the warm-up)"}`;
    out.push(
      `| ${(r.rowBytes / MiB).toFixed(2)} MiB rows at ${r.rate} Hz to ${r.subscribers} subscribers, ${r.seconds} s | ${mb(r.rate * r.rowBytes * r.subscribers)} | ${r.rowsAppended} (${r.scheduleLateMs.toFixed(0)} ms) | ${r.rowsPerSubscriber.min}..${r.rowsPerSubscriber.max} | ${r.slowConsumers} | ${latency} | ${mb(r.serverRssBeforeBytes)} / ${mb(r.serverRssPeakBytes)} | ${mb(r.liveBytes)} | ${mb(r.serverRssPeakBytes - r.serverRssBeforeBytes - r.liveBytes)} |`,
    );
    if (r.otherFailures.length > 0) out.push(`<!-- other failures: ${r.otherFailures.join("; ")} -->`);
  }
  return out;
}

/** One run per rate of `options.rates` (fresh processes each), printed as they finish. */
export async function runLiveAppendsRates(options: Partial<LiveAppendsOptions> = {}): Promise<LiveAppendsRow[]> {
  const o = { ...LIVE_APPENDS_DEFAULTS, ...options };
  console.log(
    `live appends: ${o.rowBytes / MiB} MiB rows for ${o.seconds} s, ${o.subscribers} subscribers in ${o.processes} processes, verify ${o.verify}`,
  );
  const rows: LiveAppendsRow[] = [];
  for (const rate of o.rates) {
    const row = await runLiveAppends({ ...o, rate });
    rows.push(row);
    console.log(liveAppendsTable([row]).at(-1));
  }
  return rows;
}

/**
 * One run: a server process appending at `options.rate` for `options.seconds`, and
 * `options.subscribers` subscribers in `options.processes` client processes.
 * @throws Error when a child process exits before it reports.
 */
export async function runLiveAppends(options: Partial<LiveAppendsOptions> = {}): Promise<LiveAppendsRow> {
  return runOnce({ ...LIVE_APPENDS_DEFAULTS, ...options });
}

async function runOnce(options: LiveAppendsOptions): Promise<LiveAppendsRow> {
  const self = fileURLToPath(import.meta.url);
  const args = [
    "--rate",
    String(options.rate),
    "--row-bytes",
    String(options.rowBytes),
    "--seconds",
    String(options.seconds),
    "--subscribers",
    String(options.subscribers),
    "--processes",
    String(options.processes),
  ];
  if (options.verify) args.push("--verify");
  const spawn = (args: string[]) =>
    fork(self, args, { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = <T extends ToParent["type"]>(child: ChildProcess, type: T) =>
    new Promise<Extract<ToParent, { type: T }>>((resolve, reject) => {
      const onMessage = (m: ToParent) => {
        if (m.type === type) {
          child.off("message", onMessage);
          resolve(m as Extract<ToParent, { type: T }>);
        }
      };
      child.on("message", onMessage);
      child.once("exit", (code) => reject(new Error(`${type}: child exited with ${code}`)));
    });
  const server = spawn(["--role", "server", ...args]);
  const { url } = await next(server, "listening");
  const baseline = readRss(server.pid as number);
  const per = Math.ceil(options.subscribers / options.processes);
  const clients = Array.from({ length: options.processes }, (_, i) =>
    spawn(["--role", "subscribers", url, String(Math.min(per, options.subscribers - i * per)), ...args]),
  );
  await Promise.all(clients.map((c) => next(c, "ready")));
  const dones = clients.map((c) => next(c, "done"));
  const appended = next(server, "appended");
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, readRss(server.pid as number)?.rssBytes ?? 0);
  }, 50);
  server.send({ type: "start" });
  const serverReport = await appended;
  const reports = await Promise.all(dones);
  clearInterval(sampler);
  const endRss = readRss(server.pid as number)?.rssBytes ?? 0;
  server.disconnect();
  // After the warm-up; when no row arrived after it (every subscriber ended sooner), all rows.
  const afterWarmup = reports.flatMap((r) => r.latencies);
  const withWarmup = afterWarmup.length > 0;
  const latencies = (withWarmup ? afterWarmup : reports.flatMap((r) => r.warmupLatencies)).sort((a, b) => a - b);
  const rows = reports.flatMap((r) => r.rows);
  const failures = reports.flatMap((r) => r.failures);
  return {
    rate: options.rate,
    rowBytes: options.rowBytes,
    subscribers: options.subscribers,
    seconds: options.seconds,
    rowsAppended: serverReport.rows,
    scheduleLateMs: serverReport.lateMs,
    rowsPerSubscriber: { min: Math.min(...rows), max: Math.max(...rows) },
    slowConsumers: failures.filter((f) => f.includes("E_SLOW_CONSUMER")).length,
    latency:
      latencies.length === 0
        ? null
        : {
            p50: percentile(latencies, 50),
            p99: percentile(latencies, 99),
            max: latencies.at(-1) as number,
            count: latencies.length,
            warmupExcluded: withWarmup,
          },
    serverRssBeforeBytes: baseline?.rssBytes ?? 0,
    serverRssPeakBytes: Math.max(peakRss, endRss),
    liveBytes: serverReport.liveBytes,
    otherFailures: failures.filter((f) => !f.includes("E_SLOW_CONSUMER")),
  };
}

// Run as a program (alone, or as one of the run's child processes), not when imported.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const roleAt = argv.indexOf("--role");
  const options = parseOptions(argv);
  if (roleAt < 0) {
    const rows = await runLiveAppendsRates(options);
    console.log(liveAppendsTable(rows).join("\n"));
  } else if (argv[roleAt + 1] === "server") await runServer(options);
  else await runSubscribers(argv[roleAt + 2] as string, Number(argv[roleAt + 3]), options);
}
