/**
 * Receiving in a dedicated worker, and SharedArrayBuffer targets, in real Chromium: the harness's
 * worker page (e2e/harness/worker-page.ts) runs fetchArrayInWorker with the library's own worker
 * module (served at /worker.js, where it looks by default) or an instrumented one, and fetchArray
 * into SharedArrayBuffers in a cross-origin isolated page. The page checks every element, and
 * every element a chunk report covers when the report is made; tests read small summaries.
 */
import { expect, type Page, test } from "@playwright/test";
import { PAGE_ORIGIN } from "./harness/config.ts";
import { GRID_LENGTH, GRID_RANGE } from "./harness/values.ts";
import type { WorkerCase, WorkerSummary } from "./harness/worker-page.ts";

async function openPage(page: Page, isolated = false): Promise<string[]> {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${PAGE_ORIGIN}/worker.html${isolated ? "?isolated=1" : ""}`);
  await page.waitForFunction(() => document.getElementById("status")?.textContent === "ready");
  return errors;
}

function run(page: Page, c: WorkerCase): Promise<WorkerSummary> {
  return page.evaluate((workerCase) => window.__workerCase(workerCase), c);
}

const WHOLE = { mismatches: 0, firstMismatch: null, length: GRID_LENGTH, dtype: "float64", pageErrors: [] };

test.describe("fetchArrayInWorker", () => {
  for (const transport of ["http", "ws"] as const) {
    test(`receives in the library's own worker, every element right, progress here (${transport})`, async ({
      page,
    }) => {
      const errors = await openPage(page);
      const s = await run(page, { endpoint: "/arraywire", name: "f64", thread: "worker", transport });
      expect(s, JSON.stringify(s)).toMatchObject({
        ok: true,
        ...WHOLE,
        shape: [GRID_LENGTH],
        sharedBuffer: false,
        progressMonotonic: true,
        lastProgress: GRID_LENGTH * 8,
      });
      expect(s.progressCount).toBeGreaterThan(1);
      expect(errors).toEqual([]);
    });
  }

  test("hands over the worker's own buffer: after the transfer the worker's view is detached", async ({ page }) => {
    await openPage(page);
    const s = await run(page, { endpoint: "/arraywire", name: "f64", thread: "worker", worker: "instrumented" });
    expect(s, JSON.stringify(s)).toMatchObject({ ok: true, ...WHOLE, sharedBuffer: false });
    expect(s.workerTransferred).toEqual([0]);
  });

  test("aborts mid-stream: rejects with the page's reason, and the worker serves the next fetch", async ({ page }) => {
    await openPage(page);
    const s = await run(page, {
      endpoint: "/arraywire",
      name: "f64",
      thread: "worker",
      worker: "instrumented",
      transport: "ws",
      abortAtBytes: 1,
      again: true,
    });
    expect(s, JSON.stringify(s)).toMatchObject({ ok: false, name: "AbortError", sameReason: true, again: true });
    expect(s.lastProgress).toBeLessThan(GRID_LENGTH * 8);
  });

  test("aborting a fetch on the library's own worker rejects with the page's reason, and the next fetch works", async ({
    page,
  }) => {
    await openPage(page);
    const s = await run(page, { endpoint: "/arraywire", name: "f64", thread: "worker", abortAtBytes: 1 });
    expect(s, JSON.stringify(s)).toMatchObject({ ok: false, sameReason: true, pageErrors: [] });
    const next = await run(page, { endpoint: "/arraywire", name: "f64", thread: "worker", range: GRID_RANGE });
    expect(next, JSON.stringify(next)).toMatchObject({ ok: true, mismatches: 0, pageErrors: [] });
  });

  for (const [what, c] of [
    ["an unknown name (E_UNKNOWN_NAME)", { name: "nope" }],
    ["a range past the end", { name: "f64", range: [0, GRID_LENGTH + 1] }],
  ] as const) {
    for (const transport of ["http", "ws"] as const) {
      test(`rejects ${what} with the same StreamError code and message as on the main thread (${transport})`, async ({
        page,
      }) => {
        await openPage(page);
        const base = { endpoint: "/arraywire", transport, ...c } as WorkerCase;
        const inWorker = await run(page, { ...base, thread: "worker" });
        const onMain = await run(page, { ...base, thread: "main" });
        expect(onMain).toMatchObject({ ok: false, name: "StreamError" });
        if (c.name === "nope") expect(onMain.code).toBe("E_UNKNOWN_NAME");
        expect(inWorker).toMatchObject({ ok: false, name: "StreamError", code: onMain.code, message: onMain.message });
      });
    }
  }

  test("reports chunks as copies in a page that is not cross-origin isolated (a range in the middle)", async ({
    page,
  }) => {
    await openPage(page);
    const s = await run(page, {
      endpoint: "/arraywire",
      name: "f64",
      thread: "worker",
      range: GRID_RANGE,
      chunks: true,
    });
    expect(s, JSON.stringify(s)).toMatchObject({
      ok: true,
      crossOriginIsolated: false,
      mismatches: 0,
      chunksTile: true,
      chunkMismatches: 0,
      chunkArray: "null",
    });
    expect(s.chunkCount).toBeGreaterThan(1);
  });

  test("refuses shared: true where there is no SharedArrayBuffer (not isolated), before any I/O", async ({ page }) => {
    await openPage(page);
    const s = await run(page, { endpoint: "/arraywire", name: "f64", thread: "worker", target: "shared" });
    expect(s).toMatchObject({ ok: false, name: "TypeError", crossOriginIsolated: false });
    expect(s.message).toContain("no SharedArrayBuffer");
  });
});

