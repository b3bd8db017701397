/**
 * Cross-origin pages and refusals in real Chromium (issue 11 items 2 and 4), on both transports:
 * a page on one origin reads arrays from another when allowedOrigins lists it (CORS over HTTP,
 * with and without a preflight, with a cookie; the Origin check at the upgrade), and each refusal
 * reaches the page with its own code and a message that says what to change, although Chromium
 * hides a refused upgrade's status (the client probes). Servers: e2e/harness/cross-origin.ts,
 * started here; Chromium maps arrays.test to 127.0.0.1 for the Host refusal.
 */
import { chromium, expect, type Page, test } from "@playwright/test";
import { findChromium } from "../scripts/browser.mjs";
import {
  ARRAYS_ORIGIN,
  CROSS_LENGTH,
  type CrossServers,
  OWNED_ORIGIN,
  PAGE_ORIGIN,
  startCrossOrigin,
  TOKEN,
  UNLISTED_HOST,
} from "./harness/cross-origin.ts";
import type { CrossCase, CrossSummary } from "./harness/cross-origin-page.ts";
import { PORTS } from "./harness/my-ports.ts";

const browser = findChromium({ playwrightPath: chromium.executablePath() });
test.use({
  launchOptions: {
    executablePath: browser.source === "env" || browser.source === "system" ? browser.executablePath : undefined,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--host-resolver-rules=MAP ${UNLISTED_HOST} 127.0.0.1`,
    ],
  },
});

let servers: CrossServers;
test.beforeAll(async () => {
  servers = await startCrossOrigin();
});
test.afterAll(() => servers?.close());

async function openPage(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${PAGE_ORIGIN}/`);
  await page.waitForFunction(() => document.getElementById("status")?.textContent === "ready");
  return errors;
}

function run(page: Page, c: CrossCase): Promise<CrossSummary> {
  return page.evaluate((crossCase) => window.__cross.run(crossCase), c);
}

const RANGE: [number, number] = [123_457, 1_876_543];
const whole = { ok: true, length: CROSS_LENGTH, mismatches: 0 };

for (const transport of ["http", "ws"] as const) {
  test.describe(`a page on another origin, over ${transport}`, () => {
    test("reads arrays from a server that lists its origin, or allows any", async ({ page }) => {
      const errors = await openPage(page);
      for (const path of ["/open", "/star"]) {
        const s = await run(page, { url: `${ARRAYS_ORIGIN}${path}`, name: "f64", transport });
        expect(s, `${path}: ${JSON.stringify(s)}`).toMatchObject(whole);
        expect(s.progressCalls).toBeGreaterThan(0);
      }
      const ranged = await run(page, { url: `${ARRAYS_ORIGIN}/open`, name: "f64", transport, range: RANGE });
      expect(ranged).toMatchObject({ ok: true, length: RANGE[1] - RANGE[0], mismatches: 0 });
      expect(errors).toEqual([]);
    });

    test("authenticates with a token: a header (HTTP, preflighted) or a subprotocol (ws)", async ({ page }) => {
      await openPage(page);
      const auth =
        transport === "http"
          ? { headers: { Authorization: `Bearer ${TOKEN}` } }
          : { protocols: [`arraywire.token.${TOKEN}`] };
      const s = await run(page, { url: `${ARRAYS_ORIGIN}/auth`, name: "f64", transport, ...auth });
      expect(s, JSON.stringify(s)).toMatchObject(whole);
    });

    test("E_UNAUTHORIZED without a token, once, never retried by resume", async ({ page }) => {
      await openPage(page);
      const before = servers.seen.length;
      const s = await run(page, { url: `${ARRAYS_ORIGIN}/auth`, name: "f64", transport, resume: true });
      expect(s).toMatchObject({ ok: false, code: "E_UNAUTHORIZED" });
      expect(s.message).toBe(
        `Authentication failed at ${ARRAYS_ORIGIN}/auth: the server's authenticate hook refused this request; send a token (protocols: ["arraywire.token.<token>"] in browsers (the ws transport), headers: { Authorization: "Bearer <token>" } in Node, or the arraywire_token cookie)`,
      );
      await page.waitForTimeout(300); // resume's first retry would come after ~10 ms
      expect(servers.seen.slice(before)).toEqual(transport === "http" ? ["GET /auth"] : ["UPGRADE /auth", "GET /auth"]);
    });

    test("E_FORBIDDEN_ORIGIN names the page's origin and the fix", async ({ page }) => {
      await openPage(page);
      for (const path of ["/closed", "/default"]) {
        const s = await run(page, { url: `${ARRAYS_ORIGIN}${path}`, name: "f64", transport, resume: true });
        expect(s, path).toMatchObject({
          ok: false,
          code: "E_FORBIDDEN_ORIGIN",
          message: `Origin ${PAGE_ORIGIN} is not allowed by the server at ${ARRAYS_ORIGIN}: add it to allowedOrigins`,
        });
      }
    });

    test("E_FORBIDDEN_HOST names the host and allowedHosts", async ({ page }) => {
      await openPage(page);
      const url = `http://${UNLISTED_HOST}:${PORTS.crossArrays}/open`;
      const s = await run(page, { url, name: "f64", transport });
      expect(s).toMatchObject({
        ok: false,
        code: "E_FORBIDDEN_HOST",
        message: `Host ${UNLISTED_HOST}:${PORTS.crossArrays} is not allowed by the server at http://${UNLISTED_HOST}:${PORTS.crossArrays}: add it to allowedHosts (a guard against DNS rebinding; localhost and IP addresses always pass)`,
      });
    });

    test("E_NOT_FOUND for a path an arraywire server does not serve, with the path it does", async ({ page }) => {
      await openPage(page);
      const s = await run(page, { url: `${OWNED_ORIGIN}/arrays`, name: "f64", transport });
      expect(s).toMatchObject({
        ok: false,
        code: "E_NOT_FOUND",
        message: `No arraywire endpoint at /arrays on ${OWNED_ORIGIN}: check the path, or mount arrays.middleware (or handleRequest) there; the server says: Nothing is served here: arraywire streams are at /arraywire (WebSocket, or GET /arraywire?name=...)`,
      });
    });

    test("E_NOT_FOUND on the page's own server when another app answers the path (an upgrade nobody answers times out)", async ({
      page,
    }) => {
      await openPage(page);
      const s = await run(page, { url: "/arraywires", name: "f64", transport, connectTimeoutMs: 1500 });
      expect(s).toMatchObject({
        ok: false,
        code: "E_NOT_FOUND",
        message: `No arraywire endpoint at /arraywires on ${PAGE_ORIGIN} (HTTP 404 with content-type "text/html": another app answers there): check the path, or mount arrays.middleware (or handleRequest) there, or add the arraywire/vite plugin`,
      });
      if (transport === "ws") {
        expect(s.elapsedMs).toBeGreaterThanOrEqual(1400);
        expect(s.elapsedMs).toBeLessThan(10_000);
      }
      // And the same-origin endpoint next to it works (a relative URL resolves against the page).
      expect(await run(page, { url: "/arraywire", name: "f64", transport })).toMatchObject(whole);
    });

    test("a server that is not there: E_CONNECTION_CLOSED with the likely causes", async ({ page }) => {
      await openPage(page);
      const gone = `http://127.0.0.1:${PORTS.preview}`; // nothing listens there during this test
      const s = await run(page, { url: `${gone}/arraywire`, name: "f64", transport });
      expect(s).toMatchObject({ ok: false, code: "E_CONNECTION_CLOSED" });
      expect(s.message).toContain(`Likely causes: the server is not running or not reachable at ${gone}`);
      expect(s.message).toContain(`the page's origin ${PAGE_ORIGIN} is not in the server's allowedOrigins`);
    });
  });
}

test.describe("CORS details in Chromium", () => {
  test("a preflight from a refused origin: the plain probe still finds E_FORBIDDEN_ORIGIN", async ({ page }) => {
    await openPage(page);
    const s = await run(page, {
      url: `${ARRAYS_ORIGIN}/closed`,
      name: "f64",
      transport: "http",
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(s).toMatchObject({ ok: false, code: "E_FORBIDDEN_ORIGIN" });
  });

  test('credentials: "include" against allowedOrigins "*": the browser refuses, and the message says CORS did', async ({
    page,
  }) => {
    await openPage(page);
    const s = await run(page, { url: `${ARRAYS_ORIGIN}/star`, name: "f64", transport: "http", credentials: "include" });
    expect(s).toMatchObject({ ok: false, code: "E_CONNECTION_CLOSED" });
    expect(s.message).toContain(
      `though a plain probe of it passes: the request's headers or credentials were refused by the browser's CORS check (the server's allowedOrigins must list ${PAGE_ORIGIN}`,
    );
  });

  test("a cookie goes cross-origin with credentials: include (HTTP) and on a WebSocket, not by default", async ({
    page,
    context,
  }) => {
    await context.addCookies([
      { name: "arraywire_token", value: TOKEN, domain: "127.0.0.1", path: "/", sameSite: "Lax" },
    ]);
    await openPage(page);
    const url = `${ARRAYS_ORIGIN}/auth`;
    expect(await run(page, { url, name: "f64", transport: "http", credentials: "include" })).toMatchObject(whole);
    expect(await run(page, { url, name: "f64", transport: "ws" })).toMatchObject(whole);
    expect(await run(page, { url, name: "f64", transport: "http" })).toMatchObject({
      ok: false,
      code: "E_UNAUTHORIZED",
    });
  });
});
