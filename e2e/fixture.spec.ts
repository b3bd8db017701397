/**
 * arraywire/playwright used as a suite would use it: the worker's ArrayServer publishes the
 * arrays (the `arrays` option), the harness's worker page (another origin: the fixture's server
 * answers it with CORS) fetches them on the main thread or in a worker, and the tests wait for the
 * transfers and check the arrays in the page. Each matcher's failure message is checked word for
 * word against a deliberately wrong expectation.
 */
import { expect, type Page } from "@playwright/test";
import {
  ArrayAssertionError,
  ArrayTransferError,
  arrayChecksum,
  expectArray,
  readProgress,
  test,
  waitForArray,
} from "../server/playwright/index.ts";
import { PAGE_ORIGIN } from "./harness/config.ts";
import type { WorkerCase, WorkerSummary } from "./harness/worker-page.ts";

const LENGTH = 5_000_000; // 40 MB
const prices = Float64Array.from({ length: LENGTH }, (_, i) => i * 0.25 - 3);
const counts = BigUint64Array.from({ length: 1000 }, (_, i) => BigInt(i) * 3n);

test.use({
  arrays: { prices: { array: prices, shape: [LENGTH / 4, 4] }, counts },
});

async function openPage(page: Page): Promise<void> {
  await page.goto(`${PAGE_ORIGIN}/worker.html`);
  await page.waitForFunction(() => document.getElementById("status")?.textContent === "ready");
}

function run(page: Page, c: Omit<WorkerCase, "thread"> & { thread?: WorkerCase["thread"] }): Promise<WorkerSummary> {
  const workerCase: WorkerCase = { thread: "main", noCheck: true, ...c };
  return page.evaluate((wc) => window.__workerCase(wc), workerCase);
}

/** Starts a case and returns at once (the transfer goes on in the page). */
async function start(page: Page, c: Omit<WorkerCase, "thread"> & { thread?: WorkerCase["thread"] }): Promise<void> {
  await page.evaluate(
    (workerCase) => {
      void window.__workerCase(workerCase);
    },
    { thread: "main", noCheck: true, ...c } as WorkerCase,
  );
}

test.describe("arraywire/playwright", () => {
  for (const transport of ["http", "ws"] as const) {
    test(`checks a 40 MB array where it is, in the page (${transport}, cross-origin)`, async ({ page, arraywire }) => {
      await openPage(page);
      expect(new URL(arraywire.url).origin).not.toBe(PAGE_ORIGIN);
      await start(page, { endpoint: arraywire.url, name: "prices", transport });
      const done = await waitForArray(page, "prices");
      expect(done).toMatchObject({
        state: "done",
        thread: "main",
        receivedByteLength: LENGTH * 8,
        totalByteLength: LENGTH * 8,
        dtype: "float64",
        length: LENGTH,
        shape: [LENGTH / 4, 4],
        error: null,
      });
      const prices$ = expectArray(page, "prices");
      await prices$.toHaveChecksum(arrayChecksum(prices));
      await prices$.toHaveChecksum(prices);
      await prices$.toHaveLength(LENGTH);
      await prices$.toHaveShape([LENGTH / 4, 4]);
      await prices$.toHaveDtype("float64");
      await prices$.toHaveValuesAt({ 0: -3, 2500001: 625_000.25 - 3, [LENGTH - 1]: (LENGTH - 1) * 0.25 - 3 });
    });
  }

  test("records a transfer made in a worker (fetchArrayInWorker) under its track key", async ({ page, arraywire }) => {
    await openPage(page);
    const s = await run(page, { endpoint: arraywire.url, name: "counts", thread: "worker", track: "counts-in-worker" });
    expect(s.ok).toBe(true);
    expect(await readProgress(page, "counts-in-worker")).toMatchObject({
      state: "done",
      thread: "worker",
      name: "counts",
      dtype: "biguint64",
      length: 1000,
    });
    await expectArray(page, "counts-in-worker").toEqualArray(counts);
    await expectArray(page, "counts-in-worker").toHaveValuesAt(new Map([[999, 2997n]]));
    expect(await readProgress(page, "counts")).toBeNull();
  });

  test("reads progress while a transfer is pending, and waitForArray times out with the bytes it had", async ({
    page,
  }) => {
    await openPage(page);
    // The harness's silent peer: a header for 1000 float64 (8000 bytes), 800 bytes, then nothing.
    await start(page, { endpoint: "/silent", name: "f64", idleTimeoutMs: 60_000 });
    await expect.poll(async () => (await readProgress(page, "f64"))?.receivedByteLength).toBe(800);
    expect(await readProgress(page, "f64")).toMatchObject({ state: "pending", totalByteLength: 8000, dtype: null });
    const waited = await waitForArray(page, "f64", { timeout: 300 }).catch((e: unknown) => e);
    expect(waited).toBeInstanceOf(ArrayTransferError);
    expect((waited as Error).message).toBe('waitForArray("f64"): timed out after 300 ms at 800 of 8000 bytes');
    await expect(expectArray(page, "f64", { timeout: 300 }).toHaveLength(1000)).rejects.toThrow(
      'expectArray("f64").toHaveLength(1000): timed out after 300 ms waiting for the transfer to end (800 of 8000 bytes received)',
    );
  });

  test("checks arrays behind a JSHandle or a page function: NaN equals NaN, -0 equals 0, float32 rounds", async ({
    page,
  }) => {
    await openPage(page);
    const handle = await page.evaluateHandle(() => new Float32Array([0.1, Number.NaN, -0]));
    await expectArray(page, handle).toEqualArray([0.1, Number.NaN, 0]);
    await expectArray(page, handle).toEqualArray(new Float32Array([0.1, Number.NaN, 0]));
    await expect(expectArray(page, handle).toEqualArray([0.1, Number.NaN, 1])).rejects.toThrow(
      "expectArray(handle).toEqualArray(array [3]): 1 of 3 elements differ (float32 [3]): first at index 2: expected 1, got -0",
    );
    await expectArray(page, () => ({ array: new Int8Array([1, 2, 3, 4]), shape: [2, 2] })).toHaveShape([2, 2]);
    await expect(expectArray(page, () => 42).toHaveLength(1)).rejects.toThrow(
      /^expectArray\(.*\)\.toHaveLength\(1\): expected a typed array \(or an object whose `array` is one\), got number$/,
    );
  });

  test.describe
    .serial("publish in a test", () => {
      test("publishes an array for one test", async ({ page, arraywire }) => {
        arraywire.publish("temporary", new Int16Array([1, 2, 3]));
        await openPage(page);
        expect((await run(page, { endpoint: arraywire.url, name: "temporary" })).ok).toBe(true);
        await expectArray(page, "temporary").toEqualArray([1, 2, 3]);
      });

      test("which the next test no longer finds", async ({ page, arraywire }) => {
        await openPage(page);
        const s = await run(page, { endpoint: arraywire.url, name: "temporary" });
        expect(s).toMatchObject({ ok: false, code: "E_UNKNOWN_NAME" });
        await expect(expectArray(page, "temporary").toHaveLength(3)).rejects.toThrow(
          /^expectArray\("temporary"\)\.toHaveLength\(3\): expected a completed transfer, got a failed one: StreamError E_UNKNOWN_NAME: .+/,
        );
      });
    });
});

