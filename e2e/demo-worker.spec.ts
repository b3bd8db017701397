/**
 * The demo's "Receive on: Worker" switch (fetchArrayInWorker with a worker the demo makes the
 * usual Vite way, served by server/demo.ts's Vite) and its main-thread meter: a dot moved by
 * requestAnimationFrame and a frame-time readout, which must keep updating while the 400 MB
 * reference array arrives. Correctness only: frame times under Playwright say nothing about
 * speed (the bench measures long tasks in direct Chromium).
 */
import { expect, type Page, test } from "@playwright/test";
import type { DemoState } from "../client/demo/main.ts";

const REFERENCE_LENGTH = 50_000_000;
const STREAM_TIMEOUT_MS = 180_000;

async function waitForRunEnd(page: Page, runId: number): Promise<DemoState> {
  await page.waitForFunction(
    (id) => {
      const s = window.__arraywire;
      return s?.runId === id && (s.status === "done" || s.status === "error" || s.status === "aborted");
    },
    runId,
    { timeout: STREAM_TIMEOUT_MS, polling: 100 },
  );
  return page.evaluate(() => window.__arraywire);
}

test.describe("receiving in a worker", () => {
  test("receives the 400 MB reference array in a worker; the frame-time readout updates during the transfer", async ({
    page,
  }) => {
    await page.goto(`/?thread=worker&n=${REFERENCE_LENGTH}`);
    await expect(page.getByRole("radio", { name: /Worker/ })).toBeChecked();
    // The meter runs before any transfer.
    await expect(page.locator("#frame-recent")).not.toHaveText("–");
    await page.getByRole("button", { name: "Start" }).click();
    const state = await waitForRunEnd(page, 1);
    expect(state.errorCode, state.errorMessage ?? "").toBeNull();
    expect(state).toMatchObject({
      status: "done",
      thread: "worker",
      crossOriginIsolated: false,
      length: REFERENCE_LENGTH,
      mismatches: 0,
      verified: true,
      last: REFERENCE_LENGTH - 1,
      sharedElementEnd: 0,
    });
    expect(state.progress.at(-1)).toBe(REFERENCE_LENGTH * 8);
    // Frames kept coming, and the readout was redrawn, while the bytes arrived.
    expect(state.frames.transferFrames).toBeGreaterThan(2);
    expect(state.frames.readoutsDuringTransfer).toBeGreaterThanOrEqual(2);
    expect(state.frames.longestTransferMs).toBeGreaterThan(0);
    await expect(page.locator("#frame-transfer")).toHaveText(/^\d+(\.\d)?$/);
    await expect(page.locator("#frame-count")).toHaveText(/^\d+$/);
  });

  test("in a cross-origin isolated page (?isolated=1) the worker fills shared memory the page reads as it fills", async ({
    page,
  }) => {
    const length = 10_000_000;
    await page.goto(`/?isolated=1&thread=worker&n=${length}&autostart=1`);
    const state = await waitForRunEnd(page, 1);
    expect(state.errorCode, state.errorMessage ?? "").toBeNull();
    expect(state).toMatchObject({
      status: "done",
      thread: "worker",
      crossOriginIsolated: true,
      verified: true,
      length,
      sharedElementEnd: length,
    });
    await expect(page.locator("#isolation-note")).toHaveText("cross-origin isolated: a worker fills shared memory");
  });

  test("aborts a worker transfer from the page and can start again", async ({ page }) => {
    await page.goto("/?thread=worker&transport=http&n=200000000");
    await page.evaluate(() => {
      window.__arraywireAbortAtBytes = 1_000_000;
    });
    await page.getByRole("button", { name: "Start" }).click();
    const aborted = await waitForRunEnd(page, 1);
    expect(aborted).toMatchObject({ status: "aborted", errorCode: "AbortError", thread: "worker" });
    await page
      .locator("#sizes label")
      .filter({ has: page.locator('input[value="1000000"]') })
      .click();
    await page.getByRole("button", { name: "Start" }).click();
    const again = await waitForRunEnd(page, 2);
    expect(again).toMatchObject({ status: "done", verified: true, length: 1_000_000, thread: "worker" });
  });

  test("the main thread path keeps working and measures frames too", async ({ page }) => {
    await page.goto("/?thread=main&n=10000000&autostart=1");
    const state = await waitForRunEnd(page, 1);
    expect(state).toMatchObject({ status: "done", thread: "main", verified: true });
    expect(state.frames.readouts).toBeGreaterThan(0);
  });
});
