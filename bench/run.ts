/**
 * `npm run bench [-- --quick] [--sweep] [--files] [--live] [--big] [--link] [--runs N] [--only REGEX] [--sizes MB,MB] [--out DIR]`: the
 * arraywire benchmark. `npm run bench -- --render bench/results/latest.json` rewrites the tables,
 * targets and charts from a results file without measuring anything.
 *
 * Builds the page and child programs, starts the server process, then for each array size runs
 * every method `runs` times, alternating them (round r runs the methods rotated by r), so machine
 * drift hits all of them; at the reference size that includes every point of the ceiling sweeps.
 * Then the many-clients runs, then one live-appends row (bench/live-appends.ts: 1 MiB rows at
 * 100 Hz to 20 subscribers; 2 s in quick mode, 3 s otherwise; `--live` runs only those rows, at
 * 100, 50, 25 and 10 Hz). Prints the tables and the targets and writes latest.json, latest.md,
 * throughput.svg and memory.svg (to bench/results/; --sweep to bench/results/sweep/; quick and
 * partial runs to bench/results/tmp/quick|partial/ so they never overwrite the reference results).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bigArrayTable, runBigArray } from "./big-array.ts";
import { buildBench } from "./build.ts";
import { memorySvg, throughputSvg } from "./charts.ts";
import { fileServingTable, runFileServing } from "./file-serving.ts";
import { type LiveAppendsRow, liveAppendsTable, runLiveAppends, runLiveAppendsRates } from "./live-appends.ts";
import { describeMachine } from "./machine.ts";
import {
  ARROW_BATCH_ROW_COUNT,
  type BenchPlan,
  JSON_MAX_ELEMENT_COUNT,
  METHODS,
  type Method,
  makePlan,
  methodsAt,
  sizeLabel,
} from "./plan.ts";
import { descendantsOf, signalEach } from "./proc.ts";
import { markdownReport, textReport } from "./report.ts";
import { type BenchResults, type Cell, type Sample, summarize } from "./results.ts";
import { liveChildren, type RunContext, runBrowser, runManyClients, runNode, ServerProcess } from "./runners.ts";
import { evaluateTargets } from "./targets.ts";

const { values: options } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    only: { type: "string" },
    sizes: { type: "string" },
    out: { type: "string" },
    render: { type: "string" },
    sweep: { type: "boolean", default: false },
    files: { type: "boolean", default: false },
    link: { type: "boolean", default: false },
    rounds: { type: "string" },
    rates: { type: "string" },
    live: { type: "boolean", default: false },
    big: { type: "boolean", default: false },
    "no-browser": { type: "boolean", default: false },
  },
});
if (options.link) {
  // Compression across shaped links: its own bench (root only), bench/link.ts, which reads the
  // same argv (--runs/--rounds, --rates, --only, --out).
  await import("./link.ts");
  process.exit(0);
}
const plan = makePlan(options.quick ?? false, options.runs ? Number(options.runs) : undefined, options.sweep);
if (options.sizes) {
  // --sizes 400,1600: keep the sizes given in MB (of float64 array bytes).
  const wanted = options.sizes.split(",").map((mb) => Math.round((Number(mb) * 1e6) / 8));
  plan.elementCounts = plan.elementCounts.filter((n) => wanted.includes(n));
}
const only = options.only ? new RegExp(options.only) : null;
// Only a full run of everything replaces the reference results; smoke and partial runs go to tmp/.
const partial = plan.quick || plan.sweep || options.only !== undefined || options.sizes !== undefined;
const resultsDir =
  options.out ??
  fileURLToPath(
    new URL(
      plan.sweep ? "./results/sweep/" : partial ? `./results/tmp/${plan.quick ? "quick" : "partial"}/` : "./results/",
      import.meta.url,
    ),
  );
const startedAt = Date.now();
let runId = 0;
/** The build directory, removed on exit. */
let buildDir: string | undefined;

