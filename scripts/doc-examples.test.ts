/**
 * The README's and SECURITY.md's examples (issue 11 item 7): each shown block is its file in
 * docs/examples/ (a drift fails here), every TypeScript block is such a file, the files
 * typecheck as a fresh `npm create vite` (vanilla-ts) project checks them, and the Node examples
 * run as written against each other, in child processes (tsx), on free ports (8080 and 5173
 * replaced). The browser examples run in Chromium: e2e/layouts.spec.ts.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fetchArray, StreamError } from "../client/index.ts";
import { allExamples, DOCS, examplesOf, REPO, withPorts } from "./doc-examples.ts";

const EXAMPLES = join(REPO, "docs", "examples");
const TSX = join(REPO, "node_modules", "tsx", "dist", "cli.mjs");

describe("the documents show the example files", () => {
  it.each(DOCS)("%s: every marked block is its file, byte for byte", (doc) => {
    const { examples } = examplesOf(doc);
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) {
      expect(example.text, `${doc}: ${example.file}`).toBe(readFileSync(join(REPO, example.file), "utf8"));
    }
  });

  it.each(DOCS)("%s: has no TypeScript block that is not an example file", (doc) => {
    expect(examplesOf(doc).unmarkedTs).toEqual([]);
  });

  it("shows every example file somewhere", () => {
    const shown = new Set(allExamples().map((e) => e.file));
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.ts$|^\.env/.test(entry.name)) files.push(relative(REPO, path));
      }
    };
    walk(EXAMPLES);
    expect(files.filter((f) => !shown.has(f))).toEqual([]);
  });

  it("typechecks the examples as a fresh Vite app would (docs/examples/tsconfig.json)", () => {
    let output = "";
    try {
      execFileSync(join(REPO, "node_modules", ".bin", "tsc"), ["-p", join(EXAMPLES, "tsconfig.json")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (err) {
      output = `${(err as { stdout?: string }).stdout ?? ""}`;
    }
    expect(output).toBe("");
  });
});

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the output matches; rejects if the process exits first or after 30 s. */
  waitFor: (pattern: RegExp) => Promise<void>;
  /** The exit code, once it exits by itself. */
  exited: Promise<number | null>;
  /** SIGINT (unless it exited), then the exit code. */
  stop: () => Promise<number | null>;
}

