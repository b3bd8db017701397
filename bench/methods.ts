/**
 * The bench's methods outside the sweeps: arraywire in Node, Python and the browser, and the peers
 * it is compared with. MB is 1e6 bytes throughout; arrays are Float64Array with values 0..n-1.
 * The ceilings (the best hand-written loops) are sweeps: see sweeps.ts.
 */
import type { NodeClientArgs } from "./messages.ts";

export const MB = 1e6;
export const MiB = 1024 * 1024;

/** Where a method runs: a Node client process, a Python client process, Chromium, or Chromium under Playwright. */
export type Env = "node" | "python" | "browser" | "playwright";

/** A point of a sweep: its group (sweeps.ts) and the settings that name its row and column. */
export interface SweepPoint {
  group: string;
  row: string;
  column?: string;
}

/** One way of moving the array, in one environment. */
export interface Method {
  /** Stable id used in JSON results, e.g. "node-arraywire-fresh". */
  id: string;
  env: Env;
  /** node/python: NodeClientArgs.method; browser/playwright: the page's `method` parameter. */
  kind: string;
  /**
   * Node and Python: "fresh" is a new process's first transfer into memory the method allocates;
   * "reused" a repeat transfer into the same touched target (one untimed transfer runs first).
   */
  target?: NodeClientArgs["target"];
  /** arraywire's `verify` option; undefined keeps the default (true: an XXH32 of every byte). */
  verify?: boolean;
  label: string;
  /** Largest array this method runs on, in elements. */
  maxElementCount: number;
  /** Browser only: extra page URL parameters (`chunk`, `credit`, `window`, `write`). */
  pageParams?: Record<string, string>;
  /** Runs at the reference size only. */
  referenceOnly?: boolean;
  /** Runs in quick mode. Defaults to true, except for sweep points (false unless set). */
  quick?: boolean;
  /** A point of a sweep (sweeps.ts). */
  sweep?: SweepPoint;
  /** Node arraywire ws: chunk size and credit window to ask for. */
  chunkByteLength?: number;
  creditByteLength?: number;
  /** Node recv_into loop: the server's write size, and the receive window (0 = the whole rest of the target). */
  writeByteLength?: number;
  windowByteLength?: number;
  /** Python recv_into client: "none", or "crc32" (zlib.crc32 over each piece while it is hot). */
  hash?: NodeClientArgs["hash"];
  /** What it is, for README and the Markdown report. */
  description: string;
}

/** The reference array: Float64Array of 50M values (400 MB). */
export const REFERENCE_ELEMENT_COUNT = 50_000_000;
/** Size sweep: 10 MB, 100 MB, 400 MB, 1.6 GB of float64. */
export const FULL_ELEMENT_COUNTS = [1_250_000, 12_500_000, 50_000_000, 200_000_000];
/** JSON is ~1.05 bytes of text per array byte here: capped at 100 MB of array (12.5M values). */
export const JSON_MAX_ELEMENT_COUNT = 12_500_000;
/** ws one-message, the ws loop and Arrow stop at 400 MB. */
export const PEER_MAX_ELEMENT_COUNT = 50_000_000;
export const ANY = Number.POSITIVE_INFINITY;
/** Rows per Arrow record batch: 1,048,576 float64 = 8 MiB per batch. */
export const ARROW_BATCH_ROW_COUNT = 1_048_576;

/** A Node (or Python) client method. */
export function nodeMethod(
  id: string,
  kind: string,
  target: "fresh" | "reused",
  label: string,
  maxElementCount: number,
  description: string,
): Method {
  return { id, env: "node", kind, target, label, maxElementCount, description };
}

/** A page method: id `<env>-<kind>`. */
export function pageMethod(
  env: Env,
  kind: string,
  label: string,
  maxElementCount: number,
  description: string,
): Method {
  return { id: `${env}-${kind}`, env, kind, label, maxElementCount, description };
}

const AW = "arraywire";

function python(target: "fresh" | "reused", hash: "none" | "xxh32"): Method {
  const verified = hash === "xxh32";
  const into =
    target === "fresh"
      ? "a new numpy.empty array (numpy madvises huge pages)"
      : "a touched numpy array, repeat transfer";
  return {
    ...nodeMethod(
      `python-recv${verified ? "-xxh32" : ""}-${target}`,
      "python",
      target,
      verified
        ? `Python recv_into (HTTP, C XXH32 verified), ${target}`
        : `Python recv_into (HTTP, no hash: verifies nothing), ${target}`,
      ANY,
      verified
        ? `bench/recv_into_client.py: GET over a raw socket from the ArrayServer (checksum=xxh32), sock.recv_into(memoryview(arr)[offset:]) into ${into}, the C XXH32 (python-xxhash) of each piece right after it landed, checked against END: the verified baseline (zlib.crc32, labelled in the run's detail, when the interpreter lacks xxhash).`
        : `The same with checksum=none and nothing hashed: an upper bound that verifies nothing (compared with arraywire verify:false).`,
    ),
    env: "python",
    hash,
    referenceOnly: !verified,
  };
}