test.describe("failure messages", () => {
  test.beforeEach(async ({ page, arraywire }) => {
    await openPage(page);
    await run(page, { endpoint: arraywire.url, name: "prices" });
    await run(page, { endpoint: arraywire.url, name: "counts" });
  });

  const dims = `[${LENGTH / 4}, 4]`;
  const cases: [string, (page: Page) => Promise<void>, string][] = [
    [
      "toHaveChecksum",
      (page) => expectArray(page, "prices").toHaveChecksum(1),
      `expectArray("prices").toHaveChecksum(0x00000001): expected XXH32 0x00000001, got 0x${arrayChecksum(prices)
        .toString(16)
        .padStart(8, "0")} (float64 ${dims}, ${LENGTH * 8} bytes)`,
    ],
    [
      "toHaveLength",
      (page) => expectArray(page, "prices").toHaveLength(LENGTH - 1),
      `expectArray("prices").toHaveLength(${LENGTH - 1}): expected ${LENGTH - 1} elements, got ${LENGTH} (float64 ${dims})`,
    ],
    [
      "toHaveShape",
      (page) => expectArray(page, "prices").toHaveShape([LENGTH]),
      `expectArray("prices").toHaveShape([${LENGTH}]): expected shape [${LENGTH}], got ${dims} (float64)`,
    ],
    [
      "toHaveDtype",
      (page) => expectArray(page, "prices").toHaveDtype("float32"),
      `expectArray("prices").toHaveDtype("float32"): expected dtype float32, got float64 (${dims})`,
    ],
    [
      "toHaveValuesAt",
      (page) => expectArray(page, "prices").toHaveValuesAt({ 16: 1, 17: 0, [LENGTH]: 1 }),
      `expectArray("prices").toHaveValuesAt({ 16: 1, 17: 0, ${LENGTH}: 1 }): 2 of 3 indices differ (float64 ${dims}): at 17 expected 0, got 1.25; at ${LENGTH} expected 1, got nothing (out of bounds)`,
    ],
    [
      "toEqualArray",
      (page) => {
        const wrong = counts.slice();
        wrong[500] = 7n;
        wrong[998] = 0n;
        return expectArray(page, "counts").toEqualArray(wrong);
      },
      'expectArray("counts").toEqualArray(biguint64 [1000]): 2 of 1000 elements differ (biguint64 [1000]): first at index 500: expected 7n, got 1500n; then at 998 expected 0n, got 2994n',
    ],
    [
      "toEqualArray (length)",
      (page) => expectArray(page, "counts").toEqualArray(counts.subarray(0, 999)),
      'expectArray("counts").toEqualArray(biguint64 [999]): expected 999 elements, got 1000 (biguint64 [1000])',
    ],
    [
      "toEqualArray (dtype)",
      (page) => expectArray(page, "counts").toEqualArray(new Float64Array(1000)),
      'expectArray("counts").toEqualArray(float64 [1000]): expected dtype float64 (the expected array\'s), got biguint64 (biguint64 [1000])',
    ],
    [
      "an unknown key",
      (page) => expectArray(page, "volumes", { timeout: 200 }).toHaveLength(1),
      'expectArray("volumes").toHaveLength(1): expected a transfer "volumes" in this page, got none (it has "prices", "counts"); a fetch is recorded under its track option, else the array\'s name',
    ],
  ];
  for (const [matcher, assertion, message] of cases) {
    test(`${matcher}: a wrong expectation fails with where and how it differs`, async ({ page }) => {
      const error = await assertion(page).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArrayAssertionError);
      expect((error as Error).message).toBe(message);
    });
  }

  test("a failing matcher fails the test (expected to fail)", async ({ page }) => {
    test.fail();
    await expectArray(page, "prices").toHaveValuesAt({ 1: 0 });
  });
});
