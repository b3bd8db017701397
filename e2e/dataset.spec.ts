/**
 * The demo's file dataset end to end: the server writes a 50M-sample float64 signal to its cache
 * directory at first start (in the background, while it already answers), then serves it from
 * disk with npyFile; the dashboard offers it next to arange and streams it into the page. The
 * values at sampled indices are checked against the generating formula, written out again here
 * from its description in server/demo-signal.ts (not imported, and not computed by the page).
 */
import { expect, test } from "@playwright/test";
import type { DemoState } from "../client/demo/main.ts";

const LENGTH = 50_000_000;
/** Generating a first 400 MB file takes a few seconds; a loaded machine, much longer. */
const READY_TIMEOUT_MS = 180_000;
const STREAM_TIMEOUT_MS = 180_000;

/** Sample i: t = i / 1 MHz; sines 0.5, 3.1 (phase 0.7), 47 Hz; drift 0.05 t; hashed noise; four Gaussian events. */
function expectedSample(i: number): number {
  const t = i / 1e6;
  let h = i >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h = (h ^ (h >>> 16)) >>> 0;
  let v =
    Math.sin(Math.PI * t) +
    0.5 * Math.sin(6.2 * Math.PI * t + 0.7) +
    0.2 * Math.sin(94 * Math.PI * t) +
    0.05 * t +
    (h / 4294967296 - 0.5) * 0.3;
  for (const [centre, amplitude, width] of [
    [7.3, 2.5, 0.02],
    [18.9, -1.8, 0.05],
    [31.4, 3.2, 0.01],
    [44, 1.5, 0.2],
  ]) {
    const z = (t - (centre as number)) / (width as number);
    if (Math.abs(z) < 8) v += (amplitude as number) * Math.exp(-0.5 * z * z);
  }
  return v;
}

const SAMPLES = [0, 1, 2, 999_999, 7_300_000, 7_310_123, 18_900_000, 25_000_001, 31_400_000, 44_123_457, LENGTH - 1];

test("streams the file dataset into the page, with the values the formula gives", async ({ page, request }) => {
  // The server answers while it writes the file: /api/info reports the dataset's progress.
  await expect
    .poll(
      async () => {
        const info = (await (await request.get("/api/info")).json()) as { datasets: { name: string; state: string }[] };
        return info.datasets.find((d) => d.name === "signal")?.state;
      },
      { timeout: READY_TIMEOUT_MS, intervals: [500, 1000, 2000] },
    )
    .toBe("ready");

  await page.goto("/");
  const chip = page.locator('.dataset-chip[data-name="signal"]');
  await expect(chip).toBeEnabled();
  await chip.click();
  await expect(page.getByLabel("Array name")).toHaveValue("signal");
  await expect(chip).toHaveAttribute("aria-pressed", "true");
  // A file has one size and dtype: the arange controls are off.
  await expect(page.getByLabel("Dtype")).toBeDisabled();

  await page.getByRole("button", { name: "Start" }).click();
  await page.waitForFunction(
    () => ["done", "error", "aborted"].includes(window.__arraywire?.status) && window.__arraywire.runId === 1,
    undefined,
    { timeout: STREAM_TIMEOUT_MS, polling: 200 },
  );
  const state = (await page.evaluate(() => window.__arraywire)) as DemoState;
  expect(state.errorCode, state.errorMessage ?? "").toBeNull();
  expect(state.status).toBe("done");
  expect(state.name).toBe("signal");
  expect(state.length).toBe(LENGTH);
  expect(state.totalByteLength).toBe(LENGTH * 8);

  const values = await page.evaluate((indices) => window.__arraywireValuesAt(indices), SAMPLES);
  for (const [k, i] of SAMPLES.entries()) {
    expect(values[k], `sample ${i}`).toBeCloseTo(expectedSample(i), 9);
  }
  // The events stand out of the signal around them.
  expect((values[SAMPLES.indexOf(31_400_000)] as number) - expectedSample(31_300_000)).toBeGreaterThan(2.5);

  await expect(page.locator("#verify-title")).toHaveText("50,000,000 values from signal");
  await expect(page.locator("#plot-empty")).toBeHidden();
});
