/**
 * Reading a page's transfers from a test: readProgress (where a transfer stands now) and
 * waitForArray (until it has ended). Both read the page registry (page-registry.ts) and return
 * small values only; the array stays in the page.
 */

import { type PageLike, waitUntilSettled } from "./inspect.ts";
import type { PageTransfer } from "./page-registry.ts";
import { REGISTRY_KEY } from "./page-registry.ts";

/** Where a transfer stands, as a test sees it. */
export interface ArrayTransfer {
  /** The registry key: the fetch's `track` option, else the array's name. */
  key: string;
  name: string;
  url: string;
  /** "main", or "worker" for fetchArrayInWorker. */
  thread: string;
  state: "pending" | "done" | "error";
  receivedByteLength: number;
  /** Byte length of the range; null until the first progress report. */
  totalByteLength: number | null;
  /** Mean rate since the request, bytes per second. */
  bytesPerSecond: number;
  elapsedMs: number;
  /** Once done: the result's dtype, length and shape. */
  dtype: string | null;
  length: number | null;
  shape: number[] | null;
  /** Once failed: the error's name, code and message. */
  error: { name: string; code: string | null; message: string } | null;
}

/** Options of {@link waitForArray}. */
export interface WaitForArrayOptions {
  /** Longest wait, in ms; 0 waits as long as the test may run. Defaults to 30_000. */
  timeout?: number;
}

/** Thrown (rejected with) by {@link waitForArray}. */
export class ArrayTransferError extends Error {
  override readonly name = "ArrayTransferError";
  /** The transfer as it stood (null when the page has none under the key). */
  readonly transfer: ArrayTransfer | null;
  constructor(message: string, transfer: ArrayTransfer | null) {
    super(message);
    this.transfer = transfer;
  }
}

/** Runs in the page: the transfer `key` as an ArrayTransfer, undefined without a registry. */
function readInPage({ registryKey, key }: { registryKey: string; key: string }): ArrayTransfer | null | undefined {
  const registry = (globalThis as unknown as Record<symbol, unknown>)[Symbol.for(registryKey)] as
    | { transfers: Map<string, PageTransfer> }
    | undefined;
  if (registry === undefined) return undefined;
  const e = registry.transfers.get(key);
  if (e === undefined) return null;
  const result = e.result as { array?: ArrayLike<unknown>; shape?: number[]; dtype?: string } | null;
  return {
    key: e.key,
    name: e.name,
    url: e.url,
    thread: e.thread,
    state: e.state,
    receivedByteLength: e.receivedByteLength,
    totalByteLength: e.totalByteLength,
    bytesPerSecond: e.bytesPerSecond,
    elapsedMs: e.state === "pending" ? performance.now() - e.startedAt : e.elapsedMs,
    dtype: typeof result?.dtype === "string" ? result.dtype : null,
    length: result?.array ? result.array.length : null,
    shape: Array.isArray(result?.shape) ? [...result.shape] : null,
    error: e.error,
  };
}

const NO_REGISTRY =
  "this page has no arraywire registry: use `test` from arraywire/playwright (it installs one in every page), or call installArrayRegistry(context) before the page loads";

/**
 * Where the page's transfer `key` stands now (the fetch's `track` option, else the array's name),
 * or null when the page has not started one.
 * @throws {Error} when the page has no registry.
 */
export async function readProgress(page: PageLike, key: string): Promise<ArrayTransfer | null> {
  const transfer = await page.evaluate(readInPage, { registryKey: REGISTRY_KEY, key });
  if (transfer === undefined) throw new Error(`readProgress(${JSON.stringify(key)}): ${NO_REGISTRY}`);
  return transfer;
}

/**
 * Waits until the page's transfer `key` has completed (polling every 100 ms) and returns it.
 * @throws {@link ArrayTransferError} (rejects) when the transfer failed (its code and message in
 *   the message), or did not complete within the timeout (the bytes it had then), or the page
 *   has no registry.
 */
export async function waitForArray(
  page: PageLike,
  key: string,
  options: WaitForArrayOptions = {},
): Promise<ArrayTransfer> {
  const timeoutMs = options.timeout ?? 30_000;
  const label = `waitForArray(${JSON.stringify(key)})`;
  const settled = await waitUntilSettled(page, key, timeoutMs);
  const transfer = await page.evaluate(readInPage, { registryKey: REGISTRY_KEY, key });
  if (transfer === undefined) throw new ArrayTransferError(`${label}: ${NO_REGISTRY}`, null);
  if (transfer === null) {
    throw new ArrayTransferError(
      `${label}: timed out after ${timeoutMs} ms: the page started no transfer under this key`,
      null,
    );
  }
  if (!settled || transfer.state === "pending") {
    throw new ArrayTransferError(
      `${label}: timed out after ${timeoutMs} ms at ${transfer.receivedByteLength} of ${transfer.totalByteLength ?? "?"} bytes`,
      transfer,
    );
  }
  if (transfer.state === "error") {
    const e = transfer.error;
    throw new ArrayTransferError(
      `${label}: the transfer failed: ${e?.name ?? "Error"}${e?.code ? ` ${e.code}` : ""}: ${e?.message ?? ""}`,
      transfer,
    );
  }
  return transfer;
}
