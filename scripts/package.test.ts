/**
 * The package as npm ships it (issue 11 items 5 and 7): `npm pack` (which builds dist/), then
 * checks on the tarball itself: what it holds (README, SECURITY.md, LICENSE, docs, every entry
 * point with its types) and what it must not (tests, test helpers, test fixtures), its
 * package.json (exports, vite and @playwright/test as optional peers, no invented repository), and a consumer that
 * compiles against it with `skipLibCheck: false` (a .d.ts that imports a package the consumer does
 * not get, such as `ws` without @types/ws, fails there with TS7016). The consumer's node_modules
 * holds the unpacked tarball, exactly the dependencies its package.json declares (linked from
 * ours), @types/node, vite and @playwright/test (optional peers, for arraywire/vite and
 * arraywire/playwright): nothing else.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("..", import.meta.url));
let work: string;
let files: string[];
let packed: { dependencies?: Record<string, string>; [key: string]: unknown };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "arraywire-pack-"));
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: REPO,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [info] = JSON.parse(out.slice(out.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error("npm pack printed no file list");
  files = info.files.map((f) => f.path).sort();
  const modules = join(work, "consumer", "node_modules");
  mkdirSync(join(modules, "arraywire"), { recursive: true });
  execFileSync("tar", ["-xzf", join(work, info.filename), "-C", join(modules, "arraywire"), "--strip-components=1"]);
  packed = JSON.parse(readFileSync(join(modules, "arraywire", "package.json"), "utf8"));
  const link = (name: string) => {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(REPO, "node_modules", name), join(modules, name), "dir");
  };
  for (const name of Object.keys(packed.dependencies ?? {})) link(name);
  link("@types/node");
  link("vite");
  link("@playwright/test");
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed tarball", () => {
  it("ships the docs, the license and every entry point with its types", () => {
    for (const path of [
      "README.md",
      "SECURITY.md",
      "LICENSE",
      "package.json",
      "docs/PROTOCOL.md",
      "docs/SERVER.md",
      "dist/client/index.js",
      "dist/client/index.d.ts",
      "dist/server/index.js",
      "dist/server/index.d.ts",
      "dist/shared/index.js",
      "dist/shared/index.d.ts",
      "dist/vite/index.js",
      "dist/vite/index.d.ts",
      "dist/client/worker.js",
      "dist/client/worker.d.ts",
      "dist/server/playwright/index.js",
      "dist/server/playwright/index.d.ts",
    ]) {
      expect(files, path).toContain(path);
    }
    expect(readFileSync(join(REPO, "LICENSE"), "utf8")).toMatch(/^MIT License\n/);
  });

  it("ships no tests, test helpers or test fixtures", () => {
    expect(files.filter((f) => /test-fixtures|test-helpers|\.test\.|\/demo\b|__pycache__|\.pyc$/.test(f))).toEqual([]);
  });

  it("declares its entry points, vite and @playwright/test as optional peers, and no repository it cannot back", () => {
    expect(Object.keys(packed.exports as object).sort()).toEqual([
      "./client",
      "./client/worker",
      "./package.json",
      "./playwright",
      "./protocol",
      "./server",
      "./vite",
    ]);
    expect(packed.peerDependencies).toEqual({ vite: expect.any(String), "@playwright/test": expect.any(String) });
    expect(packed.peerDependenciesMeta).toEqual({ vite: { optional: true }, "@playwright/test": { optional: true } });
    expect(packed.license).toBe("MIT");
    // There is no public remote: no repository, bugs or homepage URL is made up.
    expect(packed.repository).toBeUndefined();
  });
});

describe("a TypeScript consumer of the tarball, skipLibCheck false", () => {
  it.each(["bundler", "nodenext"] as const)("compiles with moduleResolution %s", (resolution) => {
    const dir = join(work, "consumer");
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { arraywire: "*" } }),
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: resolution === "bundler" ? "ESNext" : "NodeNext",
          moduleResolution: resolution,
          lib: ["ES2023", "DOM"],
          types: ["node"],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ["consumer.ts"],
      }),
    );
    writeFileSync(
      join(dir, "consumer.ts"),
      `import { fetchArray, StreamError, type StreamErrorCode } from "arraywire/client";
import { decodeMessage } from "arraywire/protocol";
import { ArrayServer, arange, type ArrayServerOptions } from "arraywire/server";
import { expectArray, test } from "arraywire/playwright";
import { arraywire } from "arraywire/vite";

const options: ArrayServerOptions = { port: 0, allowedOrigins: ["http://localhost:5173"] };
const server = new ArrayServer(options);
server.publish("t", new Float64Array(10));
server.publish("a", arange());
export const plugin = arraywire({ arrays: { t: () => new Float64Array(10) } });
export async function first(url: string): Promise<number> {
  const { array } = await fetchArray(url, "t", { dtype: "float64" });
  return array[0] ?? Number.NaN;
}
export function isRefusal(e: unknown): boolean {
  const code: StreamErrorCode | undefined = e instanceof StreamError ? e.code : undefined;
  return code === "E_UNAUTHORIZED";
}
export const decode = decodeMessage;
test.use({ arrays: { t: new Float64Array(10) } });
test("t", async ({ page, arraywire }) => {
  await page.goto(arraywire.url);
  await expectArray(page, "t").toHaveLength(10);
});
`,
    );
    let output = "";
    try {
      execFileSync(join(REPO, "node_modules", ".bin", "tsc"), ["-p", join(dir, "tsconfig.json")], {
        cwd: dir,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (err) {
      output = `${(err as { stdout?: string }).stdout ?? ""}${(err as { stderr?: string }).stderr ?? ""}`;
    }
    expect(output).toBe("");
  });
});
