/**
 * The hook through which a page's transfers are recorded for tests: when a page-side registry is
 * installed at `globalThis[Symbol.for("arraywire.registry")]` (arraywire/playwright installs one
 * in every page of a test, through an init script), each fetch tells it its key, progress and
 * outcome, and test code reads them from outside (waitForArray, expectArray) without shipping the
 * array back. Without a registry (production pages) a fetch does one global lookup and nothing
 * else: no wrapper, no allocation. A registry is code the library does not own: every call into
 * it is guarded and its failures are dropped, so it can never change a fetch's outcome.
 */
import type { ArrayResult } from "./assembler.ts";
import { quietly } from "./guard.ts";
import type { StreamRequest } from "./options.ts";
import type { Progress } from "./progress.ts";

/** `Symbol.for` key of the registry (server/playwright/page-registry.ts installs it under the same). */
export const REGISTRY_KEY = "arraywire.registry";

/** What a fetch tells the registry when it starts. */
export interface TrackedTransferInfo {
  /** `track`, else the array's name. */
  key: string;
  name: string;
  url: string;
  /** Where the bytes are received: "main" (this thread) or "worker" (fetchArrayInWorker). */
  thread: "main" | "worker";
}

/** One transfer's handle in the registry. */
export interface TransferRecorder {
  progress(progress: Progress): void;
  done(result: ArrayResult): void;
  fail(error: unknown): void;
}

/** The registry's shape (version 1). */
export interface PageRegistry {
  readonly version: number;
  begin(info: TrackedTransferInfo): TransferRecorder;
}

/** The installed registry's recorder for a new transfer, or null (no registry, or one that failed). */
export function startTracking(info: TrackedTransferInfo): TransferRecorder | null {
  const registry = (globalThis as Record<symbol, unknown>)[Symbol.for(REGISTRY_KEY)] as PageRegistry | undefined;
  if (registry === undefined) return null;
  try {
    if (registry === null || registry.version !== 1 || typeof registry.begin !== "function") return null;
    const recorder = registry.begin(info);
    return recorder !== null && typeof recorder === "object" ? recorder : null;
  } catch {
    // A broken registry records nothing; the fetch goes on as it would without one.
    return null;
  }
}

/** `request` with its progress also reported to `recorder` (the caller's onProgress runs as before). */
export function withProgressRecorder(request: StreamRequest, recorder: TransferRecorder): StreamRequest {
  const own = request.onProgress;
  return {
    ...request,
    onProgress: (progress) => {
      quietly(() => recorder.progress(progress));
      return own?.(progress);
    },
  };
}

/** Reports the outcome of `promise` to `recorder`; returns `promise` itself. */
export function recordOutcome<T extends ArrayResult>(promise: Promise<T>, recorder: TransferRecorder): Promise<T> {
  promise.then(
    (result) => quietly(() => recorder.done(result)),
    (error: unknown) => quietly(() => recorder.fail(error)),
  );
  return promise;
}
