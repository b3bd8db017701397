/**
 * Helpers of the CLI tests: run `arraywire` as a child process (the TypeScript sources through
 * tsx, or a built bin with plain node), start `arraywire serve` and read its URL, write .npy
 * fixtures with shared/npy.ts, and read .npy files back with numpy (Debian's python3-numpy) or,
 * where numpy is absent, with shared/npy.ts.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { encodeNpyHeader, type NpyDtype, parseNpyHeader, type TypedArray } from "../shared/index.ts";

/** The repository root (the child's cwd, so that tsx and the packages resolve). */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The sources' entry, run through tsx. */
export const SOURCE_BIN = fileURLToPath(new URL("./index.ts", import.meta.url));
/** tsx's loader, by URL: `--import tsx` would resolve from the child's cwd (a temporary directory). */
const TSX_LOADER = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
/** Debian's interpreter (python3-numpy); $ARRAYWIRE_PYTHON overrides it. */
export const PYTHON = process.env.ARRAYWIRE_PYTHON ?? "/usr/bin/python3";
/** Whether PYTHON imports numpy. */
export const HAS_NUMPY = spawnSync(PYTHON, ["-c", "import numpy"]).status === 0;

/** What a finished child said. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** How to start the CLI: node + tsx on the sources, or node on a built bin. */
export function cliCommand(bin: string = SOURCE_BIN): [string, string[]] {
  return bin.endsWith(".ts") ? [process.execPath, ["--import", TSX_LOADER, bin]] : [process.execPath, [bin]];
}

/** Starts `arraywire <args>` (stdout and stderr are pipes, so progress is in plain lines). */
export function startCli(
  args: readonly string[],
  options: { bin?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): {
  child: ChildProcess;
  done: Promise<CliRun>;
  stdout: () => string;
  stderr: () => string;
} {
  const [command, prefix] = cliCommand(options.bin);
  const env = { ...process.env, ...options.env };
  delete env.CI; // the CLI must pick plain lines from the pipe itself, not from CI
  const child = spawn(command, [...prefix, ...args], {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliRun>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `arraywire <args>` to the end (killed after `timeoutMs`, default 30 s). */
export async function runCli(
  args: readonly string[],
  options: { bin?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const run = startCli(args, options);
  const timer = setTimeout(() => run.child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
  try {
    return await run.done;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 20 ms until it is true; throws after `timeoutMs` (default 20 s) with `what`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A running `arraywire serve`: its URL (the first stdout line) and how to stop it (SIGINT). */
export interface ServeChild {
  url: string;
  stdout: () => string;
  stderr: () => string;
  stop(): Promise<CliRun>;
}

/** Starts `arraywire serve <args> --port 0` and waits for its URL. */
export async function startServe(args: readonly string[], bin?: string): Promise<ServeChild> {
  const run = startCli(["serve", ...args, "--port", "0"], bin === undefined ? {} : { bin });
  let exited: CliRun | null = null;
  void run.done.then((r) => {
    exited = r;
  });
  await waitFor(() => exited !== null || /^ws:\/\/\S+\n/.test(run.stdout()), "arraywire serve's URL");
  if (exited) throw new Error(`arraywire serve exited: ${JSON.stringify(exited)}`);
  const url = (run.stdout().split("\n")[0] as string).trim();
  return {
    url,
    stdout: run.stdout,
    stderr: run.stderr,
    async stop() {
      if (run.child.exitCode === null) run.child.kill("SIGINT");
      const timer = setTimeout(() => run.child.kill("SIGKILL"), 10_000);
      const result = await run.done;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Writes `array` as an .npy file (encodeNpyHeader, little-endian, C order). */
export function writeNpy(
  path: string,
  array: TypedArray,
  shape: readonly number[] = [array.length],
  dtype?: NpyDtype,
): void {
  const header = encodeNpyHeader({ dtype: dtype ?? npyDtypeOf(array), shape });
  const data = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  const bytes = new Uint8Array(header.byteLength + data.byteLength);
  bytes.set(header);
  bytes.set(data, header.byteLength);
  writeFileSync(path, bytes);
}

function npyDtypeOf(array: TypedArray): NpyDtype {
  const names: Record<string, NpyDtype> = {
    Float64Array: "float64",
    Float32Array: "float32",
    Int32Array: "int32",
    Int16Array: "int16",
    Uint16Array: "uint16",
    Uint8Array: "uint8",
    Int8Array: "int8",
    BigInt64Array: "bigint64",
  };
  const name = names[array.constructor.name];
  if (!name) throw new TypeError(`writeNpy: no npy dtype for ${array.constructor.name}`);
  return name;
}

/** An .npy file read back with shared/npy.ts: its header and data bytes (the file must be exactly that long). */
export function readNpyWithTs(path: string): { descr: string; shape: readonly number[]; data: Uint8Array } {
  const bytes = new Uint8Array(readFileSync(path));
  const parsed = parseNpyHeader(bytes, { fileByteLength: bytes.byteLength });
  if (!parsed.done) throw new Error(`${path}: header incomplete`);
  const { header } = parsed;
  return { descr: header.descr, shape: header.shape, data: bytes.subarray(header.dataByteOffset) };
}

/** What numpy says about an .npy file: np.load's dtype.str, shape and values (as floats). */
export function loadWithNumpy(path: string): { descr: string; shape: number[]; values: number[] } {
  const script =
    "import json, sys, numpy as np\n" +
    "a = np.load(sys.argv[1], allow_pickle=False)\n" +
    "print(json.dumps({'descr': a.dtype.str, 'shape': list(a.shape), 'values': [float(v) for v in a.ravel()]}))";
  const run = spawnSync(PYTHON, ["-c", script, path], { maxBuffer: 64 << 20, timeout: 60_000 });
  if (run.status !== 0) throw new Error(`numpy could not load ${path}: ${run.stderr.toString()}`);
  return JSON.parse(run.stdout.toString());
}
