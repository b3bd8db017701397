/**
 * Uploads, subscriptions and discovery in real Chromium, through the library itself (bundled from
 * source into the grid harness page, e2e/harness/page-extensions.ts): the page uploads a 24 MB
 * float64 array over the WebSocket (straight, and cut mid-upload then resumed), follows a live
 * array into a resizable ArrayBuffer while the test appends to it (whole, and a range in the
 * middle), and lists and stats what the server publishes. The page checks every element.
 */
import { expect, type Page, test } from "@playwright/test";
import { PAGE_ORIGIN } from "./harness/config.ts";
import type { CutStats } from "./harness/cutting-proxy.ts";
import type { ExtensionSummary } from "./harness/page-extensions.ts";
import { GRID_LENGTH } from "./harness/values.ts";

let nextId = 0;
function unique(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now()}-${nextId++}`;
}

async function openPage(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${PAGE_ORIGIN}/`);
  await page.waitForFunction(() => document.getElementById("status")?.textContent === "ready");
  return errors;
}

async function harness<T>(page: Page, path: string): Promise<T> {
  const response = await page.request.get(`${PAGE_ORIGIN}${path}`);
  return (await response.json()) as T;
}

test.describe("uploads from the browser", () => {
  test("uploads a 24 MB float64 array over the WebSocket; it comes back byte for byte", async ({ page }) => {
    const errors = await openPage(page);
    const name = unique("up");
    const s = await page.evaluate((c) => window.__extensions.upload(c), {
      endpoint: "/extensions",
      name,
      length: GRID_LENGTH,
    });
    expect(s, JSON.stringify(s)).toMatchObject({
      ok: true,
      byteLength: GRID_LENGTH * 8,
      backLength: GRID_LENGTH,
      backMeta: { from: "browser" },
      mismatches: 0,
      lastAcknowledged: GRID_LENGTH * 8,
      ackMonotonic: true,
    });
    // Never more than the server's credit window (8 MiB) in flight.
    expect(s.maxInFlight as number).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(errors).toEqual([]);
  });

  test("resumes an upload cut mid-way from the server's last byte", async ({ page }) => {
    const errors = await openPage(page);
    const id = unique("cut");
    // The first connection is cut after the ACCEPT (2 + 40 bytes) and two CREDITs (2 + 24 each).
    const s = await page.evaluate((c) => window.__extensions.upload(c), {
      endpoint: `/cut/${id}/94/extensions`,
      name: unique("resumed"),
      length: GRID_LENGTH,
      resume: true,
    });
    expect(s, JSON.stringify(s)).toMatchObject({ ok: true, backLength: GRID_LENGTH, mismatches: 0 });
    const stats = await harness<CutStats>(page, `/cut-stats?id=${id}`);
    expect(stats.cuts).toBe(1);
    expect(stats.requests).toEqual(["/extensions", "/extensions"]);
    expect(errors).toEqual([]);
  });

  test("a server without uploads refuses with E_UNEXPECTED_MESSAGE", async ({ page }) => {
    const errors = await openPage(page);
    const s = await page.evaluate((c) => window.__extensions.upload(c), {
      endpoint: "/arraywire",
      name: "x",
      length: 10,
    });
    expect(s).toMatchObject({ ok: false, code: "E_UNEXPECTED_MESSAGE" });
    expect(errors).toEqual([]);
  });
});

test.describe("subscriptions in the browser", () => {
  for (const extent of ["whole", "range"] as const) {
    test(`follows a live array as it grows, into one resizable buffer (${extent})`, async ({ page }) => {
      const errors = await openPage(page);
      const name = unique("live");
      // 200 rows of 512 float64 exist before the page subscribes.
      await harness(page, `/live/new?name=${name}&rows=200&row=512`);
      const range: [number, number] | undefined = extent === "range" ? [70_001, 250_003] : undefined;
      const pending = page.evaluate((c) => window.__extensions.follow(c), { endpoint: "/extensions", name, range });
      for (let i = 0; i < 5; i++) {
        await page.waitForTimeout(100);
        await harness(page, `/live/append?name=${name}&rows=60`);
      }
      await harness(page, `/live/close?name=${name}`);
      const s = (await pending) as ExtensionSummary;
      const total = 500 * 512;
      const [start, end] = range ?? [0, total];
      expect(s, JSON.stringify(s).slice(0, 500)).toMatchObject({
        ok: true,
        length: end - start,
        range: [start, end],
        arrayShape: [500, 512],
        oneBuffer: true,
        resizable: true,
        appendedOk: true,
        mismatches: 0,
      });
      const updates = s.updates as number[];
      expect(updates.length).toBeGreaterThanOrEqual(2);
      expect(updates.every((n, i) => i === 0 || n > (updates[i - 1] as number))).toBe(true);
      expect(updates.at(-1)).toBe(end - start);
      expect(errors).toEqual([]);
    });
  }

  test("lists and stats what the server publishes", async ({ page }) => {
    const errors = await openPage(page);
    const name = unique("listed");
    await harness(page, `/live/new?name=${name}&rows=3&row=4`);
    const s = await page.evaluate((c) => window.__extensions.discover(c), { endpoint: "/extensions", stat: name });
    expect(s.ok).toBe(true);
    const names = s.names as string[];
    expect(names).toContain("f64");
    expect(names).toContain(name);
    expect((s.kinds as string[])[names.indexOf(name)]).toBe("live");
    expect(s.stat).toMatchObject({ name, kind: "live", live: true, dtype: "float64", shape: [3, 4], byteLength: 96 });
    expect(errors).toEqual([]);
  });
});
