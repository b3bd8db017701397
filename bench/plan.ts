/**
 * What the bench measures: the methods, the array sizes, and which method runs at which size.
 * MB is 1e6 bytes throughout; arrays are Float64Array with values 0..n-1.
 */
import type { NodeClientArgs } from "./messages.ts";

export const MB = 1e6;
export const MiB = 1024 * 1024;

/** Where a method runs. */
export type Env = "node" | "browser" | "playwright";

/** One way of moving the array, in one environment. */
export interface Method {
  /** Stable id used in JSON results, e.g. "node-arraywire-fresh". */
  id: string;
  env: Env;
  /** node: NodeClientArgs.method; browser/playwright: the page's `method` parameter. */
  kind: string;
  /**
   * Node only: "fresh" is a new process's first transfer into memory the method allocates;
   * "reused" a repeat transfer into the same touched target (one untimed transfer runs first).
   */
  target?: NodeClientArgs["target"];
  /** arraywire's `verify` option; undefined keeps the default (true: an XXH32 of every byte). */
  verify?: boolean;
  label: string;
  /** Largest array this method runs on, in elements. */
  maxElementCount: number;
  /** Browser only: extra page URL parameters (`chunk`, `credit`: arraywire's chunkByteLength, creditByteLength). */
  pageParams?: Record<string, string>;
  /** Runs at the reference size only. */
  referenceOnly?: boolean;
  /** Part of the chunk/window sweep: runs only with --sweep (and then alone). */
  sweep?: boolean;
  /** Node arraywire ws: chunk size and credit window to ask for. */
  chunkByteLength?: number;
  creditByteLength?: number;
  /** What it is, for README and the Markdown report. */
  description: string;
}

/** The reference array: Float64Array of 50M values (400 MB). */
export const REFERENCE_ELEMENT_COUNT = 50_000_000;
/** Size sweep: 10 MB, 100 MB, 400 MB, 1.6 GB of float64. */
export const FULL_ELEMENT_COUNTS = [1_250_000, 12_500_000, 50_000_000, 200_000_000];
/** JSON is ~1.05 bytes of text per array byte here: capped at 100 MB of array (12.5M values). */
export const JSON_MAX_ELEMENT_COUNT = 12_500_000;
/** Only arraywire, fetch-BYOB and raw TCP go past 400 MB. */
const PEER_MAX_ELEMENT_COUNT = 50_000_000;
const ANY = Number.POSITIVE_INFINITY;
/** Clients of the concurrency run. */
export const CONCURRENT_CLIENT_COUNT = 10;
/** Rows per Arrow record batch: 1,048,576 float64 = 8 MiB per batch. */
export const ARROW_BATCH_ROW_COUNT = 1_048_576;

