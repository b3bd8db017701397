/**
 * The Vite plugin in `vite dev` and `vite preview` (Vite's own servers, started with its API on
 * 127.0.0.1, port 0): both transports on Vite's port, Vite's HMR socket untouched, arrays from the
 * options and from a setup module (reloaded in dev when it changes), Vite's allowedHosts
 * inherited, a wrong path reported as E_NOT_FOUND (Vite answers it with index.html), and the
 * ArrayServer closed with Vite. Chromium's view is in e2e/layouts.spec.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer, type PreviewServer, preview, type ViteDevServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ArrayClient, fetchArray, StreamError } from "../client/index.ts";
import { arraywire } from "./index.ts";

const SERVER_ENTRY = fileURLToPath(new URL("../server/index.ts", import.meta.url));
let root: string;

/** A setup module publishing `names`, each an arange-like Float64Array of `length` starting at `start`. */
function setupModule(names: string[], start: number, length = 1000): string {
  return `import { arange } from ${JSON.stringify(SERVER_ENTRY)};
export default function publish(arrays) {
  for (const name of ${JSON.stringify(names)}) arrays.publish(name, Float64Array.from({ length: ${length} }, (_, i) => ${start} + i));
  arrays.publish("gen", arange());
}
`;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "arraywire-vite-"));
  writeFileSync(join(root, "index.html"), "<!doctype html><title>app</title><p>app</p>");
  writeFileSync(join(root, "arrays.ts"), setupModule(["fromSetup"], 100));
  mkdirSync(join(root, "dist"));
  writeFileSync(join(root, "dist", "index.html"), "<!doctype html><title>built</title>");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function plugin() {
  return arraywire({
    arrays: { x: () => Float64Array.from({ length: 5000 }, (_, i) => i * 3), fixed: new Int32Array([7, 8, 9]) },
    setup: "./arrays.ts",
  });
}

