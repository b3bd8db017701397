/**
 * Linux /proc helpers: a process's RSS and peak RSS, resetting the peak, its minor page faults and
 * CPU time, its descendants, and ending a process tree by pid. Read from the kernel rather than
 * from inside the process, so a busy event loop cannot skew them.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** VmRSS (current) and VmHWM (peak since start or since {@link resetPeakRss}), in bytes. */
export interface RssStatus {
  rssBytes: number;
  peakBytes: number;
}

/** The process's RSS, or null once it is gone. */
export function readRss(pid: number): RssStatus | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null; // exited
  }
  const kB = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kB("VmRSS"), peakBytes: kB("VmHWM") };
}

/**
 * Sets the process's VmHWM back to its current RSS (`echo 5 > /proc/PID/clear_refs`, Linux 4.0+).
 * Returns false when the kernel refuses; callers then fall back to {@link RssSampler}.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Polls VmRSS every `intervalMs` (default 20 ms) and keeps the largest value. */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #maxBytes = 0;

  constructor(pid: number, intervalMs = 20) {
    this.#pid = pid;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const status = readRss(this.#pid);
    if (status) this.#maxBytes = Math.max(this.#maxBytes, status.rssBytes);
  }

  /** Stops polling and returns the largest RSS seen, in bytes. */
  stop(): number {
    clearInterval(this.#timer);
    this.sample();
    return this.#maxBytes;
  }
}

/** Counters of /proc/PID/stat. */
export interface ProcessCounters {
  /** Minor page faults so far (field 10, minflt). */
  minorFaults: number;
  /** User plus system CPU time so far, in seconds (fields 14 and 15, utime + stime). */
  cpuSeconds: number;
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/PID/stat times (`getconf CLK_TCK`; 100 when it cannot be read). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** The process's fault and CPU counters, or null once it is gone. */
export function readCounters(pid: number): ProcessCounters | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // exited
  }
  // Fields after the parenthesised command name start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const field = (n: number) => Number(fields[n - 3]);
  return { minorFaults: field(10), cpuSeconds: (field(14) + field(15)) / ticksPerSecond() };
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name: state, ppid, ...
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

/** Every live descendant of `root` (children, their children, ...). */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const parent = parentOf(pid);
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** The process's command line, or "" once it is gone. */
export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** Sends `signal` to each pid that is still alive; ignores the ones that are gone. */
export function signalEach(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already exited.
    }
  }
}

/** True while the pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
