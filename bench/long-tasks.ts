/**
 * Receiving in a worker, measured: the main thread's long tasks during a browser receive, with
 * fetchArray on the main thread ("arraywire (default transport)", browser-aw-auto) and with
 * fetchArrayInWorker (browser-aw-worker), in direct Chromium. The page (page/main.ts) observes
 * PerformanceObserver 'longtask' entries (tasks over 50 ms) that start between the request and
 * the last byte, and reports their count, the longest and their sum in each run's detail. The
 * targets: the worker path keeps the main thread free (no long task in any run) at no less than
 * 0.95x the main-thread path's MB/s.
 */
import { ANY, type Method, pageMethod } from "./methods.ts";
import type { Cell, TargetResult } from "./results.ts";

/** The worker row (the main-thread row is browser-aw-auto, a main method). */
export const WORKER_METHODS: Method[] = [
  {
    ...pageMethod(
      "browser",
      "aw-worker",
      "arraywire in a worker (fetchArrayInWorker)",
      ANY,
      "fetchArrayInWorker(url, name): fetchArray's defaults run in the library's own module worker (transport auto = http, verify on); the finished ArrayBuffer is transferred to the page.",
    ),
    referenceOnly: true,
  },
  {
    ...pageMethod(
      "browser",
      "aw-worker-warm",
      "arraywire in a worker, worker already started",
      ANY,
      "fetchArrayInWorker(url, name) after an untimed one-element fetchArrayInWorker in the same page: the library's worker is already running (it serves the page's calls until 10 s idle), so the worker's start (20-60 ms here) is not timed.",
    ),
    referenceOnly: true,
  },
];

/** Long tasks of one run, as the page reports them in its detail. */
interface LongTasks {
  count: number;
  longestMs: number;
  totalMs: number;
}

function longTasksOf(cell: Cell | undefined): LongTasks[] {
  return (cell?.samples ?? [])
    .filter((s) => s.ok && typeof s.detail?.longTasks === "number")
    .map((s) => ({
      count: s.detail?.longTasks as number,
      longestMs: (s.detail?.longestTaskMs as number) ?? 0,
      totalMs: (s.detail?.longTaskMs as number) ?? 0,
    }));
}

/** "3-7 long tasks per run (median 5), longest 120 ms, 240-610 ms in all". */
export function describeLongTasks(runs: LongTasks[]): string {
  if (runs.length === 0) return "not measured";
  const range = (values: number[], unit = "") => {
    const sorted = [...values].sort((a, b) => a - b);
    const lo = Math.round(sorted[0] as number);
    const hi = Math.round(sorted[sorted.length - 1] as number);
    return lo === hi ? `${lo}${unit}` : `${lo}-${hi}${unit}`;
  };
  const counts = runs.map((r) => r.count);
  const median = [...counts].sort((a, b) => a - b)[counts.length >> 1] as number;
  if (counts.every((c) => c === 0)) return `no long task in ${runs.length} run${runs.length === 1 ? "" : "s"}`;
  return `${range(counts)} long tasks per run (median ${median}), longest ${range(
    runs.map((r) => r.longestMs),
    " ms",
  )}, ${range(
    runs.map((r) => r.totalMs),
    " ms",
  )} in all, over ${runs.length} runs`;
}

const fmt = (v: number) => `${Math.round(v)} MB/s`;
const spreadOf = (c: Cell) => `${fmt(c.summary?.mbps.min ?? 0)}-${fmt(c.summary?.mbps.max ?? 0)}`;

/** `worker`'s median MB/s over `main`'s, judged against 0.95x. */
function speedTarget(id: string, text: string, worker: Cell | undefined, main: Cell | undefined): TargetResult {
  const workerMbps = worker?.summary?.mbps.median;
  const mainMbps = main?.summary?.mbps.median;
  if (workerMbps === undefined || mainMbps === undefined || !worker || !main) {
    return { id, text, measured: "not measured", value: null, threshold: ">= 0.95x", pass: null };
  }
  const value = workerMbps / mainMbps;
  return {
    id,
    text,
    measured: `worker ${fmt(workerMbps)} (${spreadOf(worker)}) / main thread ${fmt(mainMbps)} (${spreadOf(main)})`,
    value,
    threshold: ">= 0.95x",
    pass: value >= 0.95,
  };
}

/**
 * The worker targets at the reference size: MB/s against the main-thread path, for a first call
 * (the worker's start timed) and with the library's worker already running; and no long task on
 * the main thread in any run of either.
 */
export function workerTargets(cells: Cell[], ref: number): TargetResult[] {
  const get = (id: string) => cells.find((c) => c.methodId === id && c.elementCount === ref);
  const main = get("browser-aw-auto");
  const cold = get("browser-aw-worker");
  const warm = get("browser-aw-worker-warm");
  const workerTasks = [...longTasksOf(cold), ...longTasksOf(warm)];
  const longest = workerTasks.reduce((m, r) => Math.max(m, r.count > 0 ? r.longestMs : 0), 0);
  return [
    speedTarget(
      "worker-speed",
      "Worker: fetchArrayInWorker >= 0.95x the main-thread path's MB/s (first call: the worker's start timed)",
      cold,
      main,
    ),
    speedTarget(
      "worker-speed-warm",
      "Worker: fetchArrayInWorker >= 0.95x the main-thread path's MB/s (the library's worker already running)",
      warm,
      main,
    ),
    {
      id: "worker-long-tasks",
      text: "Worker: the main thread stays free during the receive (no task over 50 ms)",
      measured: `worker: ${describeLongTasks(workerTasks)}; main thread: ${describeLongTasks(longTasksOf(main))}`,
      value: workerTasks.length === 0 ? null : longest,
      valueText: workerTasks.length === 0 ? undefined : longest === 0 ? "none" : `${Math.round(longest)} ms`,
      threshold: "no long task",
      pass: workerTasks.length === 0 ? null : workerTasks.every((r) => r.count === 0),
    },
  ];
}