/** Runs an example with tsx (arraywire resolved to the sources through docs/examples/tsconfig.json). */
function run(file: string, cwd: string): Running {
  const child = spawn(process.execPath, [TSX, "--tsconfig", join(EXAMPLES, "tsconfig.json"), file], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d;
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${output}`)), 30_000);
        const check = () => {
          if (pattern.test(output)) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout?.on("data", check);
        child.stderr?.on("data", check);
        void exited.then(() => {
          clearTimeout(timer);
          if (pattern.test(output)) resolve();
          else reject(new Error(`${file} exited before printing ${pattern}: ${output}`));
        });
        check();
      }),
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGINT");
      return exited;
    },
  };
}

describe("the Node examples run as written", () => {
  let dir: string;
  let ports: { arrays: number; page: number };
  const running: Running[] = [];

  beforeAll(async () => {
    ports = { arrays: await freePort(), page: await freePort() };
    dir = mkdtempSync(join(tmpdir(), "arraywire-examples-"));
    // The examples as a reader's project has them: an ES module package, ports replaced.
    cpSync(EXAMPLES, dir, { recursive: true, filter: (src) => !src.endsWith(".py") });
    const substitute = (path: string) => {
      for (const entry of readdirSync(path, { withFileTypes: true })) {
        const p = join(path, entry.name);
        if (entry.isDirectory()) substitute(p);
        else writeFileSync(p, withPorts(readFileSync(p, "utf8"), ports));
      }
    };
    substitute(dir);
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  });
  // Each test's servers stop after it, pass or fail: the next one listens on the same port.
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function start(file: string, cwd = dir): Running {
    const r = run(file, cwd);
    running.push(r);
    return r;
  }

  it("node-server.ts serves what node-client.ts asks for, and stops on SIGINT", async () => {
    const server = start("node-server.ts");
    await server.waitFor(new RegExp(`ws://127\\.0\\.0\\.1:${ports.arrays}/arraywire`));
    const client = start("node-client.ts");
    expect(await client.exited).toBe(0);
    expect(client.output()).toContain("50000000 [ 5000, 10000 ] { unit: 'K' }");
    expect(client.output()).toContain("273.15 999");
    expect(client.output()).toContain('not published: Unknown array: "pressure" is not published');
    expect(client.output()).toMatch(/^400000000 \/ 400000000$/m); // the last progress line
    expect(await server.stop()).toBe(0);
    expect(server.output()).toContain("SIGINT: closing");
  });

  it("arrays-server.ts (layout 3) admits the page's origin with CORS, and no Origin-less client", async () => {
    const server = start("arrays-server.ts", join(dir, "app"));
    await server.waitFor(/arrays at ws:/);
    const url = `http://localhost:${ports.arrays}/arraywire`;
    const page = `http://localhost:${ports.page}`;
    const response = await fetch(`${url}?name=temperature&start=0&end=2`, { headers: { origin: page } });
    expect(response.headers.get("access-control-allow-origin")).toBe(page);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    await response.arrayBuffer();
    const { array } = await fetchArray(url, "temperature", {
      dtype: "float64",
      range: [9_999, 10_001],
      headers: { origin: page },
    });
    expect(Array.from(array)).toEqual([373.14, 273.15]);
    const refused = await fetchArray(url, "temperature", { range: [0, 1] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StreamError);
    expect((refused as StreamError).code).toBe("E_FORBIDDEN_ORIGIN");
    expect(await server.stop()).toBe(0);
  });

  it("server.ts (layout 1) serves the built page and the arrays on one origin", async () => {
    const app = join(dir, "app");
    mkdirSync(join(app, "dist", "assets"), { recursive: true });
    writeFileSync(join(app, "dist", "index.html"), "<!doctype html><p>built page</p>");
    writeFileSync(join(app, "dist", "assets", "index-abc.js"), "console.log(1)");
    const server = start("server.ts", app);
    await server.waitFor(new RegExp(`http://127\\.0\\.0\\.1:${ports.arrays}/`));
    const origin = `http://127.0.0.1:${ports.arrays}`;
    expect(await (await fetch(`${origin}/`)).text()).toBe("<!doctype html><p>built page</p>");
    const script = await fetch(`${origin}/assets/index-abc.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript");
    // An SPA route and a path that tries to leave dist/ both get the page.
    expect(await (await fetch(`${origin}/some/route`)).text()).toContain("built page");
    expect(await (await fetch(`${origin}/%2e%2e/%2e%2e/package.json`)).text()).toContain("built page");
    for (const transport of ["http", "ws"] as const) {
      const { array } = await fetchArray(`${origin}/arraywire`, "temperature", {
        dtype: "float64",
        transport,
        range: [10_000, 10_002],
      });
      expect(Array.from(array)).toEqual([273.15, 273.15 + 1 / 100]); // row 2 starts again at 273.15
    }
    expect(await server.stop()).not.toBeUndefined();
  });

  it("README's upload example sends 1,000,000 values up and sees them published", async () => {
    const example = start("both/upload.ts");
    expect(await example.exited).toBe(0);
    expect(example.output()).toContain("8000000 of 8000000");
    expect(example.output()).toContain("published: true");
  });

  it("README's live example receives 20 appended rows of 100 values, then END", async () => {
    const example = start("both/live.ts");
    expect(await example.exited).toBe(0);
    expect(example.output()).toContain("rows received: 20");
    expect(example.output()).toMatch(/\+\d+ values, 2000 in all/);
  });

  it("SECURITY.md's token-server.ts wants the token, from a header or a subprotocol", async () => {
    const server = start("security/token-server.ts");
    const url = `http://127.0.0.1:${ports.arrays}/arraywire`;
    // It prints nothing: wait for its port. A request without Origin is refused by the list.
    await expect
      .poll(
        () =>
          fetch(`${url}?probe=1`)
            .then((r) => r.status)
            .catch(() => 0),
        { timeout: 20_000 },
      )
      .toBe(403);
    const origin = `http://localhost:${ports.page}`; // the page's, as a browser would send it
    const headers = { authorization: "Bearer a-session-token", origin };
    for (const transport of ["http", "ws"] as const) {
      expect((await fetchArray(url, "temperature", { transport, headers })).array.length).toBe(1000);
      const refused = await fetchArray(url, "temperature", { transport, headers: { origin } }).catch((e: unknown) => e);
      expect((refused as StreamError).code).toBe("E_UNAUTHORIZED");
    }
    // The subprotocol form the browser uses, from Node's ws.
    const viaProtocol = await fetchArray(url, "temperature", {
      protocols: ["arraywire.token.a-session-token"],
      headers: { origin },
    });
    expect(viaProtocol.array.length).toBe(1000);
    // allowedHosts: its production name passes, others are refused.
    const named = await fetchArray(url, "temperature", { headers: { ...headers, host: "arrays.example" } });
    expect(named.array.length).toBe(1000);
    const other = await fetchArray(url, "temperature", { headers: { ...headers, host: "other.example" } }).catch(
      (e: unknown) => e,
    );
    expect((other as StreamError).code).toBe("E_FORBIDDEN_HOST");
    await server.stop();
  });
});