function notes(p: BenchPlan): string[] {
  return [
    `Arrays are Float64Array arange (a[i] = i), published once in the server process; sizes ${p.elementCounts.map(sizeLabel).join(", ")}; targets are judged at ${sizeLabel(p.referenceElementCount)}${p.quick ? " (quick mode: the reference 400 MB is not run, and only a few sweep points)" : ""}.`,
    "Server process and client process are separate (2 cores: one each); browser runs start a fresh Chromium (fresh profile) per run, launched directly with --headless=new (no DevTools attached); Playwright rows use chromium.launch() on the same page.",
    `Methods alternate: each round runs every method of a size once (at the reference size every sweep point too), the order rotated by one per round; ${p.runCount} round(s) per size; one untimed arraywire warm-up per size primes the server (checksum cache) and the page cache.`,
    "Ceilings: each CEILING row is the best point (highest median) of its sweep, every point measured in the same alternation as arraywire: fetch + BYOB (reads x server write size), fetch + BYOB + XXH32, the bare browser ws loop (server message size), and the bare Node net.Socket recv_into loop (receive window x server write size, fresh and reused). The fetch + BYOB sweep includes loops reading into a scratch buffer (copied into the target), and a second sweep adds an XXH32 of every piece checked against the server's (the verified loop). The Python recv_into client reads from the ArrayServer's HTTP transport (its own write size): with checksum=xxh32 and the C XXH32 of each piece checked against END (the verified baseline), and with no hash (an upper bound that verifies nothing). Targets compare verified rows with verified baselines, and arraywire verify:false with the ceilings that verify nothing.",
    `JSON is capped at ${sizeLabel(JSON_MAX_ELEMENT_COUNT)} of array (${(JSON_MAX_ELEMENT_COUNT / 1e6).toFixed(1)}M values; integers here, so ~1.05 text bytes per array byte: real doubles would be ~2x slower); its MB/s counts array bytes. ws one-message, the ws loop and Arrow stop at 400 MB.`,
    `Arrow IPC: stream format, one Float64 column in record batches of ${ARROW_BATCH_ROW_COUNT.toLocaleString("en-US")} rows (8 MiB), encoded once at server start; the page times fetch -> RecordBatchReader.from -> each batch's column copied into a preallocated Float64Array.`,
    "arraywire runs use the library defaults (transport 'auto'; verify: true, so the client computes an XXH32 of every byte) unless the row says otherwise. Browser targets are fresh (the method allocates). Node and Python 'fresh' is a new process's first transfer, into memory the method allocates (first-touch page faults and a cold JIT/allocator are part of it; numpy asks for transparent huge pages with madvise, V8 does not); 'reused' is a repeat transfer: the target is allocated and touched, one untimed transfer runs into it, the target is reset to -1, then the timed transfer runs.",
    "Many clients: N concurrent fetchArray calls (library defaults) from one Node process into one shared touched target, on an array published at start; aggregate MB/s = all bytes / time until the last client finished; server CPU seconds (utime + stime from /proc) per GB sent; server RSS peak minus a baseline taken after a GC with the array already in memory.",
    "Memory: VmHWM after resetting it (echo 5 > /proc/PID/clear_refs) minus VmRSS before the run; the Node and Python clients report their own VmRSS before allocating and VmHWM at the end of the transfer.",
  ];
}

async function measure(ctx: RunContext, method: Method, elementCount: number): Promise<Sample> {
  const run = ++runId;
  try {
    if (method.env === "node" || method.env === "python") return await runNode(ctx, method, elementCount, run);
    return await runBrowser(ctx, method, elementCount, run);
  } catch (err) {
    return { ok: false, ms: 0, mbps: 0, verified: false, error: String((err as Error).message ?? err) };
  }
}

function logSample(index: number, total: number, label: string, elementCount: number, sample: Sample): void {
  const elapsed = ((Date.now() - startedAt) / 1000).toFixed(0).padStart(4);
  const status = sample.ok ? `${Math.round(sample.mbps).toString().padStart(6)} MB/s` : `FAILED: ${sample.error}`;
  console.log(
    `[${elapsed} s] ${String(index).padStart(3)}/${total} ${sizeLabel(elementCount).padStart(7)}  ${label.padEnd(60)} ${status}${sample.ok && sample.minorFaults !== undefined ? `  ${sample.minorFaults.toLocaleString("en-US").padStart(9)} minor faults` : ""}`,
  );
}

