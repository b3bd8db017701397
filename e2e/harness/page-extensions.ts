/**
 * The grid page's cases for uploads, subscriptions and discovery, in real Chromium: the library
 * (client/index.ts, from source) uploads a typed array from the page and reads it back, follows a
 * live array into a resizable ArrayBuffer, and lists what the server publishes. Every element is
 * checked here; only counts and codes go back to the test.
 */
import { fetchArray, listArrays, StreamError, statArray, subscribe, uploadArray } from "../../client/index.ts";
import { float64At } from "./values.ts";

/** What a case reports (failures: ok false, with the error's code and message). */
export interface ExtensionSummary {
  ok: boolean;
  code?: string;
  message?: string;
  [key: string]: unknown;
}

function failure(err: unknown): ExtensionSummary {
  const e = err as { code?: string; message?: string; name?: string };
  return { ok: false, name: e?.name, code: err instanceof StreamError ? err.code : e?.code, message: e?.message };
}

function mismatches(array: Float64Array, start: number): { count: number; first: number | null } {
  let count = 0;
  let first: number | null = null;
  for (let j = 0; j < array.length; j++) {
    if (array[j] !== float64At(start + j)) {
      if (count++ === 0) first = start + j;
    }
  }
  return { count, first };
}

/** Uploads `length` float64 values (float64At) as `name`, then fetches them back over HTTP and checks them. */
async function upload(c: {
  endpoint: string;
  name: string;
  length: number;
  resume?: boolean;
}): Promise<ExtensionSummary> {
  const data = new Float64Array(c.length);
  for (let i = 0; i < c.length; i++) data[i] = float64At(i);
  const sent: number[] = [];
  const acknowledged: number[] = [];
  const url = new URL(c.endpoint, location.href);
  try {
    const result = await uploadArray(url, c.name, data, {
      meta: { from: "browser" },
      progressIntervalMs: 0,
      resume: c.resume ? { initialDelayMs: 10 } : undefined,
      onProgress: (p) => {
        sent.push(p.sentByteLength);
        acknowledged.push(p.acknowledgedByteLength);
      },
    });
    const back = await fetchArray(new URL(url.pathname.replace(/^\/cut\/[^/]+\/\d+/, ""), location.href), c.name, {
      transport: "http",
    });
    const check = mismatches(back.array as Float64Array, 0);
    return {
      ok: true,
      byteLength: result.byteLength,
      uploadId: result.uploadId,
      backLength: back.array.length,
      backMeta: back.meta,
      mismatches: check.count,
      firstMismatch: check.first,
      lastAcknowledged: acknowledged.at(-1) ?? null,
      ackMonotonic: acknowledged.every((a, i) => i === 0 || a >= (acknowledged[i - 1] as number)),
      maxInFlight: Math.max(0, ...sent.map((s, i) => s - (acknowledged[i] as number))),
    };
  } catch (err) {
    return failure(err);
  }
}

/** Subscribes to the live array `name`; resolves at its END with what arrived and how. */
async function follow(c: { endpoint: string; name: string; range?: [number, number] }): Promise<ExtensionSummary> {
  const lengths: number[] = [];
  const buffers = new Set<ArrayBufferLike>();
  let appendedOk = true;
  try {
    const result = await subscribe(new URL(c.endpoint, location.href), c.name, {
      range: c.range,
      onAppend: (u) => {
        lengths.push(u.length);
        buffers.add(u.array.buffer);
        // The appended view is the array's tail: the same memory, not a copy.
        appendedOk &&= u.appended.buffer === u.array.buffer && u.appended.length === u.length - u.previousLength;
      },
    });
    const start = c.range ? c.range[0] : 0;
    const check = mismatches(result.array as Float64Array, start);
    const buffer = result.array.buffer as ArrayBuffer & { resizable?: boolean };
    return {
      ok: true,
      length: result.array.length,
      shape: result.shape,
      arrayShape: result.arrayShape,
      range: result.range,
      updates: lengths,
      oneBuffer: buffers.size === 1 && buffers.has(result.array.buffer),
      resizable: buffer.resizable === true,
      appendedOk,
      mismatches: check.count,
      firstMismatch: check.first,
    };
  } catch (err) {
    return failure(err);
  }
}

async function discover(c: { endpoint: string; stat: string }): Promise<ExtensionSummary> {
  try {
    const url = new URL(c.endpoint, location.href);
    const arrays = await listArrays(url);
    const stat = await statArray(url, c.stat);
    return { ok: true, names: arrays.map((a) => a.name), kinds: arrays.map((a) => a.kind), stat };
  } catch (err) {
    return failure(err);
  }
}

declare global {
  interface Window {
    __extensions: {
      upload: typeof upload;
      follow: typeof follow;
      discover: typeof discover;
    };
  }
}

window.__extensions = { upload, follow, discover };