const AW = "arraywire";
/** Every method, in table order. */
export const METHODS: Method[] = [
  node(
    "node-arraywire-fresh",
    AW,
    "fresh",
    "arraywire (auto: ws), fresh target",
    ANY,
    "fetchArray(url, name): transport 'auto' picks ws in Node; the library allocates the target.",
  ),
  node(
    "node-arraywire-reused",
    AW,
    "reused",
    "arraywire (auto: ws), reused target",
    ANY,
    "fetchArray(..., { into }): a repeat transfer into the same touched Float64Array.",
  ),
  node(
    "node-tcp-fresh",
    "tcp",
    "fresh",
    "raw TCP, fresh target",
    ANY,
    "node:net, u64 length + bytes in 4 MiB writes; receiver copies each chunk into a new buffer (the limit).",
  ),
  node(
    "node-tcp-reused",
    "tcp",
    "reused",
    "raw TCP, reused target",
    ANY,
    "The same, a repeat transfer into the same touched buffer.",
  ),
  node(
    "node-ws-one-fresh",
    "ws-one",
    "fresh",
    "ws, one whole message, fresh",
    PEER_MAX_ELEMENT_COUNT,
    "ws server sends the array as one message (client maxPayload raised to 2^31-1); the message buffer is the target.",
  ),
  node(
    "node-ws-one-reused",
    "ws-one",
    "reused",
    "ws, one whole message, reused",
    PEER_MAX_ELEMENT_COUNT,
    "The same, copied into a touched target (repeat transfer).",
  ),
  node(
    "node-json",
    "json",
    "fresh",
    "JSON numbers",
    JSON_MAX_ELEMENT_COUNT,
    "GET JSON text of the numbers, response.json(), copied into a Float64Array (capped at 100 MB of array).",
  ),
  {
    ...node(
      "node-arraywire-noverify-fresh",
      AW,
      "fresh",
      "arraywire, verify:false, fresh",
      ANY,
      "As arraywire fresh, without the checksum (verify: false): what the XXH32 costs.",
    ),
    verify: false,
    referenceOnly: true,
  },
  {
    ...node(
      "node-arraywire-noverify-reused",
      AW,
      "reused",
      "arraywire, verify:false, reused",
      ANY,
      "As arraywire reused, without the checksum.",
    ),
    verify: false,
    referenceOnly: true,
  },
  node(
    "node-arraywire-http-fresh",
    "arraywire-http",
    "fresh",
    "arraywire (http), fresh target",
    ANY,
    "fetchArray(url, name, { transport: 'http' }): one GET over node:http, chunks copied into the target.",
  ),
  node(
    "node-arraywire-http-reused",
    "arraywire-http",
    "reused",
    "arraywire (http), reused target",
    ANY,
    "fetchArray(..., { transport: 'http', into }): a repeat transfer into the same touched Float64Array.",
  ),
  {
    ...node(
      "node-http-raw-reused",
      "http-raw",
      "reused",
      "node:http GET of raw bytes, reused",
      ANY,
      "Diagnostic: node:http GET of the raw bytes, each body chunk copied into a touched target, repeat transfer (what an HTTP transport on node:http could reach).",
    ),
    referenceOnly: true,
  },
  page(
    "browser",
    "aw-auto",
    "arraywire auto (http)",
    ANY,
    "fetchArray(url, name) with transport 'auto', which picks http (BYOB reader into the target) in Chromium.",
  ),
  page(
    "browser",
    "aw-ws",
    "arraywire ws",
    PEER_MAX_ELEMENT_COUNT,
    "fetchArray(url, name, { transport: 'ws' }): DATA + payload messages, credit window.",
  ),
  page(
    "browser",
    "ws-loop",
    "minimal ws loop",
    PEER_MAX_ELEMENT_COUNT,
    "Hand-written: new WebSocket, binaryType arraybuffer, one TypedArray.set per 1 MiB message.",
  ),
  page(
    "browser",
    "fetch-byob",
    "fetch + BYOB (ceiling)",
    ANY,
    "fetch() of the raw bytes, BYOB reader reading straight into the target: the browser's ceiling.",
  ),
  page(
    "browser",
    "json",
    "JSON numbers",
    JSON_MAX_ELEMENT_COUNT,
    "fetch + response.json() + new Float64Array(numbers) (capped at 100 MB of array).",
  ),
  page(
    "browser",
    "arrow",
    "Arrow IPC (apache-arrow)",
    PEER_MAX_ELEMENT_COUNT,
    "Arrow IPC stream over HTTP, RecordBatchReader.from(fetch()), each 8 MiB batch's column copied into a preallocated Float64Array.",
  ),
  {
    ...page("browser", "aw-auto", "arraywire auto, verify:false", ANY, "As arraywire auto, without the checksum."),
    id: "browser-aw-auto-noverify",
    verify: false,
    referenceOnly: true,
  },
  {
    ...page("browser", "aw-ws", "arraywire ws, verify:false", ANY, "As arraywire ws, without the checksum."),
    id: "browser-aw-ws-noverify",
    verify: false,
    referenceOnly: true,
  },
  {
    ...page(
      "playwright",
      "aw-auto",
      "Playwright: arraywire auto",
      ANY,
      "The same page under Playwright's chromium.launch() (CDP attached).",
    ),
    referenceOnly: true,
  },
  {
    ...page("playwright", "aw-ws", "Playwright: arraywire ws", ANY, "arraywire ws under Playwright."),
    referenceOnly: true,
  },
  {
    ...page("playwright", "ws-loop", "Playwright: minimal ws loop", ANY, "The minimal ws loop under Playwright."),
    referenceOnly: true,
  },
];