function rotate<T>(items: T[], by: number): T[] {
  const k = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** --files: only the file-serving rows (bench/file-serving.ts), written to results/tmp/files/. */
async function mainFiles(): Promise<void> {
  const rows = await runFileServing(options.runs ? Number(options.runs) : 3);
  const table = fileServingTable(rows);
  console.log(table.join("\n"));
  const dir = options.out ?? fileURLToPath(new URL("./results/tmp/files/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "files.json"), `${JSON.stringify({ machine: describeMachine(), rows }, null, 2)}\n`);
  writeFileSync(join(dir, "files.md"), `${table.join("\n")}\n`);
}

/** --live: only the live-appends rows, at every rate, written to results/tmp/live/. */
async function mainLive(): Promise<void> {
  const rows = await runLiveAppendsRates();
  const table = liveAppendsTable(rows);
  console.log(table.join("\n"));
  const dir = options.out ?? fileURLToPath(new URL("./results/tmp/live/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "live.json"), `${JSON.stringify({ machine: describeMachine(), rows }, null, 2)}\n`);
  writeFileSync(join(dir, "live.md"), `${table.join("\n")}\n`);
}

/** --big: only the 4 GiB rows (bench/big-array.ts), written to results/tmp/big/; --no-browser skips Chromium's. */
async function mainBig(): Promise<void> {
  const machine = describeMachine();
  console.log(
    `arraywire bench --big: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, Chromium ${machine.chromium}`,
  );
  const rows = await runBigArray(options.runs ? Number(options.runs) : 3, !options["no-browser"]);
  const table = bigArrayTable(rows);
  console.log(table.join("\n"));
  const dir = options.out ?? fileURLToPath(new URL("./results/tmp/big/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "big.json"), `${JSON.stringify({ machine, rows }, null, 2)}\n`);
  writeFileSync(join(dir, "big.md"), `${table.join("\n")}\n`);
}

async function main(): Promise<void> {
  if (options.files) return mainFiles();
  if (options.live) return mainLive();
  if (options.big) return mainBig();
  const built = await buildBench();
  buildDir = built.dir;
  const machine = describeMachine();
  console.log(
    `arraywire bench${plan.quick ? " (quick)" : ""}: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, Chromium ${machine.chromium}`,
  );
  const server = await ServerProcess.start(built.serverProcess, {
    elementCounts: plan.elementCounts,
    jsonElementCounts: plan.elementCounts.filter((n) => n <= JSON_MAX_ELEMENT_COUNT),
    arrowElementCounts: plan.elementCounts.filter((n) =>
      METHODS.some((m) => m.kind === "arrow" && n <= m.maxElementCount),
    ),
    arrowBatchRowCount: ARROW_BATCH_ROW_COUNT,
    pageDir: built.pageDir,
  });
  console.log(`server process ${server.pid} ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  const ctx: RunContext = { server, nodeClientScript: built.nodeClient, pythonClientScript: built.pythonClient };
  const cells: Cell[] = [];
  const selected = (n: number) => methodsAt(plan, n).filter((m) => !only || only.test(m.id));
  const manyRuns = plan.manyClients.filter(
    (many) => plan.elementCounts.includes(many.elementCount) && (!only || only.test(many.id)),
  );
  const total =
    plan.elementCounts.reduce((a, n) => a + selected(n).length, 0) * plan.runCount + manyRuns.length * plan.runCount;
  let index = 0;
  const warmup = METHODS.find((m) => m.id === "node-arraywire-fresh") as Method;
  const browserWarmup = METHODS.find((m) => m.id === "browser-aw-auto") as Method;
  for (const n of plan.elementCounts) {
    const methods = selected(n);
    if (methods.length === 0) continue;
    const sizeCells = methods.map((m) => {
      const cell: Cell = {
        methodId: m.id,
        env: m.env,
        label: m.label,
        elementCount: n,
        byteLength: n * 8,
        samples: [],
      };
      cells.push(cell);
      return cell;
    });
    await measure(ctx, warmup, n); // untimed: fills the server's checksum cache for this array
    if (n === plan.elementCounts[0]) await measure(ctx, browserWarmup, n); // untimed: Chromium's files into the page cache
    for (let round = 0; round < plan.runCount; round++) {
      for (const cell of rotate(sizeCells, round)) {
        const method = methods.find((m) => m.id === cell.methodId) as Method;
        const sample = await measure(ctx, method, n);
        cell.samples.push(sample);
        logSample(++index, total, `${method.env}: ${method.label}`, n, sample);
      }
    }
  }
  for (const many of manyRuns) {
    const cell: Cell = {
      methodId: many.id,
      env: "concurrency",
      label: `${many.clientCount} arraywire clients on one array (aggregate)`,
      elementCount: many.elementCount,
      byteLength: many.elementCount * 8 * many.clientCount,
      clientCount: many.clientCount,
      samples: [],
    };
    cells.push(cell);
    for (let round = 0; round < plan.runCount; round++) {
      let sample: Sample;
      try {
        sample = await runManyClients(ctx, many, ++runId);
      } catch (err) {
        sample = { ok: false, ms: 0, mbps: 0, verified: false, error: String((err as Error).message ?? err) };
      }
      cell.samples.push(sample);
      logSample(++index, total, cell.label, many.elementCount, sample);
    }
  }
  await server.kill();
  // Live appends (issue 9, part 3): its own server and client processes, after the others.
  const liveAppends: LiveAppendsRow[] = [];
  if (!plan.sweep && (!only || only.test("live-appends"))) {
    try {
      const row = await runLiveAppends({ seconds: plan.quick ? 2 : 3 });
      liveAppends.push(row);
      console.log(liveAppendsTable([row]).join("\n"));
    } catch (err) {
      console.log(`live appends FAILED: ${(err as Error).message}`);
    }
  }
  for (const cell of cells) summarize(cell);
  const largest = Math.max(...plan.elementCounts);
  const results: BenchResults = {
    date: new Date().toISOString(),
    quick: plan.quick,
    sweep: plan.sweep,
    runCount: plan.runCount,
    referenceElementCount: plan.referenceElementCount,
    durationSeconds: (Date.now() - startedAt) / 1000,
    machine,
    notes: notes(plan),
    methods: METHODS.filter((m) => !(m.sweep && m.referenceOnly) && cells.some((c) => c.methodId === m.id)).map(
      (m) => ({
        id: m.id,
        env: m.env,
        label: m.label,
        description: m.description,
      }),
    ),
    cells,
    targets: plan.sweep ? [] : evaluateTargets(cells, plan.referenceElementCount, largest),
    liveAppends,
  };
  writeOutputs(results);
}

function writeOutputs(results: BenchResults, dir = resultsDir): void {
  mkdirSync(dir, { recursive: true });
  const m = results.machine;
  const subtitle = `${results.date.slice(0, 10)}, ${m.cpu} (${m.cores} cores), Node ${m.node}, Chromium ${m.chromium}; median of ${results.runCount} run(s)${results.quick ? ", QUICK MODE" : ""}`;
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(results, null, 1)}\n`);
  const live = results.liveAppends?.length
    ? `\n## Live appends\n\n${liveAppendsTable(results.liveAppends).join("\n")}\n`
    : "";
  writeFileSync(join(dir, "latest.md"), markdownReport(results) + live);
  writeFileSync(join(dir, "throughput.svg"), throughputSvg(results.cells, results.referenceElementCount, subtitle));
  writeFileSync(join(dir, "memory.svg"), memorySvg(results.cells, results.referenceElementCount, subtitle));
  console.log(`\n${textReport(results)}${live}`);
  console.log(
    `\nwrote ${join(dir, "/")}{latest.json,latest.md,throughput.svg,memory.svg} in ${results.durationSeconds.toFixed(0)} s`,
  );
}

/** Ends every process the bench started: tracked children first, then any descendant left. */
async function cleanUp(): Promise<void> {
  await Promise.allSettled([...liveChildren].map((c) => c.kill()));
  signalEach(descendantsOf(process.pid), "SIGKILL");
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** --render: the outputs again from a results file (after a report or chart change), no measuring. */
function render(path: string): void {
  const results = JSON.parse(readFileSync(path, "utf8")) as BenchResults;
  const ns = results.cells.filter((c) => c.env !== "concurrency").map((c) => c.elementCount);
  for (const cell of results.cells) summarize(cell);
  results.targets = results.sweep ? [] : evaluateTargets(results.cells, results.referenceElementCount, Math.max(...ns));
  writeOutputs(results, options.out ?? dirname(path));
}

try {
  if (options.render) render(options.render);
  else await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