test.describe("SharedArrayBuffer targets in a cross-origin isolated page", () => {
  for (const transport of ["http", "ws"] as const) {
    test(`the page reads a shared: true target while the worker fills it, chunk by chunk (${transport})`, async ({
      page,
    }) => {
      const errors = await openPage(page, true);
      const s = await run(page, {
        endpoint: "/arraywire",
        name: "f64",
        thread: "worker",
        worker: "instrumented",
        transport,
        target: "shared",
        chunks: true,
      });
      expect(s, JSON.stringify(s)).toMatchObject({
        ok: true,
        ...WHOLE,
        crossOriginIsolated: true,
        sharedBuffer: true,
        chunksTile: true,
        chunkMismatches: 0,
        chunkArray: "result",
        workerTransferred: [],
      });
      expect(s.chunkCount).toBeGreaterThan(1);
      expect(errors).toEqual([]);
    });

    test(`fetchArrayInWorker fills an \`into\` over a SharedArrayBuffer in place (${transport}, a range)`, async ({
      page,
    }) => {
      await openPage(page, true);
      const s = await run(page, {
        endpoint: "/arraywire",
        name: "f64",
        thread: "worker",
        transport,
        target: "into-sab",
        range: GRID_RANGE,
      });
      expect(s, JSON.stringify(s)).toMatchObject({ ok: true, mismatches: 0, isInto: true, sharedBuffer: true });
    });

    test(`fetchArray on the main thread fills an \`into\` over a SharedArrayBuffer (${transport}: BYOB through the scratch)`, async ({
      page,
    }) => {
      await openPage(page, true);
      const s = await run(page, {
        endpoint: "/arraywire",
        name: "f64",
        thread: "main",
        transport,
        target: "into-sab",
        chunks: true,
      });
      expect(s, JSON.stringify(s)).toMatchObject({
        ok: true,
        ...WHOLE,
        isInto: true,
        sharedBuffer: true,
        chunksTile: true,
        chunkMismatches: 0,
        chunkArray: "result",
      });
    });
  }

  test("fetchArrayInWorker moves an `into` over an ArrayBuffer to the worker and back", async ({ page }) => {
    await openPage(page, true);
    const s = await run(page, { endpoint: "/arraywire", name: "f64", thread: "worker", target: "into" });
    expect(s, JSON.stringify(s)).toMatchObject({ ok: true, ...WHOLE, isInto: false, intoByteLengthAfter: 0 });
  });
});
