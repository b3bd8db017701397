/**
 * The grid page: runs one fetch through the library (client/index.ts, from source) per call of
 * `window.__grid.run(case)` and answers with a small summary (counts, the first mismatch, the
 * error's code): the arrays never travel back through page.evaluate. Every element received is
 * checked here against the values the harness published (e2e/harness/values.ts).
 */
import {
  fetchArray,
  type Progress,
  StreamError,
  type TypedArray,
  type WebSocketConstructor,
} from "../../client/index.ts";
import { biguint64At, float64At, GRID_LENGTH } from "./values.ts";
import "./page-extensions.ts";

/** One case, as a test hands it to the page. */
export interface GridCase {
  /** Endpoint path on the page's origin, e.g. "/cut/<id>/<N>/arraywire". */
  endpoint: string;
  name: string;
  transport?: "auto" | "http" | "ws";
  /** The dtype the array has: every element is checked against its values. */
  check?: "float64" | "biguint64";
  /** Receive into a caller's array (of the range's length, or GRID_LENGTH; filled with a sentinel first). */
  into?: boolean;
  range?: [number, number];
  resume?: boolean;
  /** Reconnects resume may make (default 5). */
  resumeAttempts?: number;
  idleTimeoutMs?: number;
  protocols?: string[];
  /** onProgress throws an Error on its first call. */
  throwInProgress?: boolean;
  /** ConnectOptions.compression ("on" offers zstd even on this loopback page). */
  compression?: "auto" | "off" | "on";
  /** Count the bytes of every WebSocket message received (a WebSocket subclass; picks ws). */
  countWire?: boolean;
  /** Compute the SHA-256 of the received bytes in the page (crypto.subtle). */
  sha256?: boolean;
  /** Report the HTTP response's encoded and decoded body sizes (Resource Timing). */
  bodySizes?: boolean;
}

/** What the page reports. */
export interface GridSummary {
  ok: boolean;
  elapsedMs: number;
  /** On failure: the error's name, code, message, and its cause's code. */
  name?: string;
  code?: string;
  message?: string;
  causeCode?: string;
  /** The fetch rejected with the very error onProgress threw. */
  sameError?: boolean;
  length?: number;
  shape?: number[];
  arrayShape?: number[];
  range?: [number, number];
  dtype?: string;
  /** `into` cases: the result is the caller's array, and its buffer is still attached. */
  intoKept?: boolean;
  mismatches?: number;
  firstMismatch?: { index: number; got: string; expected: string } | null;
  progressCount: number;
  progressMonotonic: boolean;
  lastProgress: number | null;
  /** countWire cases: bytes of the WebSocket messages received (payloads and control messages). */
  wireByteLength?: number;
  /** sha256 cases: hex SHA-256 of the received array's bytes. */
  sha256?: string;
  /** bodySizes cases: the last fetch's body on the wire and decoded (Resource Timing), and its URL. */
  encodedBodySize?: number;
  decodedBodySize?: number;
  bodyUrl?: string;
  /** bodySizes cases without an entry: the resources the page has entries for (a diagnosis). */
  resourceNames?: string[];
  /** Uncaught errors and unhandled rejections seen by the page so far. */
  pageErrors: string[];
}

