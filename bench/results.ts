/**
 * Result types of a bench run and their summaries: median of the runs with min-max,
 * MB/s = 1e6 bytes per second of array bytes.
 */
import type { LiveAppendsRow } from "./live-appends.ts";
import { type Env, MB } from "./methods.ts";

/** One measured run. */
export interface Sample {
  ok: boolean;
  /** Request start to the last byte written into the target, in ms. */
  ms: number;
  /** Array bytes per second / 1e6. */
  mbps: number;
  /** Every element checked (a[i] === i). */
  verified: boolean;
  /** Node client process: peak RSS (VmHWM) minus RSS before anything was allocated, in bytes. */
  clientRssBytes?: number;
  /** Chromium renderer: peak RSS minus RSS once the page was loaded, in bytes. */
  rendererRssBytes?: number;
  /** Server process: peak RSS during the run minus RSS before it, in bytes. */
  serverRssBytes?: number;
  /** Minor page faults during the timed transfer: the client process's, or the renderer's. */
  minorFaults?: number;
  /** Server process CPU seconds (user + system) per GB (1e9 bytes) of array sent. */
  serverCpuSecondsPerGB?: number;
  detail?: Record<string, string | number | boolean>;
  error?: string;
}

/** min / median / max of some numbers. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Summary of one cell's runs (failed runs excluded). */
export interface Summary {
  mbps: Spread;
  okCount: number;
  failCount: number;
  /** True when every ok run verified. */
  verified: boolean;
  clientRssBytes?: Spread;
  rendererRssBytes?: Spread;
  serverRssBytes?: Spread;
  minorFaults?: Spread;
  serverCpuSecondsPerGB?: Spread;
}

/** One (method, size) cell. */
export interface Cell {
  methodId: string;
  env: Env | "concurrency";
  label: string;
  elementCount: number;
  /** Array bytes of one run (all clients together for a many-clients cell). */
  byteLength: number;
  /** Many-clients cells: the number of concurrent clients. */
  clientCount?: number;
  samples: Sample[];
  summary?: Summary;
}

/** Median (mean of the middle two for an even count), min and max; undefined for no values. */
export function spread(values: number[]): Spread | undefined {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

/** MB/s of `byteLength` bytes in `ms` milliseconds (MB = 1e6 bytes). */
export function megabytesPerSecond(byteLength: number, ms: number): number {
  return ms > 0 ? byteLength / MB / (ms / 1000) : 0;
}

/** Fills `cell.summary` from its samples. */
export function summarize(cell: Cell): Summary | undefined {
  const ok = cell.samples.filter((s) => s.ok);
  const mbps = spread(ok.map((s) => s.mbps));
  if (!mbps) {
    cell.summary = undefined;
    return undefined;
  }
  const pick = (
    key: "clientRssBytes" | "rendererRssBytes" | "serverRssBytes" | "minorFaults" | "serverCpuSecondsPerGB",
  ) => spread(ok.flatMap((s) => (s[key] === undefined ? [] : [s[key] as number])));
  cell.summary = {
    mbps,
    okCount: ok.length,
    failCount: cell.samples.length - ok.length,
    verified: ok.every((s) => s.verified),
    clientRssBytes: pick("clientRssBytes"),
    rendererRssBytes: pick("rendererRssBytes"),
    serverRssBytes: pick("serverRssBytes"),
    minorFaults: pick("minorFaults"),
    serverCpuSecondsPerGB: pick("serverCpuSecondsPerGB"),
  };
  return cell.summary;
}

/** Everything written to latest.json. */
export interface BenchResults {
  date: string;
  quick: boolean;
  /** A --sweep run (sweeps only, no targets). */
  sweep?: boolean;
  runCount: number;
  referenceElementCount: number;
  durationSeconds: number;
  machine: Record<string, string | number>;
  notes: string[];
  methods: { id: string; env: string; label: string; description: string }[];
  cells: Cell[];
  targets: TargetResult[];
  /** The live-appends rows (bench/live-appends.ts); absent in results from before them. */
  liveAppends?: LiveAppendsRow[];
}

/** One target of the issue, judged on this run's medians. */
export interface TargetResult {
  id: string;
  /** The target as the issue words it. */
  text: string;
  /** The measured figures behind the ratio. */
  measured: string;
  /** The measured value compared with the threshold (a ratio, or MB/s). */
  value: number | null;
  /** How to show `value` when it is not a ratio or MB/s (memory: "412 MB (1.03x)"). */
  valueText?: string;
  /** e.g. ">= 0.95". */
  threshold: string;
  pass: boolean | null;
  /** Shown for context ("info"), not judged. */
  info?: boolean;
}
