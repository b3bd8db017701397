/**
 * End-to-end tests of the demo dashboard (client/demo) against server/demo.ts. The page
 * streams, verifies, checksums and plots in the browser; the tests only read the small state it
 * exposes on window.__arraywire and what it shows. The array itself never leaves the page.
 */
import { expect, type Page, test } from "@playwright/test";
import type { DemoState } from "../client/demo/main.ts";

const REFERENCE_LENGTH = 50_000_000;
const REFERENCE_BYTE_LENGTH = REFERENCE_LENGTH * 8;
/**
 * The 400 MB WebSocket stream runs at 50-100 MB/s with Playwright attached (4-8 s), but a loaded
 * 2-CPU machine has taken 40 s: leave room.
 */
const STREAM_TIMEOUT_MS = 180_000;

/** Reads the page's state (small values only). */
function readState(page: Page): Promise<DemoState> {
  return page.evaluate(() => window.__arraywire);
}

/** Waits until run `runId` has ended (done, error or aborted) and returns the state. */
async function waitForRunEnd(page: Page, runId: number, timeout = STREAM_TIMEOUT_MS): Promise<DemoState> {
  await page.waitForFunction(
    (id) => {
      const s = window.__arraywire;
      return s?.runId === id && (s.status === "done" || s.status === "error" || s.status === "aborted");
    },
    runId,
    { timeout, polling: 100 },
  );
  return readState(page);
}

/** Sum of a[i] mod 2^32 over `new Ctor(n)` filled with 0..n-1, computed here, not by the page. */
function expectedArange(dtype: string, length: number): { checksum: number; first: number[]; last: number } {
  const constructors: Record<string, new (n: number) => { [i: number]: number | bigint }> = {
    float64: Float64Array,
    float32: Float32Array,
    int32: Int32Array,
    uint32: Uint32Array,
    int16: Int16Array,
    uint16: Uint16Array,
    int8: Int8Array,
    uint8: Uint8Array,
    uint8clamped: Uint8ClampedArray,
    bigint64: BigInt64Array,
    biguint64: BigUint64Array,
  };
  const Ctor = constructors[dtype];
  if (!Ctor) throw new TypeError(`Unknown dtype ${dtype}`);
  const a = new Ctor(length);
  const big = dtype.startsWith("big");
  let checksum = 0;
  for (let i = 0; i < length; i++) {
    a[i] = big ? BigInt(i) : i;
    const v = a[i] as number | bigint;
    checksum = (checksum + (typeof v === "bigint" ? Number(BigInt.asUintN(32, v)) : v)) >>> 0;
  }
  const first = Array.from({ length: Math.min(10, length) }, (_, i) => Number(a[i]));
  return { checksum, first, last: Number(a[length - 1]) };
}

/** Asserts receivedByteLength never decreases and ends at the total. */
function expectMonotonicProgress(state: DemoState): void {
  const { progress, totalByteLength } = state;
  expect(progress.length).toBeGreaterThan(1);
  for (let i = 1; i < progress.length; i++) {
    expect(progress[i], `progress event ${i}`).toBeGreaterThanOrEqual(progress[i - 1] as number);
  }
  expect(progress[0]).toBeGreaterThanOrEqual(0);
  expect(progress.at(-1)).toBe(totalByteLength);
}

