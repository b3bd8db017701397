/**
 * Arrays past 4 GiB in Chromium, through the demo dashboard: the size picker's 4 GB choice and its
 * memory warning; a real 4 GiB + 8 byte fetch (2^29 + 1 float64, one element past byte 2^32) on
 * the default transport, checked in the page (every element by the page's own scan, sampled
 * values at the start, the middle, both sides of byte 2^32 and the end); and a request past what
 * the tab can allocate, which fails with E_ALLOCATION_FAILED at the header, before any data.
 * The 4 GiB test allocates 4 GiB in the renderer: run the e2e suite under the heavy lock.
 */
import { expect, type Page, test } from "@playwright/test";
import type { DemoState } from "../client/demo/main.ts";

const LENGTH = 2 ** 29 + 1; // float64: 4 GiB + 8 bytes
const BYTE_LENGTH = LENGTH * 8;
/** 4.3 GB under Playwright's DevTools monitoring, plus the page's scan, on a loaded machine. */
const STREAM_TIMEOUT_MS = 420_000;

async function waitForRunEnd(page: Page, runId: number, timeout: number): Promise<DemoState> {
  await page.waitForFunction(
    (id) => {
      const s = window.__arraywire;
      return s?.runId === id && (s.status === "done" || s.status === "error" || s.status === "aborted");
    },
    runId,
    { timeout, polling: 250 },
  );
  return (await page.evaluate(() => window.__arraywire)) as DemoState;
}

test.describe("arrays past 4 GiB in Chromium", () => {
  test("the size picker offers 500M elements and warns about memory and the client limit", async ({ page }) => {
    await page.goto("/?dtype=float64");
    const warning = page.locator("#size-warning");
    await expect(warning).toBeHidden();
    const size = (count: number) =>
      page.locator("#sizes label").filter({ has: page.locator(`input[value="${count}"]`) });
    await size(500_000_000).click();
    await expect(page.getByRole("radio", { name: /^500M/ })).toBeChecked();
    await expect(page.locator('#sizes input[value="500000000"] ~ .seg-sub')).toHaveText("4.00 GB");
    await expect(warning).toBeVisible();
    await expect(warning).toContainText("4.00 GB must fit in this tab's memory");
    await expect(warning).toContainText("Raise the client limit (maxBytes)");
    await page.getByLabel("Client limit maxBytes").selectOption("8589934592");
    await expect(warning).toBeVisible();
    await expect(warning).not.toContainText("Raise the client limit");
    // 200M float64 (1.6 GB) is under the 2 GiB default: no warning.
    await size(200_000_000).click();
    await expect(warning).toBeHidden();
  });

  test("fetches 4 GiB + 8 bytes of float64 on the default transport, every element checked in the page", async ({
    page,
  }) => {
    test.setTimeout(STREAM_TIMEOUT_MS + 60_000);
    await page.goto(`/?n=${LENGTH}&dtype=float64&maxBytes=${2 * BYTE_LENGTH}&autostart=1`);
    const state = await waitForRunEnd(page, 1, STREAM_TIMEOUT_MS);
    expect(state.errorCode, state.errorMessage ?? "").toBeNull();
    expect(state.status).toBe("done");
    expect(state.transport).toBe("http"); // the default in a browser with BYOB readers
    expect(state.totalByteLength).toBe(BYTE_LENGTH);
    expect(state.length).toBe(LENGTH);
    // The page's scan: element i is i for every i (and the END trailer's XXH32 matched, or the
    // fetch would have failed with E_CHECKSUM).
    expect(state.verified).toBe(true);
    expect(state.mismatches).toBe(0);
    expect(state.last).toBe(LENGTH - 1);
    const samples = [0, 1, 2 ** 28, 2 ** 29 - 2, 2 ** 29 - 1, 2 ** 29, LENGTH - 1];
    const values = await page.evaluate((indices) => window.__arraywireValuesAt(indices), samples);
    expect(values).toEqual(samples);
    expect(state.progress.at(-1)).toBe(BYTE_LENGTH);
  });

  test("fails a 32 GiB request with E_ALLOCATION_FAILED before any data moves", async ({ page }) => {
    const length = 2 ** 32; // float64: 32 GiB, past the largest ArrayBuffer Chromium makes
    const byteLength = length * 8;
    await page.goto(`/?n=${length}&dtype=float64&maxBytes=${byteLength}`);
    // Should the tab allocate after all, stop at the first bytes instead of moving 32 GiB.
    await page.evaluate(() => {
      window.__arraywireAbortAtBytes = 1;
    });
    await page.getByRole("button", { name: "Start" }).click();
    const state = await waitForRunEnd(page, 1, 60_000);
    expect(state.status).toBe("error");
    expect(state.errorCode, state.errorMessage ?? "").toBe("E_ALLOCATION_FAILED");
    expect(state.errorMessage).toContain(`expected room for ${byteLength} bytes (${length} float64 elements)`);
    expect(state.errorMessage).toMatch(
      // Chromium 156: "Invalid typed array length: 4294967296" here; 16 to 32 GiB: "Array buffer allocation failed".
      /this runtime refused \((Invalid typed array length|Invalid array buffer length|Array buffer allocation failed)/,
    );
    expect(Math.max(0, ...state.progress)).toBe(0);
    await expect(page.locator(".alert-hint")).toContainText("The browser refused a buffer this large");
  });
});
