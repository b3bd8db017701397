/**
 * App directories for the layout tests: the packed tarball (npm pack, which builds dist/), and an
 * app made of the example files. `fromExamples` links its dependencies, vite and tsx from this repository (no
 * registry needed); `fromCreateVite` is what a new user does (e2e/fresh-app.spec.ts).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO, withPorts } from "../../scripts/doc-examples.ts";
import { PORTS } from "./my-ports.ts";

/** `npm pack` into `dir`; returns the tarball's path. */
export function packTarball(dir: string): string {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dir], {
    cwd: REPO,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [info] = JSON.parse(out.slice(out.indexOf("["))) as { filename: string }[];
  if (!info) throw new Error("npm pack printed no file list");
  return join(dir, info.filename);
}

/** The ports of the layouts, as the examples name them. */
export const LAYOUT_PORTS = { arrays: PORTS.arrays, page: PORTS.page };

/** Writes `text` to `app/file` with the README's ports replaced. */
export function writeWithPorts(app: string, file: string, text: string): void {
  mkdirSync(dirname(join(app, file)), { recursive: true });
  writeFileSync(join(app, file), withPorts(text, LAYOUT_PORTS));
}

/** Writes docs/examples/app/`file` into `app` (ports replaced). */
export function writeExample(app: string, file: string): void {
  writeWithPorts(app, file, readFileSync(join(REPO, "docs", "examples", "app", file), "utf8"));
}

/**
 * An app from docs/examples/app (index.html included), with arraywire unpacked from `tarball`
 * into node_modules, and its dependencies, vite and tsx linked from this repository.
 */
export function fromExamples(app: string, tarball: string): void {
  const examples = join(REPO, "docs", "examples", "app");
  const copy = (dir: string) => {
    for (const entry of readdirSync(join(examples, dir), { withFileTypes: true })) {
      const file = join(dir, entry.name);
      if (entry.isDirectory()) copy(file);
      else writeWithPorts(app, file, readFileSync(join(examples, file), "utf8"));
    }
  };
  copy("");
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  const modules = join(app, "node_modules");
  mkdirSync(join(modules, "arraywire"), { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", join(modules, "arraywire"), "--strip-components=1"]);
  // What npm would install: arraywire's dependencies (from its package.json), and the app's tools.
  const { dependencies = {} } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  for (const name of new Set([...Object.keys(dependencies), "vite", "tsx"])) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(REPO, "node_modules", name), join(modules, name), "dir");
  }
}