describe("vite dev", () => {
  let vite: ViteDevServer;
  let origin: string;

  beforeAll(async () => {
    vite = await createServer({
      root,
      configFile: false,
      logLevel: "silent",
      plugins: [plugin()],
      server: { host: "127.0.0.1", port: 0, strictPort: false, allowedHosts: ["app.example"] },
    });
    await vite.listen();
    origin = vite.resolvedUrls?.local[0]?.replace(/\/$/, "") ?? "";
  });
  afterAll(() => vite?.close());

  it.each(["http", "ws"] as const)("serves the arrays on Vite's own port over %s", async (transport) => {
    const x = await fetchArray(`${origin}/arraywire`, "x", { dtype: "float64", transport, range: [1000, 1003] });
    expect(Array.from(x.array)).toEqual([3000, 3003, 3006]);
    const fixed = await fetchArray(`${origin}/arraywire`, "fixed", { dtype: "int32", transport });
    expect(Array.from(fixed.array)).toEqual([7, 8, 9]);
    const fromSetup = await fetchArray(`${origin}/arraywire`, "fromSetup", {
      dtype: "float64",
      transport,
      range: [5, 7],
    });
    expect(Array.from(fromSetup.array)).toEqual([105, 106]);
    const gen = await fetchArray(`${origin}/arraywire`, "gen", { transport, params: { length: 10, start: 2 } });
    expect(Array.from(gen.array as Float64Array)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it("still serves the page, and leaves Vite's HMR socket alone", async () => {
    const page = await fetch(`${origin}/`);
    expect(await page.text()).toContain("<p>app</p>");
    const hmr = new WebSocket(`${origin.replace("http", "ws")}/`, "vite-hmr");
    const first = await new Promise<string>((resolve, reject) => {
      hmr.once("message", (data) => resolve(String(data)));
      hmr.once("error", reject);
    });
    hmr.close();
    expect(JSON.parse(first)).toMatchObject({ type: "connected" });
  });

  it("reports a wrong path as E_NOT_FOUND on both transports (Vite answers it with index.html, or a file)", async () => {
    for (const [path, type] of [
      ["/arraywir", "text/html"], // Vite's SPA fallback
      ["/arrays", "text/javascript"], // arrays.ts, the setup module, served as a module
    ]) {
      for (const transport of ["http", "ws"] as const) {
        // Over ws Vite leaves the upgrade unanswered: connectTimeoutMs, then the probe.
        const error = await fetchArray(`${origin}${path}`, "x", { transport, connectTimeoutMs: 500 }).catch(
          (e: unknown) => e,
        );
        expect(error, transport).toBeInstanceOf(StreamError);
        expect((error as StreamError).code).toBe("E_NOT_FOUND");
        expect((error as StreamError).message).toContain(
          `No arraywire endpoint at ${path} on ${origin} (HTTP 200 with content-type "${type}`,
        );
      }
    }
  });

  it("takes Vite's allowedHosts: app.example passes, other names are refused", async () => {
    const ok = await fetchArray(`${origin}/arraywire`, "fixed", { transport: "ws", headers: { host: "app.example" } });
    expect(ok.array.length).toBe(3);
    const refused = await fetchArray(`${origin}/arraywire`, "fixed", {
      transport: "ws",
      headers: { host: "other.example" },
    }).catch((e: unknown) => e);
    // Vite's own host check answers first over HTTP (a 403 that is not arraywire's); at the
    // upgrade the ArrayServer refuses with the same list, and the probe reports Vite's 403.
    expect(refused).toMatchObject({ code: "E_HTTP_STATUS" });
    expect((refused as StreamError).message).toContain("HTTP 403");
    expect((refused as StreamError).message).toContain("Vite's allowedHosts");
  });

  it("publishes again when the setup module changes, unpublishing what it dropped", async () => {
    writeFileSync(join(root, "arrays.ts"), setupModule(["renamed"], 500));
    await expect
      .poll(
        async () =>
          fetchArray(`${origin}/arraywire`, "renamed", { dtype: "float64", transport: "http", range: [0, 2] })
            .then((r) => Array.from(r.array))
            .catch((e: StreamError) => e.code),
        { timeout: 10_000, interval: 100 },
      )
      .toEqual([500, 501]);
    await expect(fetchArray(`${origin}/arraywire`, "fromSetup", { transport: "http" })).rejects.toMatchObject({
      code: "E_UNKNOWN_NAME",
    });
    // What the options published stays.
    expect((await fetchArray(`${origin}/arraywire`, "fixed", { transport: "http" })).array.length).toBe(3);
    writeFileSync(join(root, "arrays.ts"), setupModule(["fromSetup"], 100));
  });
});

describe("vite preview", () => {
  let server: PreviewServer;
  let origin: string;

  beforeAll(async () => {
    server = await preview({
      root,
      configFile: false,
      logLevel: "silent",
      plugins: [plugin()],
      preview: { host: "127.0.0.1", port: 0, strictPort: false },
    });
    origin = server.resolvedUrls?.local[0]?.replace(/\/$/, "") ?? "";
  });

  it.each(["http", "ws"] as const)("serves the arrays next to the built page over %s", async (transport) => {
    const { array } = await fetchArray(`${origin}/arraywire`, "x", {
      dtype: "float64",
      transport,
      range: [4998, 5000],
    });
    expect(Array.from(array)).toEqual([14994, 14997]);
    expect(await (await fetch(`${origin}/`)).text()).toContain("<title>built</title>");
  });

  it("closes the ArrayServer with Vite: open connections end, the port is free", async () => {
    const client = await ArrayClient.connect(`${origin}/arraywire`);
    expect(client.connected).toBe(true);
    await server.close();
    await expect.poll(() => client.connected, { timeout: 5000 }).toBe(false);
    await expect(fetchArray(`${origin}/arraywire`, "x", { transport: "http" })).rejects.toMatchObject({
      code: "E_CONNECTION_CLOSED",
    });
  });
});

describe("setup module errors", () => {
  it("fails the server start with a TypeError for a module without a usable default export", async () => {
    writeFileSync(join(root, "bad.ts"), "export const arrays = 1;\n");
    await expect(
      createServer({
        root,
        configFile: false,
        logLevel: "silent",
        plugins: [arraywire({ setup: "./bad.ts" })],
        server: { host: "127.0.0.1", port: 0 },
      }),
    ).rejects.toThrow(
      new TypeError(
        "Invalid setup module ./bad.ts: expected a default export that is a function (arrays) => ... or an object of arrays, got undefined",
      ),
    );
  });
});