test.describe("streaming", () => {
  test("streams the 50,000,000-element float64 reference array and the page verifies every element", async ({
    page,
  }) => {
    await page.goto("/");
    // The defaults are the reference run: arange, 50M, float64, HTTP (fetchArray's default in browsers).
    await expect(page.getByLabel("Array name")).toHaveValue("arange");
    await expect(page.getByRole("radio", { name: /50M/ })).toBeChecked();
    await expect(page.getByLabel("Dtype")).toHaveValue("float64");
    await expect(page.getByRole("radio", { name: /HTTP/ })).toBeChecked();
    await expect(page.locator("#request-summary")).toHaveText("50M × float64 = 400.0 MB");

    const startedAt = Date.now();
    await page.getByRole("button", { name: "Start" }).click();
    await expect(page.locator("#status")).toHaveAttribute("data-status", "streaming");
    await expect(page.getByRole("button", { name: "Abort" })).toBeEnabled();
    const state = await waitForRunEnd(page, 1);
    test.info().annotations.push({
      type: "timing",
      description: `400 MB in ${Math.round(state.elapsedMs)} ms in the page (${Date.now() - startedAt} ms wall)`,
    });

    expect(state.errorCode, state.errorMessage ?? "").toBeNull();
    expect(state.status).toBe("done");
    expect(state.length).toBe(REFERENCE_LENGTH);
    expect(state.totalByteLength).toBe(REFERENCE_BYTE_LENGTH);
    expect(state.mismatches).toBe(0);
    expect(state.verified).toBe(true);
    expect(state.first).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(state.last).toBe(REFERENCE_LENGTH - 1);
    // sum(0..n-1) = n(n-1)/2, mod 2^32
    const sum = (BigInt(REFERENCE_LENGTH) * BigInt(REFERENCE_LENGTH - 1)) / 2n;
    expect(state.checksum).toBe(Number(sum % 2n ** 32n));

    // ...and the page shows it.
    await expect(page.locator("#status")).toHaveText("Done");
    await expect(page.locator("#first-values")).toHaveText("[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
    await expect(page.locator("#last-label")).toHaveText("a[49,999,999]");
    await expect(page.locator("#last-value")).toHaveText("49999999");
    await expect(page.locator("#verify")).toHaveAttribute("data-state", "ok");
    await expect(page.locator("#verify-title")).toHaveText("All 50,000,000 verified");
    await expect(page.locator("#received")).toHaveText("400.0");
    await expect(page.locator("#percent")).toHaveText("100%");
    await expect(page.locator("#error-panel")).toBeHidden();
    await expect(page.locator("#plot-empty")).toBeHidden();
    await expect(page.getByRole("button", { name: "Start" })).toBeEnabled();
  });

  test("reports progress that never decreases and ends at the total", async ({ page }) => {
    await page.goto(`/?n=${REFERENCE_LENGTH}&dtype=float64&autostart=1`);
    const state = await waitForRunEnd(page, 1);
    expect(state.status, state.errorMessage ?? "").toBe("done");
    expect(state.totalByteLength).toBe(REFERENCE_BYTE_LENGTH);
    // 50 ms throttling over several seconds: dozens of events.
    expect(state.progress.length).toBeGreaterThan(10);
    expectMonotonicProgress(state);
  });

  test("streams a 1.6 GB array (200M float64) and the page verifies every element", async ({ page }) => {
    const length = 200_000_000;
    await page.goto(`/?n=${length}&dtype=float64&autostart=1`);
    const state = await waitForRunEnd(page, 1);
    expect(state.status, state.errorMessage ?? "").toBe("done");
    expect(state.totalByteLength).toBe(length * 8);
    expect(state.length).toBe(length);
    expect(state.verified).toBe(true);
    expect(state.mismatches).toBe(0);
    expect(state.last).toBe(length - 1);
    expectMonotonicProgress(state);
  });

  test("streams over the WebSocket transport too", async ({ page }) => {
    await page.goto(`/?n=${REFERENCE_LENGTH}&dtype=float64&transport=ws&autostart=1`);
    const state = await waitForRunEnd(page, 1);
    expect(state.status, state.errorMessage ?? "").toBe("done");
    expect(state.transport).toBe("ws");
    expect(state.length).toBe(REFERENCE_LENGTH);
    expect(state.verified).toBe(true);
    expect(state.last).toBe(REFERENCE_LENGTH - 1);
    expectMonotonicProgress(state);
    await expect(page.locator("#endpoint-url")).toHaveText(/^ws:\/\/.*\/arraywire$/);
  });

  const narrower: [dtype: string, length: number][] = [
    ["int16", 1_000_000], // wraps at 32768
    ["uint8", 1_000_000],
    ["uint8clamped", 1_000_000], // clamps at 255
    ["int32", 1_000_000],
    ["float32", 20_000_000], // rounds past 2^24
    ["bigint64", 1_000_000],
    ["biguint64", 1_000_000],
  ];
  for (const [dtype, length] of narrower) {
    test(`verifies a ${length.toLocaleString("en-US")}-element ${dtype} arange as the dtype stores it`, async ({
      page,
    }) => {
      const expected = expectedArange(dtype, length);
      await page.goto(`/?n=${length}&dtype=${dtype}&autostart=1`);
      const state = await waitForRunEnd(page, 1);
      expect(state.status, state.errorMessage ?? "").toBe("done");
      expect(state.dtype).toBe(dtype);
      expect(state.length).toBe(length);
      expect(state.mismatches).toBe(0);
      expect(state.verified).toBe(true);
      expect(state.first).toEqual(expected.first);
      expect(state.last).toBe(expected.last);
      expect(state.checksum).toBe(expected.checksum);
      await expect(page.locator("#verify")).toHaveAttribute("data-state", "ok");
      await expect(page.locator("#last-value")).toHaveText(String(expected.last));
    });
  }
});

test.describe("errors", () => {
  for (const transport of ["ws", "http"] as const) {
    test(`aborts a running stream, shows it, and can start again (${transport})`, async ({ page }) => {
      // HTTP moves 400 MB in well under a second here: give the click a 1.6 GB stream to stop.
      await page.goto(transport === "ws" ? `/?transport=ws` : `/?transport=http&n=200000000`);
      if (transport === "ws") {
        // Under Playwright a WebSocket stream can starve this test's polling until it has ended:
        // the page presses its own Abort button (the same handler) once 1 MB has arrived.
        await page.evaluate(() => {
          window.__arraywireAbortAtBytes = 1_000_000;
        });
        await page.getByRole("button", { name: "Start" }).click();
      } else {
        await page.getByRole("button", { name: "Start" }).click();
        // Wait until bytes are flowing (the 400 MB stream takes seconds), then click Abort.
        await page.waitForFunction(() => window.__arraywire.progress.some((bytes) => bytes > 0), null, {
          timeout: STREAM_TIMEOUT_MS,
          polling: 20,
        });
        await page.getByRole("button", { name: "Abort" }).click();
      }
      const aborted = await waitForRunEnd(page, 1, STREAM_TIMEOUT_MS);
      expect(aborted.status).toBe("aborted");
      expect(aborted.errorCode).toBe("AbortError");
      expect(aborted.verified).toBe(false);
      expect(aborted.progress.at(-1) ?? 0).toBeLessThan(aborted.totalByteLength);
      const panel = page.locator("#error-panel");
      await expect(panel).toBeVisible();
      await expect(panel).toHaveAttribute("data-kind", "aborted");
      await expect(page.locator("#error-code")).toHaveText("AbortError");
      await expect(page.locator("#error-title")).toHaveText("Transfer aborted");
      await expect(page.locator("#status")).toHaveText("Aborted");
      await expect(page.getByRole("button", { name: "Abort" })).toBeDisabled();

      // A new run on the same page works and clears the panel.
      await page
        .locator("#sizes label")
        .filter({ has: page.locator('input[value="1000000"]') })
        .click();
      await expect(page.getByRole("radio", { name: /^1M/ })).toBeChecked();
      await page.getByRole("button", { name: "Start" }).click();
      const again = await waitForRunEnd(page, 2);
      expect(again.status, again.errorMessage ?? "").toBe("done");
      expect(again.length).toBe(1_000_000);
      expect(again.verified).toBe(true);
      expect(again.last).toBe(999_999);
      await expect(panel).toBeHidden();
    });
  }

  for (const transport of ["ws", "http"] as const) {
    test(`shows E_UNKNOWN_NAME for a name the server does not publish (${transport})`, async ({ page }) => {
      await page.goto(`/?transport=${transport}`);
      await page.getByLabel("Array name").fill("no-such-array");
      await page.getByRole("button", { name: "Start" }).click();
      const state = await waitForRunEnd(page, 1, 15_000);
      expect(state.status).toBe("error");
      expect(state.errorCode).toBe("E_UNKNOWN_NAME");
      expect(state.errorMessage).toContain("no-such-array");
      await expect(page.locator("#error-panel")).toBeVisible();
      await expect(page.locator("#error-panel")).toHaveAttribute("data-kind", "error");
      await expect(page.locator("#error-code")).toHaveText("E_UNKNOWN_NAME");
      await expect(page.locator("#error-message")).toContainText("no-such-array");
      await expect(page.locator("#error-hint")).toContainText("arange");
      await expect(page.locator("#status")).toHaveText("Failed");
    });
  }

  test("shows E_TOO_LARGE when the array exceeds the client's maxBytes", async ({ page }) => {
    await page.goto("/?n=10000000&dtype=float64&maxBytes=10000000&autostart=1");
    const state = await waitForRunEnd(page, 1, 15_000);
    expect(state.status).toBe("error");
    expect(state.errorCode).toBe("E_TOO_LARGE");
    await expect(page.locator("#error-code")).toHaveText("E_TOO_LARGE");
    await expect(page.locator("#error-hint")).toContainText("maxBytes");
  });
});
