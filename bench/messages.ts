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
  /** Method-specific details (transport picked, per-client times...). */
  detail?: Record<string, string | number | boolean>;
  error?: string;
}

/** Orchestrator -> server process. */
export type ToServer =
  | { type: "go"; run: number }
  | { type: "gc"; id: number }
  | { type: "publish-fresh"; id: number; elementCount: number }
  | { type: "unpublish"; id: number; name: string }
  | { type: "stop" };

/** Server process -> orchestrator. */
export type FromServer =
  | { type: "listening"; httpPort: number; tcpPort: number }
  | { type: "page-ready"; run: number }
  | { type: "page-result"; report: RunReport }
  | { type: "done"; id: number; name?: string };

/** The Node client process's argument (JSON in argv[2]). */
export interface NodeClientArgs {
  run: number;
  method: "arraywire" | "arraywire-ws" | "arraywire-http" | "tcp" | "http-raw" | "ws-one" | "json" | "concurrent";
  elementCount: number;
  target: "fresh" | "reused";
  httpPort: number;
  tcpPort: number;
  /** arraywire's `verify`; undefined keeps the library default. */
  verify?: boolean;
  /** Published name to fetch (arraywire); defaults to `f64-<elementCount>`. */
  name?: string;
  /** Connections for the concurrency run. */
  clientCount?: number;
  /** arraywire ws: chunk size and credit window to ask for (the sweep); undefined keeps the defaults. */
  chunkByteLength?: number;
  creditByteLength?: number;
}

/** Prefix of the line a Node client process prints its {@link RunReport} on. */
export const REPORT_PREFIX = "BENCH_REPORT ";

/** Name an array of `elementCount` float64 values is published under. */
export function arrayName(elementCount: number): string {
  return `f64-${elementCount}`;
}