/** The chunk-size and credit-window sweep (`npm run bench -- --sweep`), all over WebSocket at 400 MB. */
for (const chunk of [256 * 1024, MiB, 4 * MiB, 16 * MiB]) {
  const kib = chunk / 1024;
  const size = kib >= 1024 ? `${kib / 1024} MiB` : `${kib} KiB`;
  const credit = Math.max(16 * MiB, 2 * chunk);
  METHODS.push(
    {
      ...node(
        `sweep-node-chunk-${kib}k`,
        "arraywire-ws",
        "reused",
        `sweep: node ws, chunk ${size}`,
        ANY,
        `Node ws, chunkByteLength ${size}, credit ${credit / MiB} MiB.`,
      ),
      sweep: true,
      referenceOnly: true,
      chunkByteLength: chunk,
      creditByteLength: credit,
    },
    {
      ...page(
        "browser",
        "aw-ws",
        `sweep: browser ws, chunk ${size}`,
        ANY,
        `Chromium ws, chunkByteLength ${size}, credit ${credit / MiB} MiB.`,
      ),
      id: `sweep-browser-chunk-${kib}k`,
      sweep: true,
      referenceOnly: true,
      pageParams: { chunk: String(chunk), credit: String(credit) },
    },
  );
}
for (const credit of [4 * MiB, 64 * MiB]) {
  METHODS.push({
    ...page(
      "browser",
      "aw-ws",
      `sweep: browser ws, credit ${credit / MiB} MiB`,
      ANY,
      `Chromium ws, chunk 1 MiB, credit ${credit / MiB} MiB.`,
    ),
    id: `sweep-browser-credit-${credit / MiB}m`,
    sweep: true,
    referenceOnly: true,
    pageParams: { chunk: String(MiB), credit: String(credit) },
  });
}

function node(
  id: string,
  kind: string,
  target: "fresh" | "reused",
  label: string,
  maxElementCount: number,
  description: string,
): Method {
  return { id, env: "node", kind, target, label, maxElementCount, description };
}

function page(env: Env, kind: string, label: string, maxElementCount: number, description: string): Method {
  return { id: `${env}-${kind}`, env, kind, label, maxElementCount, description };
}

/** Settings of one bench invocation. */
export interface BenchPlan {
  quick: boolean;
  /** The chunk/window sweep instead of the comparison. */
  sweep: boolean;
  /** Runs per (method, size); the median is reported with min-max. */
  runCount: number;
  elementCounts: number[];
  /** The size targets are judged at (400 MB; 100 MB in quick mode). */
  referenceElementCount: number;
  concurrentElementCount: number;
}

/** The full plan, or the quick smoke plan (every method once, on 100 MB arrays only). */
export function makePlan(quick: boolean, runCount?: number, sweep = false): BenchPlan {
  if (sweep) {
    return {
      quick,
      sweep,
      runCount: runCount ?? 3,
      elementCounts: [REFERENCE_ELEMENT_COUNT],
      referenceElementCount: REFERENCE_ELEMENT_COUNT,
      concurrentElementCount: REFERENCE_ELEMENT_COUNT,
    };
  }
  if (quick) {
    return {
      quick,
      sweep,
      runCount: runCount ?? 1,
      elementCounts: [12_500_000],
      referenceElementCount: 12_500_000,
      concurrentElementCount: 12_500_000,
    };
  }
  return {
    quick,
    sweep,
    runCount: runCount ?? 3,
    elementCounts: FULL_ELEMENT_COUNTS,
    referenceElementCount: REFERENCE_ELEMENT_COUNT,
    concurrentElementCount: REFERENCE_ELEMENT_COUNT,
  };
}

/** The methods that run at `elementCount` under `plan`: the sweep's alone, or all the others. */
export function methodsAt(plan: BenchPlan, elementCount: number): Method[] {
  return METHODS.filter(
    (m) =>
      (m.sweep ?? false) === plan.sweep &&
      elementCount <= m.maxElementCount &&
      (!m.referenceOnly || elementCount === plan.referenceElementCount),
  );
}

/** "10 MB", "400 MB", "1.6 GB" for an element count of float64. */
export function sizeLabel(elementCount: number): string {
  const bytes = elementCount * 8;
  return bytes >= 1e9 ? `${+(bytes / 1e9).toFixed(2)} GB` : `${+(bytes / MB).toFixed(1)} MB`;
}
