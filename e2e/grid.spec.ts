/**
 * The browser grid: the library itself (client/index.ts, bundled from source into the harness
 * page, e2e/harness/) in real Chromium, over transport {http, ws} x target {allocated, into} x
 * {straight, cut mid-stream with resume} x {whole array, range in the middle}, for float64 and
 * biguint64 arrays of 24 MB; the page checks every element and reports counts only. Cuts are real:
 * the harness's TCP proxy cuts the first attempt's connection 5,000,003 bytes after the response
 * head, mid-chunk. Then the browser-only failure paths: a throwing onProgress, the idle timeout,
 * the close code after a text frame, and SECURITY.md's token example against an authenticate hook.
 */
import { createHash } from "node:crypto";
import { expect, type Page, test } from "@playwright/test";
import { PAGE_ORIGIN, TOKEN } from "./harness/config.ts";
import type { CutStats } from "./harness/cutting-proxy.ts";
import type { GridCase, GridSummary } from "./harness/page.ts";
import { GRID_LENGTH, GRID_RANGE, makeFloat64 } from "./harness/values.ts";

/** Where the proxy cuts a first attempt: mid-chunk, well inside the smallest transfer (18.5 MB). */
const CUT_AT = 5_000_003;
/** A cut that never comes: the proxy then only counts the attempts. */
const NEVER = 1e12;

let nextId = 0;
/** An endpoint through the cutting proxy, with an id of its own. */
function cutEndpoint(cutAt: number, path = "/arraywire"): { endpoint: string; id: string } {
  const id = `t${process.pid}-${Date.now()}-${nextId++}`;
  return { endpoint: `/cut/${id}/${cutAt}${path}`, id };
}

async function openPage(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${PAGE_ORIGIN}/`);
  await page.waitForFunction(() => document.getElementById("status")?.textContent === "ready");
  return errors;
}

function run(page: Page, c: GridCase): Promise<GridSummary> {
  return page.evaluate((gridCase) => window.__grid.run(gridCase), c);
}

async function harness<T>(page: Page, path: string): Promise<T> {
  const response = await page.request.get(`${PAGE_ORIGIN}${path}`);
  return (await response.json()) as T;
}

test.describe("grid: every element, both transports, both targets, cut and resumed", () => {
  for (const dtype of ["float64", "biguint64"] as const) {
    for (const transport of ["http", "ws"] as const) {
      for (const target of ["allocated", "into"] as const) {
        for (const mode of ["straight", "cut + resume"] as const) {
          for (const extent of ["whole", "range"] as const) {
            test(`${dtype} ${transport} ${target} ${mode} ${extent}`, async ({ page }) => {
              const errors = await openPage(page);
              const cut = mode === "cut + resume" ? cutEndpoint(CUT_AT) : null;
              const range = extent === "range" ? GRID_RANGE : undefined;
              const [start, end] = range ?? [0, GRID_LENGTH];
              const s = await run(page, {
                endpoint: cut?.endpoint ?? "/arraywire",
                name: dtype === "float64" ? "f64" : "u64",
                transport,
                check: dtype,
                into: target === "into",
                range,
                resume: cut !== null,
              });
              expect(s, JSON.stringify(s)).toMatchObject({
                ok: true,
                dtype,
                length: end - start,
                mismatches: 0,
                firstMismatch: null,
                shape: [end - start],
                arrayShape: [GRID_LENGTH],
                range: [start, end],
                progressMonotonic: true,
                lastProgress: (end - start) * 8,
                pageErrors: [],
              });
              if (target === "into") expect(s.intoKept).toBe(true);
              if (cut) {
                const stats = await harness<CutStats>(page, `/cut-stats?id=${cut.id}`);
                expect(stats.cuts).toBe(1);
                expect(stats.requests).toHaveLength(2);
                if (transport === "http") {
                  // The second GET continues from the last byte held: never 0, never past the cut.
                  const resume = Number(new URL(stats.requests[1] as string, PAGE_ORIGIN).searchParams.get("resume"));
                  expect(resume).toBeGreaterThan(0);
                  expect(resume).toBeLessThan(CUT_AT);
                }
              }
              expect(errors).toEqual([]);
            });
          }
        }
      }
    }
  }
});

test.describe("failure paths in the browser", () => {
  for (const transport of ["http", "ws"] as const) {
    test(`a throwing onProgress rejects with the page's own error, once, with resume on (${transport})`, async ({
      page,
    }) => {
      const errors = await openPage(page);
      const { endpoint, id } = cutEndpoint(NEVER);
      const s = await run(page, { endpoint, name: "f64", transport, resume: true, throwInProgress: true });
      expect(s).toMatchObject({
        ok: false,
        sameError: true,
        message: "thrown by onProgress",
        progressCount: 1,
        pageErrors: [],
      });
      await page.waitForTimeout(200); // a retry would come within ~10 ms
      expect((await harness<CutStats>(page, `/cut-stats?id=${id}`)).requests).toHaveLength(1);
      expect(errors).toEqual([]);
    });

    test(`the idle timeout fails a silent stream with E_TIMEOUT, and resume retries it (${transport})`, async ({
      page,
    }) => {
      const errors = await openPage(page);
      const before = await harness<number>(page, "/silent/count");
      const s = await run(page, { endpoint: "/silent", name: "f64", transport, idleTimeoutMs: 1000 });
      expect(s).toMatchObject({ ok: false, name: "StreamError", code: "E_TIMEOUT", pageErrors: [] });
      expect(s.elapsedMs).toBeGreaterThanOrEqual(1000);
      expect(s.elapsedMs).toBeLessThan(1000 + 10_000);
      expect(await harness<number>(page, "/silent/count")).toBe(before + 1);
      const resumed = await run(page, {
        endpoint: "/silent",
        name: "f64",
        transport,
        idleTimeoutMs: 1000,
        resume: true,
        resumeAttempts: 1,
      });
      expect(resumed).toMatchObject({ ok: false, code: "E_TIMEOUT" });
      expect(await harness<number>(page, "/silent/count")).toBe(before + 3);
      expect(errors).toEqual([]);
    });
  }

  test("a text frame fails the stream with E_PROTOCOL and closes the socket with 4002, a code browsers allow", async ({
    page,
  }) => {
    const errors = await openPage(page);
    const console: string[] = [];
    page.on("console", (m) => console.push(m.text()));
    const before = (await harness<number[]>(page, "/text-frame/closes")).length;
    const s = await run(page, { endpoint: "/text-frame", name: "f64", transport: "ws" });
    expect(s).toMatchObject({ ok: false, code: "E_PROTOCOL", causeCode: "E_TEXT_FRAME", pageErrors: [] });
    await expect.poll(() => harness<number[]>(page, "/text-frame/closes")).toHaveLength(before + 1);
    expect((await harness<number[]>(page, "/text-frame/closes")).at(-1)).toBe(4002);
    expect(console.join("\n")).not.toContain("InvalidAccessError");
    expect(errors).toEqual([]);
  });

  test("SECURITY.md's token example works with fetchArray's defaults: protocols make auto pick ws", async ({
    page,
  }) => {
    const errors = await openPage(page);
    const token = cutEndpoint(NEVER, "/secure");
    const s = await run(page, { endpoint: token.endpoint, name: "f64", protocols: [`arraywire.token.${TOKEN}`] });
    expect(s, JSON.stringify(s)).toMatchObject({ ok: true, length: 1000 });
    // One attempt, a WebSocket upgrade (an HTTP GET would carry ?name=).
    expect((await harness<CutStats>(page, `/cut-stats?id=${token.id}`)).requests).toEqual(["/secure"]);
    // The hook does refuse: no token (auto is http in Chromium), or a wrong one (the refused
    // upgrade is probed: E_UNAUTHORIZED, not "closed with 1006").
    expect(await run(page, { endpoint: "/secure", name: "f64" })).toMatchObject({ ok: false, code: "E_UNAUTHORIZED" });
    expect(await run(page, { endpoint: "/secure", name: "f64", protocols: ["arraywire.token.wrong"] })).toMatchObject({
      ok: false,
      code: "E_UNAUTHORIZED",
    });
    expect(errors).toEqual([]);
  });
});

