/**
 * The fixture's server (startArraywireServer) and expectArray's argument checks, in Node. The
 * fixture itself, and every matcher's message, run in Chromium in e2e/fixture.spec.ts.
 */
import { createServer, request } from "node:http";
import { describe, expect, it } from "vitest";
import { fetchArray } from "../../client/index.ts";
import { StreamError } from "../../shared/index.ts";
import { arange } from "../arange.ts";
import { expectArray, MAX_EQUAL_ELEMENTS, MAX_SAMPLED_INDICES } from "./expect-array.ts";
import type { PageLike } from "./inspect.ts";
import { startArraywireServer } from "./test-server.ts";

/** A GET with an Origin: status and headers. */
function get(url: string, headers: Record<string, string>, method = "GET") {
  return new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("startArraywireServer", () => {
  it("publishes the three forms of spec on 127.0.0.1, port 0, and serves them on both transports", async () => {
    const s = await startArraywireServer({
      plain: new Int32Array([1, 2, 3]),
      shaped: { array: new Float32Array(6), shape: [2, 3], meta: { unit: "m" } },
      generated: arange(),
    });
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/arraywire$/);
      expect(s.wsUrl).toBe(s.url.replace("http:", "ws:"));
      expect(s.server.names().sort()).toEqual(["generated", "plain", "shaped"]);
      const shaped = await fetchArray(s.url, "shaped", { transport: "http" });
      expect(shaped).toMatchObject({ shape: [2, 3], meta: { unit: "m" }, dtype: "float32" });
      const generated = await fetchArray(s.wsUrl, "generated", { transport: "ws", params: { length: 5 } });
      expect([...generated.array]).toEqual([0, 1, 2, 3, 4]);
      s.publish("late", new Uint8Array([9]));
      expect([...(await fetchArray(s.url, "late")).array]).toEqual([9]);
    } finally {
      await s.close();
    }
  });

  it("answers another origin's GET with CORS (any origin, no credentials), and a preflight for requests with headers", async () => {
    const s = await startArraywireServer({ plain: new Int32Array([1]) });
    try {
      const origin = "http://localhost:5173";
      const got = await get(`${s.url}?name=plain`, { origin });
      expect(got.status).toBe(200);
      expect(got.headers["access-control-allow-origin"]).toBe("*");
      expect(got.headers["access-control-allow-credentials"]).toBeUndefined();
      expect(got.headers["cross-origin-resource-policy"]).toBe("cross-origin");
      const none = await get(`${s.url}?name=plain`, {});
      expect(none.headers["access-control-allow-origin"]).toBeUndefined();
      const preflight = await get(
        s.url,
        { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
        "OPTIONS",
      );
      expect(preflight.status).toBe(204);
      expect(preflight.headers["access-control-allow-headers"]).toBe("authorization");
      expect((await get(`${s.url.replace("/arraywire", "/other")}`, { origin })).status).toBe(404);
    } finally {
      await s.close();
    }
  });

  it("keeps a stricter allowedOrigins the caller passes", async () => {
    const s = await startArraywireServer({ plain: new Int32Array([1]) }, { allowedOrigins: ["http://ok.test"] });
    try {
      const ok = await get(`${s.url}?name=plain`, { origin: "http://ok.test" });
      expect(ok.status).toBe(200);
      expect(ok.headers["access-control-allow-origin"]).toBe("http://ok.test");
      expect(ok.headers["access-control-allow-credentials"]).toBe("true");
      const evil = await get(`${s.url}?name=plain`, { origin: "http://evil.test" });
      expect(evil.status).toBe(403);
      expect(evil.headers["access-control-allow-credentials"]).toBeUndefined();
      const preflight = await get(
        s.url,
        { origin: "http://evil.test", "access-control-request-method": "GET", "access-control-request-headers": "x-a" },
        "OPTIONS",
      );
      expect(preflight.status).toBe(403);
    } finally {
      await s.close();
    }
  });

  it("attaches to a server the caller owns, and leaves it running on close", async () => {
    const http = createServer();
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    const s = await startArraywireServer({ plain: new Int32Array([4]) }, { server: http, path: "/data" });
    try {
      expect(s.wsUrl).toMatch(/\/data$/);
      expect([...(await fetchArray(s.wsUrl, "plain", { transport: "ws" })).array]).toEqual([4]);
    } finally {
      await s.close();
    }
    expect(http.listening).toBe(true);
    await new Promise<void>((r) => http.close(() => r()));
  });

  it("refuses a spec of no known form with a TypeError, and frees its port", async () => {
    await expect(startArraywireServer({ bad: [1, 2, 3] as never })).rejects.toThrow(
      new TypeError(
        "Invalid arrays.bad: expected a typed array, an ArraySource or { array, shape?, meta? }, got 1,2,3",
      ),
    );
  });

  it("stops serving when closed", async () => {
    const s = await startArraywireServer({ plain: new Int32Array([1]) });
    await s.close();
    const err = await fetchArray(s.url, "plain", { transport: "http" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).code).toBe("E_CONNECTION_CLOSED");
  });
});

/** A page whose evaluate runs the page function here, on `target`. */
function fakePage(): PageLike {
  return {
    evaluate: async (fn: (arg: unknown) => unknown, arg: unknown) => fn(arg),
    evaluateHandle: async (fn: () => object) => Object.assign(fn(), { dispose: async () => {} }),
    waitForFunction: async () => {},
  } as unknown as PageLike;
}

describe("expectArray's bounds", () => {
  const page = fakePage();
  const handle = () => new Float64Array(MAX_EQUAL_ELEMENTS);

  it(`compares up to ${MAX_EQUAL_ELEMENTS} elements with toEqualArray, and refuses one more`, async () => {
    await expectArray(page, handle).toEqualArray(new Float64Array(MAX_EQUAL_ELEMENTS));
    await expect(expectArray(page, handle).toEqualArray(new Float64Array(MAX_EQUAL_ELEMENTS + 1))).rejects.toThrow(
      new RangeError(
        `toEqualArray: expected at most ${MAX_EQUAL_ELEMENTS} elements (compare larger arrays with toHaveChecksum or toHaveValuesAt), got ${MAX_EQUAL_ELEMENTS + 1}`,
      ),
    );
  });

  it(`samples 1 to ${MAX_SAMPLED_INDICES} indices with toHaveValuesAt`, async () => {
    const at = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [i, 0]));
    await expectArray(page, handle).toHaveValuesAt(at(1));
    await expectArray(page, handle).toHaveValuesAt(at(MAX_SAMPLED_INDICES));
    for (const n of [0, MAX_SAMPLED_INDICES + 1]) {
      await expect(expectArray(page, handle).toHaveValuesAt(at(n))).rejects.toThrow(
        new RangeError(`toHaveValuesAt: expected 1 to ${MAX_SAMPLED_INDICES} indices, got ${n}`),
      );
    }
  });

  it("refuses a checksum that is not a u32, and a negative or fractional length", async () => {
    await expectArray(page, () => new Uint8Array(0)).toHaveChecksum(0x02cc5d05); // XXH32 of no bytes
    await expect(expectArray(page, handle).toHaveChecksum(2 ** 32)).rejects.toThrow(RangeError);
    await expect(expectArray(page, handle).toHaveChecksum(-1)).rejects.toThrow(RangeError);
    await expect(expectArray(page, handle).toHaveLength(1.5)).rejects.toThrow(RangeError);
    await expect(expectArray(page, handle).toHaveLength(-1)).rejects.toThrow(RangeError);
  });
});
