/**
 * What the balanced load test (bench/balanced.ts) knows about its backends: bytes each backend
 * slot wrote (wchar of /proc/<pid>/io, so a slot's share of the load) and its RSS (VmRSS sampled
 * every 50 ms), across restarts of the slot's process; and the chaos loop that crashes the
 * busiest backend every few seconds and restarts it.
 */
import type { Backend } from "../server/test-fixtures/backends.ts";
import { RssSampler, readRss } from "./proc.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Per backend slot: bytes written and RSS over every process that ran in it. */
export interface SlotStats {
  writtenByteLength: number;
  baselineRssBytes: number;
  peakRssBytes: number;
  processes: number;
}

/** Samples RSS and bytes written per backend slot, across restarts of the slot's process. */
export class SlotMonitor {
  readonly stats: SlotStats[];
  readonly #backends: Backend[];
  readonly #processes = new Map<number, { slot: number; sampler: RssSampler; written: number }>();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(backends: Backend[]) {
    this.#backends = backends;
    this.stats = backends.map(() => ({ writtenByteLength: 0, baselineRssBytes: 0, peakRssBytes: 0, processes: 0 }));
    this.sample();
    this.#timer = setInterval(() => this.sample(), 50);
  }

  sample(): void {
    this.#backends.forEach((backend, slot) => {
      const pid = backend.pid;
      const written = pid === null ? null : backend.writtenByteLength();
      if (pid === null || written === null) return;
      let process = this.#processes.get(pid);
      if (!process) {
        const stats = this.stats[slot] as SlotStats;
        stats.processes++;
        if (stats.baselineRssBytes === 0) stats.baselineRssBytes = readRss(pid)?.rssBytes ?? 0;
        process = { slot, sampler: new RssSampler(pid, 50), written };
        this.#processes.set(pid, process);
      }
      this.#count(process, written);
    });
  }

  /** Counts a crashed process's bytes up to its crash (Backend.crash reads them while it is stopped). */
  crashed(pid: number, written: number): void {
    const process = this.#processes.get(pid);
    if (process) this.#count(process, written);
  }

  /** The slot that wrote the most since `since` (totals per slot taken earlier). */
  busiest(since: number[]): number {
    const growth = this.stats.map((s, i) => s.writtenByteLength - (since[i] ?? 0));
    return growth.indexOf(Math.max(...growth));
  }

  stop(): void {
    clearInterval(this.#timer);
    this.sample();
    for (const { slot, sampler } of this.#processes.values()) {
      const stats = this.stats[slot] as SlotStats;
      stats.peakRssBytes = Math.max(stats.peakRssBytes, sampler.stop());
    }
  }

  #count(process: { slot: number; written: number }, written: number): void {
    (this.stats[process.slot] as SlotStats).writtenByteLength += written - process.written;
    process.written = written;
  }
}

/**
 * Every `everySeconds` until `seconds` have passed (or `state.stopping`), crashes the backend that
 * wrote the most since the last crash (SIGSTOP, count, SIGKILL: Backend.crash) and restarts it a
 * second later; pushes "<time> s: backend <slot>" to `kills` for each.
 */
export async function crashBusiest(
  options: { seconds: number; everySeconds: number },
  backends: Backend[],
  monitor: SlotMonitor,
  state: { stopping: boolean },
  kills: string[],
): Promise<void> {
  let since = monitor.stats.map((s) => s.writtenByteLength);
  const endAt = performance.now() + options.seconds * 1000;
  while (!state.stopping) {
    await sleep(Math.min(options.everySeconds * 1000, Math.max(0, endAt - performance.now())));
    if (state.stopping || performance.now() >= endAt - 500) return;
    monitor.sample();
    const slot = monitor.busiest(since);
    const backend = backends[slot] as Backend;
    const pid = backend.pid;
    if (pid === null) continue;
    const { writtenByteLength, exited } = backend.crash();
    monitor.crashed(pid, writtenByteLength);
    await exited;
    kills.push(`${((options.seconds * 1000 - (endAt - performance.now())) / 1000).toFixed(1)} s: backend ${slot}`);
    await sleep(1000);
    await backend.restart();
    since = monitor.stats.map((s) => s.writtenByteLength);
  }
}
