/**
 * The dashboard's Live signal and Upload cards against server/demo.ts: the page subscribes to the
 * live "live-signal" and plots it as it grows; a .npy file picked in the page (generated here, one
 * little-endian and one big-endian) is parsed in the page, uploaded with progress and listed, and
 * the server then serves exactly its values (read back here with the Node client).
 */
import { expect, type Page, test } from "@playwright/test";
import type { LiveState } from "../client/demo/live.ts";
import type { UploadState } from "../client/demo/upload.ts";
import { fetchArray } from "../client/index.ts";
import { encodeNpyHeader } from "../shared/index.ts";

function readLive(page: Page): Promise<LiveState> {
  return page.evaluate(() => window.__arraywireLive);
}

function readUpload(page: Page): Promise<UploadState> {
  return page.evaluate(() => window.__arraywireUpload);
}

/** A .npy file: numpy.save's header for `dtype` and `shape`, then `data` as is. */
function npyFile(dtype: "float64" | "int32", shape: number[], data: Uint8Array, bigEndian = false): Buffer {
  let header = encodeNpyHeader({ dtype, shape });
  if (bigEndian) {
    // Same length: '<i4' becomes '>i4' in the dict literal.
    header = Buffer.from(Buffer.from(header).toString("latin1").replace("'<i4'", "'>i4'"), "latin1");
  }
  return Buffer.concat([header, data]);
}

test.describe("the live signal", () => {
  test("subscribes, plots the signal as it grows into one resizable buffer, and stops", async ({ page }) => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto("/");
    await page.getByRole("button", { name: "Subscribe" }).click();
    await page.waitForFunction(() => (window.__arraywireLive?.updates ?? 0) >= 3, undefined, { timeout: 30_000 });
    const first = await readLive(page);
    await page.waitForFunction((n) => window.__arraywireLive.length > n, first.length, { timeout: 30_000 });
    const later = await readLive(page);
    expect(later).toMatchObject({ status: "live", oneResizableBuffer: true, finite: true, errorCode: null });
    expect(later.length % 100).toBe(0); // whole rows of 100 samples
    await expect(page.locator("#live-empty")).toBeHidden();
    await expect(page.locator("#live-note")).toContainText("rows of 100 samples");
    await page.getByRole("button", { name: "Stop" }).click();
    await expect.poll(async () => (await readLive(page)).status).toBe("idle");
    expect(errors).toEqual([]);
  });
});

test.describe("uploads from the dashboard", () => {
  test("uploads a picked little-endian .npy, shows its progress, lists it, and the server has its values", async ({
    page,
    baseURL,
  }) => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto("/");
    const values = Float64Array.from({ length: 300_000 }, (_, i) => Math.cos(i / 1000) * i);
    const file = `e2e-${Date.now()}.npy`;
    await page.locator("#upload-file").setInputFiles({
      name: file,
      mimeType: "application/octet-stream",
      buffer: npyFile("float64", [1000, 300], new Uint8Array(values.buffer)),
    });
    await page.waitForFunction(() => ["done", "error"].includes(window.__arraywireUpload.status), undefined, {
      timeout: 60_000,
    });
    const s = await readUpload(page);
    expect(s).toMatchObject({ status: "done", name: `upload/${file}`, byteLength: 2_400_000, errorCode: null });
    expect(s.progress.at(-1)).toBe(2_400_000);
    expect(s.progress.every((p, i) => i === 0 || p >= (s.progress[i - 1] as number))).toBe(true);
    expect(s.listed).toContain(`upload/${file}`);
    await expect(page.locator("#published")).toContainText(`upload/${file}`);
    const back = await fetchArray(new URL("/arraywire", baseURL), `upload/${file}`);
    expect(back.shape).toEqual([1000, 300]);
    expect(back.meta).toMatchObject({ file, descr: "<f8" });
    expect(Buffer.compare(Buffer.from(back.array.buffer), Buffer.from(values.buffer))).toBe(0);
    expect(errors).toEqual([]);
  });

  test("swaps a big-endian .npy to the host's order on the way up", async ({ page, baseURL }) => {
    await page.goto("/");
    const values = Int32Array.from({ length: 1001 }, (_, i) => (i - 500) * 65537);
    const big = new Uint8Array(values.byteLength);
    new DataView(big.buffer).setInt32(0, 0);
    for (let i = 0; i < values.length; i++) new DataView(big.buffer).setInt32(i * 4, values[i] as number, false);
    const file = `e2e-big-${Date.now()}.npy`;
    await page
      .locator("#upload-file")
      .setInputFiles({ name: file, mimeType: "application/octet-stream", buffer: npyFile("int32", [1001], big, true) });
    await page.waitForFunction(() => ["done", "error"].includes(window.__arraywireUpload.status), undefined, {
      timeout: 60_000,
    });
    expect(await readUpload(page)).toMatchObject({ status: "done" });
    const back = await fetchArray(new URL("/arraywire", baseURL), `upload/${file}`);
    expect([...back.array]).toEqual([...values]);
  });

  test("refuses a file that is not .npy with a typed error, and uploads nothing", async ({ page }) => {
    await page.goto("/");
    await page.locator("#upload-file").setInputFiles({
      name: "not.npy",
      mimeType: "application/octet-stream",
      buffer: Buffer.from("hello, not numpy"),
    });
    await page.waitForFunction(() => ["done", "error"].includes(window.__arraywireUpload.status));
    expect(await readUpload(page)).toMatchObject({ status: "error", errorCode: "E_NPY_BAD_MAGIC" });
    await expect(page.locator("#upload-status")).toContainText("Upload failed");
  });
});
