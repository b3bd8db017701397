/**
 * The test side of the page checks: where an array is (a transfer key in the page's registry, a
 * JSHandle, or a function evaluated in the page), waiting until a transfer has settled, and
 * running {@link inspectInPage} on it. Shared by expectArray, waitForArray and readProgress.
 */
import type { Frame, JSHandle, Page } from "@playwright/test";
import { type Check, type InspectResult, inspectInPage } from "./page-checks.ts";
import { REGISTRY_KEY } from "./page-registry.ts";

/**
 * Where the array is: a transfer's key in the page registry (the `track` option of the fetch,
 * else the array's name); a JSHandle to a typed array or to an object with an `array` (an
 * ArrayResult); or a function evaluated in the page that returns one (`() => window.app.data`).
 */
export type ArrayRef = string | JSHandle | (() => unknown);

/** A page or a frame: where the array lives. */
export type PageLike = Page | Frame;

/** How an ArrayRef reads in messages: `"prices"`, `handle`, or the function's source. */
export function describeRef(ref: ArrayRef): string {
  if (typeof ref === "string") return JSON.stringify(ref);
  if (typeof ref === "function") {
    const text = String(ref).replace(/\s+/g, " ");
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  }
  return "handle";
}

/** Runs one check on the array `ref` names (no waiting). */
export async function inspect(page: PageLike, ref: ArrayRef, check: Check): Promise<InspectResult> {
  if (typeof ref === "string") {
    return page.evaluate(inspectInPage, { registryKey: REGISTRY_KEY, key: ref, check });
  }
  if (typeof ref === "function") {
    const handle = await page.evaluateHandle(ref);
    try {
      return await page.evaluate(inspectInPage, { registryKey: REGISTRY_KEY, key: null, target: handle, check });
    } finally {
      await handle.dispose();
    }
  }
  return page.evaluate(inspectInPage, { registryKey: REGISTRY_KEY, key: null, target: ref, check });
}

/** True in the page once the transfer `key` has settled (done or failed). */
function settledInPage({ registryKey, key }: { registryKey: string; key: string }): boolean {
  const registry = (globalThis as unknown as Record<symbol, unknown>)[Symbol.for(registryKey)] as
    | { transfers: Map<string, { state: string }> }
    | undefined;
  const state = registry?.transfers.get(key)?.state;
  return state === "done" || state === "error";
}

/**
 * Waits until the transfer `key` has settled, polling every 100 ms, for at most `timeoutMs` (0:
 * no limit of its own, the test's timeout applies). Resolves with false on timeout.
 */
export async function waitUntilSettled(page: PageLike, key: string, timeoutMs: number): Promise<boolean> {
  try {
    await page.waitForFunction(settledInPage, { registryKey: REGISTRY_KEY, key }, { timeout: timeoutMs, polling: 100 });
    return true;
  } catch (error) {
    if ((error as Error)?.name === "TimeoutError") return false;
    throw error;
  }
}
