/**
 * Types shared by the bench's processes: the orchestrator (run.ts), the array server process
 * (server-process.ts), the Node client process (node-client.ts) and the browser page (page/main.ts).
 * No imports, so every side (the page included) can use it.
 */

/** What the server process needs to know at start. */
export interface ServerConfig {
  /** Float64 element counts to publish as `f64-<n>` (values 0..n-1) and to serve raw / over TCP / ws. */
  elementCounts: number[];
  /** Element counts to pre-render as JSON text. */
  jsonElementCounts: number[];
  /** Element counts to pre-encode as an Arrow IPC stream. */
  arrowElementCounts: number[];
  /** Rows per Arrow record batch. */
  arrowBatchRowCount: number;
  /** Directory holding the bundled bench page (index.html, main.js). */
  pageDir: string;
}

/** What one measured transfer reports (Node client process or page). */
export interface RunReport {
  ok: boolean;
  /** Run id the orchestrator gave. */
  run: number;
  /** Array bytes moved (all clients together for the concurrency run). */
  byteLength: number;
  /** Request start to the last byte written into the target, in ms. */
  ms: number;
  /** Every element checked: a[i] === i. */
  verified: boolean;
  /** Process RSS before anything was allocated, in bytes (Node client only). */
  rssBaselineBytes?: number;
  /** Peak process RSS (VmHWM) at the end of the transfer, in bytes (Node client only). */
  rssPeakBytes?: number;
  /**
   * Minor page faults of the client process during the timed transfer (Node:
   * process.resourceUsage(), Python: getrusage). For browser runs the orchestrator reads the
   * renderer's from /proc instead.
   */
  minorFaults?: number;
  /** Method-specific details (transport picked, per-client times...). */
  detail?: Record<string, string | number | boolean>;
  error?: string;
}

/** Orchestrator -> server process. */
export type ToServer = { type: "go"; run: number } | { type: "gc"; id: number } | { type: "stop" };

/** Server process -> orchestrator. */
export type FromServer =
  | { type: "listening"; httpPort: number; tcpPort: number }
  | { type: "page-ready"; run: number }
  | { type: "page-result"; report: RunReport }
  | { type: "done"; id: number };

/** The Node (or Python) client process's argument (JSON in argv[2]). */
export interface NodeClientArgs {
  run: number;
  method: "arraywire" | "arraywire-ws" | "arraywire-http" | "recv-into" | "python" | "tcp" | "ws-one" | "json" | "many";
  elementCount: number;
  target: "fresh" | "reused";
  httpPort: number;
  tcpPort: number;
  /** arraywire's `verify`; undefined keeps the library default. */
  verify?: boolean;
  /** Published name to fetch (arraywire); defaults to `f64-<elementCount>`. */
  name?: string;
  /** Concurrent clients of the many-clients run (one shared, touched target). */
  clientCount?: number;
  /** recv-into: the server's write size in bytes (also the raw TCP peer's, default 4 MiB). */
  writeByteLength?: number;
  /** recv-into: bytes offered to one socket read; 0 = the whole rest of the target. */
  windowByteLength?: number;
  /**
   * python: "xxh32" (C XXH32 of each piece while hot, checked against END; zlib.crc32 when the
   * xxhash module is missing), "crc32" (zlib.crc32 of each piece), or "none".
   */
  hash?: "none" | "crc32" | "xxh32";
  /** arraywire ws: chunk size and credit window to ask for (the sweep); undefined keeps the defaults. */
  chunkByteLength?: number;
  creditByteLength?: number;
}

/** Response header of `GET /raw?...&hash=1`: the XXH32 of the array's bytes, 8 lowercase hex digits. */
export const RAW_CHECKSUM_HEADER = "x-xxh32";

/** Prefix of the line a Node client process prints its {@link RunReport} on. */
export const REPORT_PREFIX = "BENCH_REPORT ";

/** Name an array of `elementCount` float64 values is published under. */
export function arrayName(elementCount: number): string {
  return `f64-${elementCount}`;
}
