/**
 * The cross-origin page: `window.__cross.run(case)` runs one fetchArray through the library
 * (bundled from source) and answers with a summary: the error's code and message, or the length
 * and a few values. Every element of a success is checked against float64At.
 */
import { fetchArray, StreamError } from "../../client/index.ts";
import { float64At } from "./values.ts";

/** One case, as a test hands it to the page. */
export interface CrossCase {
  url: string;
  name: string;
  transport?: "auto" | "http" | "ws";
  headers?: Record<string, string>;
  protocols?: string[];
  credentials?: "omit" | "same-origin" | "include";
  resume?: boolean;
  connectTimeoutMs?: number;
  range?: [number, number];
}

export interface CrossSummary {
  ok: boolean;
  elapsedMs: number;
  code?: string;
  message?: string;
  name?: string;
  length?: number;
  mismatches?: number;
  progressCalls?: number;
}

async function run(c: CrossCase): Promise<CrossSummary> {
  const started = performance.now();
  let progressCalls = 0;
  try {
    const { array, range } = await fetchArray(c.url, c.name, {
      dtype: "float64",
      transport: c.transport,
      headers: c.headers,
      protocols: c.protocols,
      credentials: c.credentials,
      resume: c.resume ? { initialDelayMs: 10 } : undefined,
      connectTimeoutMs: c.connectTimeoutMs,
      range: c.range,
      onProgress: () => {
        progressCalls++;
      },
    });
    let mismatches = 0;
    for (let i = 0; i < array.length; i++) if (array[i] !== float64At(range[0] + i)) mismatches++;
    return { ok: true, elapsedMs: performance.now() - started, length: array.length, mismatches, progressCalls };
  } catch (err) {
    const e = err as Error;
    return {
      ok: false,
      elapsedMs: performance.now() - started,
      name: e?.name,
      code: err instanceof StreamError ? err.code : undefined,
      message: e?.message,
    };
  }
}

declare global {
  interface Window {
    __cross: { run: (c: CrossCase) => Promise<CrossSummary> };
  }
}

window.__cross = { run };
(document.getElementById("status") as HTMLElement).textContent = "ready";
