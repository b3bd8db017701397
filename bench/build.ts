/**
 * Bundles the bench's child programs with esbuild into a scratch directory under
 * bench/results/tmp/ (git-ignored; inside the repo so that Node resolves `ws` and `apache-arrow`
 * from its node_modules):
 * - page/main.js + page/index.html: the bench page with the real arraywire client (client/index.ts),
 *   and page/worker.js, the library's worker module (client/worker.ts) for fetchArrayInWorker;
 * - server-process.mjs and node-client.mjs: plain Node ESM, started with `node` (no tsx per run).
 * The Python client (recv_into_client.py) runs from bench/ as it is.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** Where build() put things. */
export interface BuiltBench {
  dir: string;
  pageDir: string;
  serverProcess: string;
  nodeClient: string;
  pythonClient: string;
}

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>arraywire bench</title></head>
<body><p>arraywire bench page: the run is named in the URL.</p><script type="module" src="main.js"></script></body></html>
`;

/** Builds everything into a fresh `bench/results/tmp/run-<pid>` directory. */
export async function buildBench(): Promise<BuiltBench> {
  const dir = join(BENCH_DIR, "results", "tmp", `run-${process.pid}`);
  const pageDir = join(dir, "page");
  mkdirSync(pageDir, { recursive: true });
  writeFileSync(join(pageDir, "index.html"), PAGE_HTML);
  await build({
    entryPoints: [join(BENCH_DIR, "page", "main.ts")],
    outfile: join(pageDir, "main.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    logLevel: "warning",
  });
  // The library's worker module, next to main.js: where fetchArrayInWorker looks by default.
  await build({
    entryPoints: [join(BENCH_DIR, "..", "client", "worker.ts")],
    outfile: join(pageDir, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    logLevel: "warning",
  });
  await build({
    entryPoints: {
      "server-process": join(BENCH_DIR, "server-process.ts"),
      "node-client": join(BENCH_DIR, "node-client.ts"),
    },
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
  return {
    dir,
    pageDir,
    serverProcess: join(dir, "server-process.mjs"),
    nodeClient: join(dir, "node-client.mjs"),
    pythonClient: join(BENCH_DIR, "recv_into_client.py"),
  };
}