test.describe("compression over WebSocket in Chromium", () => {
  const range = GRID_RANGE;
  const raw = (range[1] - range[0]) * 8;
  const expectedSha256 = createHash("sha256")
    .update(
      new Uint8Array(
        makeFloat64(GRID_LENGTH)
          .subarray(...range)
          .slice().buffer,
      ),
    )
    .digest("hex");

  test('compression "on" (the loopback default is off): decoded in the page, every value and the SHA-256 checked, fewer bytes received', async ({
    page,
  }) => {
    const errors = await openPage(page);
    const on = await run(page, {
      endpoint: "/arraywire",
      name: "f64",
      range,
      check: "float64",
      compression: "on",
      countWire: true,
      sha256: true,
    });
    expect(on, JSON.stringify(on)).toMatchObject({ ok: true, length: range[1] - range[0], mismatches: 0 });
    expect(on.sha256).toBe(expectedSha256);
    expect(on.wireByteLength).toBeLessThan(raw / 1.2);
    // The same fetch with the default ("auto" on loopback: nothing offered) receives every byte raw.
    const auto = await run(page, {
      endpoint: "/arraywire",
      name: "f64",
      range,
      check: "float64",
      countWire: true,
      sha256: true,
    });
    expect(auto, JSON.stringify(auto)).toMatchObject({ ok: true, mismatches: 0 });
    expect(auto.sha256).toBe(expectedSha256);
    expect(auto.wireByteLength).toBeGreaterThan(raw);
    expect(errors).toEqual([]);
  });

  test('compression "on" over HTTP: a Content-Encoding zstd body decoded by Chromium, every value and the SHA-256 checked', async ({
    page,
  }) => {
    const errors = await openPage(page);
    const on = await run(page, {
      endpoint: "/arraywire",
      name: "f64",
      range,
      check: "float64",
      transport: "http",
      compression: "on",
      sha256: true,
      bodySizes: true,
    });
    expect(on, JSON.stringify(on)).toMatchObject({ ok: true, length: range[1] - range[0], mismatches: 0 });
    expect(on.sha256).toBe(expectedSha256);
    expect(on.bodyUrl, JSON.stringify(on)).toContain("compress=zstd");
    expect(on.decodedBodySize).toBeGreaterThan(raw);
    expect(on.encodedBodySize).toBeLessThan(raw / 1.2);
    const off = await run(page, {
      endpoint: "/arraywire",
      name: "f64",
      range,
      check: "float64",
      transport: "http",
      bodySizes: true,
    });
    expect(off, JSON.stringify(off)).toMatchObject({ ok: true, mismatches: 0 });
    expect(off.bodyUrl).not.toContain("compress=");
    expect(off.encodedBodySize).toBeGreaterThan(raw);
    expect(errors).toEqual([]);
  });
});
