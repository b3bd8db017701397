// tests/prices.spec.ts
import { expect } from "@playwright/test";
import { arrayChecksum, expectArray, readProgress, test, waitForArray } from "arraywire/playwright";

// 10,000,000 float64 values (80 MB), published by this test worker's own ArrayServer.
const prices = Float64Array.from({ length: 10_000_000 }, (_, i) => i / 4);
test.use({ arrays: { prices } });

for (const thread of ["main", "worker"]) {
  test(`the dashboard receives the prices (${thread} thread)`, async ({ page, arraywire }) => {
    // arraywire.url is http://127.0.0.1:<port>/arraywire (another origin: the server answers with CORS).
    await page.goto(`/?arrays=${encodeURIComponent(arraywire.url)}${thread === "worker" ? "&worker" : ""}`);
    const transfer = await waitForArray(page, "prices");
    expect(transfer).toMatchObject({ state: "done", thread, length: prices.length, dtype: "float64" });

    // Computed in the page: the 80 MB never cross the DevTools protocol.
    const received = expectArray(page, "prices");
    await received.toHaveChecksum(arrayChecksum(prices));
    await received.toHaveShape([10_000_000]);
    await received.toHaveValuesAt({ 0: 0, 5000001: 1_250_000.25, 9999999: 2_499_999.75 });
    await expect(page.locator("#status")).toHaveText("received 10000000 prices");
    expect(await readProgress(page, "prices")).toMatchObject({ receivedByteLength: prices.byteLength });
  });
}

test("a wrong expectation says where the arrays differ", async ({ page, arraywire }) => {
  await page.goto(`/?arrays=${encodeURIComponent(arraywire.url)}`);
  await waitForArray(page, "prices");
  await expect(expectArray(page, "prices").toHaveValuesAt({ 2: 0.5, 3: 0 })).rejects.toThrow(
    'expectArray("prices").toHaveValuesAt({ 2: 0.5, 3: 0 }): 1 of 2 indices differ (float64 [10000000]): at 3 expected 0, got 0.75',
  );
});