/** Every method outside the sweeps, in table order. */
export const MAIN_METHODS: Method[] = [
  nodeMethod(
    "node-arraywire-fresh",
    AW,
    "fresh",
    "arraywire (default transport), fresh target",
    ANY,
    "fetchArray(url, name): library defaults (transport 'auto', verify on); the library allocates the target.",
  ),
  nodeMethod(
    "node-arraywire-reused",
    AW,
    "reused",
    "arraywire (default transport), reused target",
    ANY,
    "fetchArray(..., { into }): a repeat transfer into the same touched Float64Array.",
  ),
  {
    ...nodeMethod(
      "node-arraywire-http-fresh",
      "arraywire-http",
      "fresh",
      "arraywire (http), fresh target",
      ANY,
      "fetchArray(url, name, { transport: 'http' }).",
    ),
    referenceOnly: true,
  },
  {
    ...nodeMethod(
      "node-arraywire-http-reused",
      "arraywire-http",
      "reused",
      "arraywire (http), reused target",
      ANY,
      "fetchArray(..., { transport: 'http', into }): a repeat transfer into the same touched Float64Array.",
    ),
    referenceOnly: true,
  },
  {
    ...nodeMethod(
      "node-arraywire-ws-fresh",
      "arraywire-ws",
      "fresh",
      "arraywire (ws), fresh target",
      ANY,
      "fetchArray(url, name, { transport: 'ws' }).",
    ),
    referenceOnly: true,
  },
  {
    ...nodeMethod(
      "node-arraywire-ws-reused",
      "arraywire-ws",
      "reused",
      "arraywire (ws), reused target",
      ANY,
      "fetchArray(..., { transport: 'ws', into }): a repeat transfer into the same touched Float64Array.",
    ),
    referenceOnly: true,
  },
  {
    ...nodeMethod(
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
    ...nodeMethod(
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
  python("fresh", "xxh32"),
  python("reused", "xxh32"),
  python("fresh", "none"),
  python("reused", "none"),
  nodeMethod(
    "node-tcp-fresh",
    "tcp",
    "fresh",
    "raw TCP + copy per chunk, fresh target",
    ANY,
    "node:net, u64 length + bytes in 4 MiB writes; the receiver copies each 'data' chunk into a new buffer.",
  ),
  nodeMethod(
    "node-tcp-reused",
    "tcp",
    "reused",
    "raw TCP + copy per chunk, reused target",
    ANY,
    "The same, a repeat transfer into the same touched buffer.",
  ),
  nodeMethod(
    "node-ws-one-fresh",
    "ws-one",
    "fresh",
    "ws, one whole message, fresh",
    PEER_MAX_ELEMENT_COUNT,
    "ws server sends the array as one message (client maxPayload raised to 2^31-1); the message buffer is the target.",
  ),
  nodeMethod(
    "node-ws-one-reused",
    "ws-one",
    "reused",
    "ws, one whole message, reused",
    PEER_MAX_ELEMENT_COUNT,
    "The same, copied into a touched target (repeat transfer).",
  ),
  nodeMethod(
    "node-json",
    "json",
    "fresh",
    "JSON numbers",
    JSON_MAX_ELEMENT_COUNT,
    "GET JSON text of the numbers, response.json(), copied into a Float64Array (capped at 100 MB of array).",
  ),
  pageMethod(
    "browser",
    "aw-auto",
    "arraywire (default transport)",
    ANY,
    "fetchArray(url, name): library defaults (transport 'auto', which picks http, a BYOB reader into the target, in Chromium; verify on).",
  ),
  pageMethod(
    "browser",
    "aw-ws",
    "arraywire ws",
    PEER_MAX_ELEMENT_COUNT,
    "fetchArray(url, name, { transport: 'ws' }): library defaults otherwise.",
  ),
  pageMethod(
    "browser",
    "json",
    "JSON numbers",
    JSON_MAX_ELEMENT_COUNT,
    "fetch + response.json() + new Float64Array(numbers) (capped at 100 MB of array).",
  ),
  pageMethod(
    "browser",
    "arrow",
    "Arrow IPC (apache-arrow)",
    PEER_MAX_ELEMENT_COUNT,
    "Arrow IPC stream over HTTP, RecordBatchReader.from(fetch()), each 8 MiB batch's column copied into a preallocated Float64Array.",
  ),
  {
    ...pageMethod(
      "browser",
      "aw-auto",
      "arraywire default, verify:false",
      ANY,
      "As arraywire default, without the checksum.",
    ),
    id: "browser-aw-auto-noverify",
    verify: false,
    referenceOnly: true,
  },
  {
    ...pageMethod("browser", "aw-ws", "arraywire ws, verify:false", ANY, "As arraywire ws, without the checksum."),
    id: "browser-aw-ws-noverify",
    verify: false,
    referenceOnly: true,
  },
  {
    ...pageMethod(
      "playwright",
      "aw-auto",
      "Playwright: arraywire default",
      ANY,
      "The same page under Playwright's chromium.launch() (CDP attached).",
    ),
    referenceOnly: true,
  },
  {
    ...pageMethod("playwright", "aw-ws", "Playwright: arraywire ws", ANY, "arraywire ws under Playwright."),
    referenceOnly: true,
  },
  {
    ...pageMethod(
      "playwright",
      "ws-loop",
      "Playwright: bare ws loop, 1 MiB messages",
      ANY,
      "The bare ws loop (1 MiB messages) under Playwright.",
    ),
    pageParams: { chunk: String(MiB) },
    referenceOnly: true,
  },
];
