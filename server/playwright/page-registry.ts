/**
 * The page-side transfer registry: an init script that arraywire/playwright adds to every page of
 * a test, so that the pages' fetches (fetchArray, ArrayClient.fetch, fetchArrayInWorker) record
 * their progress and outcome (client/track.ts) and test code can wait for them and check their
 * arrays where they are, in the page. The registry lives at
 * `globalThis[Symbol.for("arraywire.registry")]`; each transfer is kept under its key (the
 * `track` option, else the array's name), the latest fetch of a key replacing the one before. A
 * finished transfer keeps its result, array included, until the key is fetched again or the page
 * goes away.
 *
 * {@link installRegistryInPage} runs in the browser: Playwright sends it as source text, so it
 * references nothing outside its own body.
 */
import type { BrowserContext, Page } from "@playwright/test";

/** `Symbol.for` key of the registry (client/track.ts looks it up under the same). */
export const REGISTRY_KEY = "arraywire.registry";

/** A transfer as the page records it. */
export interface PageTransfer {
  key: string;
  name: string;
  url: string;
  /** "main" or "worker" (fetchArrayInWorker). */
  thread: string;
  /** Order of the transfers started in this page, from 1. */
  sequence: number;
  state: "pending" | "done" | "error";
  receivedByteLength: number;
  /** Byte length of the range, once the first progress report told it. */
  totalByteLength: number | null;
  bytesPerSecond: number;
  elapsedMs: number;
  startedAt: number;
  /** The fetch's result (ArrayResult) once done. */
  result: unknown;
  /** The fetch's error once failed. */
  error: { name: string; code: string | null; message: string } | null;
}

/**
 * Installs the registry in this page (browser side; a no-op when one is there). Self-contained:
 * see the module comment.
 */
export function installRegistryInPage(key: string): void {
  const g = globalThis as unknown as Record<symbol, unknown>;
  const symbol = Symbol.for(key);
  if (g[symbol] !== undefined) return;
  const transfers = new Map<string, PageTransfer>();
  let sequence = 0;
  const registry = {
    version: 1,
    transfers,
    begin(info: { key: string; name: string; url: string; thread: string }) {
      const entry: PageTransfer = {
        key: String(info.key),
        name: String(info.name),
        url: String(info.url),
        thread: String(info.thread),
        sequence: ++sequence,
        state: "pending",
        receivedByteLength: 0,
        totalByteLength: null,
        bytesPerSecond: 0,
        elapsedMs: 0,
        startedAt: performance.now(),
        result: null,
        error: null,
      };
      transfers.set(entry.key, entry);
      // A later fetch of the same key replaces this one: its reports are then ignored.
      const current = () => transfers.get(entry.key) === entry;
      return {
        progress(p: {
          receivedByteLength: number;
          totalByteLength: number;
          bytesPerSecond: number;
          elapsedMs: number;
        }) {
          if (!current()) return;
          entry.receivedByteLength = p.receivedByteLength;
          entry.totalByteLength = p.totalByteLength;
          entry.bytesPerSecond = p.bytesPerSecond;
          entry.elapsedMs = p.elapsedMs;
        },
        done(result: { array: ArrayBufferView }) {
          if (!current()) return;
          entry.state = "done";
          entry.result = result;
          entry.receivedByteLength = result.array.byteLength;
          entry.totalByteLength = result.array.byteLength;
          entry.elapsedMs = performance.now() - entry.startedAt;
        },
        fail(error: unknown) {
          if (!current()) return;
          const e = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
          entry.state = "error";
          entry.error = {
            name: typeof e.name === "string" ? e.name : "Error",
            code: typeof e.code === "string" ? e.code : null,
            message: typeof e.message === "string" ? e.message : String(error),
          };
          entry.elapsedMs = performance.now() - entry.startedAt;
        },
      };
    },
  };
  Object.defineProperty(g, symbol, { value: registry, configurable: true, enumerable: false, writable: false });
}

/**
 * Adds the registry to every page of `target` (a BrowserContext: every page, frame and popup it
 * opens from now on; or one Page), before the page's own scripts run. The arraywire/playwright
 * `test` does this for its `context`; call it yourself with a context of your own.
 */
export async function installArrayRegistry(target: BrowserContext | Page): Promise<void> {
  await target.addInitScript(installRegistryInPage, REGISTRY_KEY);
}