const pageErrors: string[] = [];
window.addEventListener("error", (e) => pageErrors.push(`error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => pageErrors.push(`unhandledrejection: ${String(e.reason)}`));

function checkElements(
  array: TypedArray,
  dtype: "float64" | "biguint64",
  start: number,
): Pick<GridSummary, "mismatches" | "firstMismatch"> {
  let mismatches = 0;
  let firstMismatch: GridSummary["firstMismatch"] = null;
  if (dtype === "float64") {
    const a = array as Float64Array;
    for (let j = 0; j < a.length; j++) {
      const expected = float64At(start + j);
      if (a[j] !== expected) {
        if (mismatches++ === 0) firstMismatch = { index: start + j, got: String(a[j]), expected: String(expected) };
      }
    }
  } else {
    const a = array as BigUint64Array;
    for (let j = 0; j < a.length; j++) {
      const expected = biguint64At(start + j);
      if (a[j] !== expected) {
        if (mismatches++ === 0) firstMismatch = { index: start + j, got: String(a[j]), expected: String(expected) };
      }
    }
  }
  return { mismatches, firstMismatch };
}

async function run(c: GridCase): Promise<GridSummary> {
  const progress: number[] = [];
  const thrown = new Error("thrown by onProgress");
  let into: TypedArray | undefined;
  if (c.into) {
    const length = c.range ? c.range[1] - c.range[0] : GRID_LENGTH;
    into = c.check === "biguint64" ? new BigUint64Array(length).fill(0xdeadn) : new Float64Array(length).fill(-0.125);
  }
  const startedAt = performance.now();
  const common = {
    progressCount: 0,
    progressMonotonic: true,
    lastProgress: null as number | null,
    pageErrors,
  };
  const finish = () => {
    common.progressCount = progress.length;
    common.lastProgress = progress.at(-1) ?? null;
    common.progressMonotonic = progress.every((p, i) => i === 0 || p >= (progress[i - 1] as number));
  };
  let wireByteLength = 0;
  // Counts what arrives before the client sees it: the bytes that crossed the socket.
  class CountingWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener("message", (e: MessageEvent) => {
        wireByteLength += e.data instanceof ArrayBuffer ? e.data.byteLength : (e.data as Blob).size;
      });
    }
  }
  try {
    const result = await fetchArray(new URL(c.endpoint, location.href), c.name, {
      compression: c.compression,
      WebSocket: c.countWire ? (CountingWebSocket as unknown as WebSocketConstructor) : undefined,
      transport: c.transport,
      into,
      range: c.range,
      resume: c.resume ? { initialDelayMs: 10, attempts: c.resumeAttempts } : undefined,
      idleTimeoutMs: c.idleTimeoutMs,
      protocols: c.protocols,
      progressIntervalMs: 0,
      onProgress: (p: Progress) => {
        progress.push(p.receivedByteLength);
        if (c.throwInProgress) throw thrown;
      },
    });
    const elapsedMs = performance.now() - startedAt;
    finish();
    const start = c.range ? c.range[0] : 0;
    return {
      ok: true,
      elapsedMs,
      length: result.array.length,
      shape: result.shape,
      arrayShape: result.arrayShape,
      range: result.range,
      dtype: result.dtype,
      intoKept: into
        ? result.array === into && into.byteLength === result.array.length * into.BYTES_PER_ELEMENT
        : undefined,
      ...(c.check ? checkElements(result.array, c.check, start) : {}),
      ...(c.countWire ? { wireByteLength } : {}),
      ...(c.sha256 ? { sha256: await sha256Hex(result.array) } : {}),
      ...(c.bodySizes ? await lastFetchSizes() : {}),
      ...common,
    };
  } catch (err) {
    const elapsedMs = performance.now() - startedAt;
    finish();
    const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
    return {
      ok: false,
      elapsedMs,
      name: e?.name,
      code: err instanceof StreamError ? err.code : e?.code,
      message: e?.message,
      causeCode: e?.cause?.code,
      sameError: err === thrown,
      ...common,
    };
  }
}

/**
 * The Resource Timing entry of the last fetch of an array. Chromium adds it once the body
 * completed, which may be a moment after the reader got its last byte: wait up to 5 s for it.
 */
async function lastFetchSizes(): Promise<
  Pick<GridSummary, "encodedBodySize" | "decodedBodySize" | "bodyUrl" | "resourceNames">
> {
  for (let waited = 0; waited < 5000; waited += 50) {
    const entries = performance.getEntriesByType("resource") as PerformanceResourceTiming[];
    const last = entries.filter((e) => e.name.includes("name=")).at(-1);
    if (last) {
      performance.clearResourceTimings();
      return { encodedBodySize: last.encodedBodySize, decodedBodySize: last.decodedBodySize, bodyUrl: last.name };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { resourceNames: performance.getEntriesByType("resource").map((e) => e.name) };
}

async function sha256Hex(array: TypedArray): Promise<string> {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  // digest() wants a BufferSource that is not a SharedArrayBuffer view: copy only in that case.
  const input = bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input as Uint8Array<ArrayBuffer>));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

declare global {
  interface Window {
    __grid: { run: (c: GridCase) => Promise<GridSummary> };
  }
}

window.__grid = { run };
(document.getElementById("status") as HTMLElement).textContent = "ready";
