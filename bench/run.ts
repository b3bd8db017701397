/**
 * `npm run bench [-- --quick] [--runs N] [--only REGEX] [--sizes MB,MB] [--out DIR]`: the arraywire benchmark.
 * `npm run bench -- --render bench/results/latest.json` rewrites the tables, targets and charts
 * from a results file without measuring anything.
 *
 * Builds the page and child programs, starts the server process, then for each array size runs
 * every method `runs` times, alternating them (round r runs the methods rotated by r), so machine
 * drift hits all of them; then the concurrency run. Prints the table and the targets and writes
 * latest.json, latest.md, throughput.svg and memory.svg (to bench/results/; quick and partial
 * runs write to bench/results/tmp/quick|partial/ so they never overwrite the reference results).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildBench } from "./build.ts";
import { memorySvg, throughputSvg } from "./charts.ts";
import { describeMachine } from "./machine.ts";
import {
  ARROW_BATCH_ROW_COUNT,
  type BenchPlan,
  CONCURRENT_CLIENT_COUNT,
  JSON_MAX_ELEMENT_COUNT,
  METHODS,
  type Method,
  makePlan,
  methodsAt,
  sizeLabel,
} from "./plan.ts";
import { descendantsOf, signalEach } from "./proc.ts";
import { markdownReport, textTable, textTargets } from "./report.ts";
import { type BenchResults, type Cell, type Sample, summarize } from "./results.ts";
import { liveChildren, type RunContext, runBrowser, runConcurrency, runNode, ServerProcess } from "./runners.ts";
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
  },
});
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
    `Arrays are Float64Array arange (a[i] = i), published once in the server process; sizes ${p.elementCounts.map(sizeLabel).join(", ")}; targets are judged at ${sizeLabel(p.referenceElementCount)}${p.quick ? " (quick mode: the reference 400 MB is not run)" : ""}.`,
    "Server process and Node client process are separate (2 cores: one each); browser runs start a fresh Chromium (fresh profile) per run, launched directly with --headless=new (no DevTools attached); Playwright rows use chromium.launch() on the same page.",
    `Methods alternate: each round runs every method of a size once, the order rotated by one per round; ${p.runCount} round(s) per size; one untimed arraywire warm-up per size primes the server (checksum cache) and the page cache.`,
    `JSON is capped at ${sizeLabel(JSON_MAX_ELEMENT_COUNT)} of array (${(JSON_MAX_ELEMENT_COUNT / 1e6).toFixed(1)}M values; integers here, so ~1.05 text bytes per array byte: real doubles would be ~2x slower); its MB/s counts array bytes. 1.6 GB runs only arraywire, fetch-BYOB and raw TCP; ws one-message, the ws loop and Arrow stop at 400 MB.`,
    `Arrow IPC: stream format, one Float64 column in record batches of ${ARROW_BATCH_ROW_COUNT.toLocaleString("en-US")} rows (8 MiB), encoded once at server start; the page times fetch -> RecordBatchReader.from -> each batch's column copied into a preallocated Float64Array.`,
    "arraywire runs use the library defaults (transport auto: ws in Node, http in Chromium; verify: true, so the client computes an XXH32 of every byte) unless the row says otherwise. Browser targets are fresh (the method allocates). Node 'fresh' is a new process's first transfer, into memory the method allocates (first-touch page faults and a cold JIT/allocator are part of it); 'reused' is a repeat transfer: the target is allocated and touched, one untimed transfer runs into it, the target is reset to -1, then the timed transfer runs.",
    `Concurrency: ${CONCURRENT_CLIENT_COUNT} arraywire ws connections from one Node client process, fresh targets, on one array the server generates just before (baseline taken after a GC, before the array exists); aggregate MB/s = all bytes / time until the last client finished.`,
    "Memory: VmHWM after resetting it (echo 5 > /proc/PID/clear_refs) minus VmRSS before the run; the Node client reports its own VmRSS before allocating and VmHWM at the end of the transfer.",
  ];
}

async function measure(ctx: RunContext, method: Method, elementCount: number): Promise<Sample> {
  const run = ++runId;
  try {
    if (method.env === "node") return await runNode(ctx, method, elementCount, run);
    return await runBrowser(ctx, method, elementCount, run);
  } catch (err) {
    return { ok: false, ms: 0, mbps: 0, verified: false, error: String((err as Error).message ?? err) };
  }
}

function logSample(index: number, total: number, label: string, elementCount: number, sample: Sample): void {
  const elapsed = ((Date.now() - startedAt) / 1000).toFixed(0).padStart(4);
  const status = sample.ok ? `${Math.round(sample.mbps).toString().padStart(6)} MB/s` : `FAILED: ${sample.error}`;
  console.log(
    `[${elapsed} s] ${String(index).padStart(3)}/${total} ${sizeLabel(elementCount).padStart(7)}  ${label.padEnd(44)} ${status}`,
  );
}

function rotate<T>(items: T[], by: number): T[] {
  const k = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

async function main(): Promise<void> {
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
  const ctx: RunContext = { server, nodeClientScript: built.nodeClient };
  const cells: Cell[] = [];
  const selected = (n: number) => methodsAt(plan, n).filter((m) => !only || only.test(m.id));
  const runConcurrent = !plan.sweep && (!only || only.test("concurrency"));
  const total =
    plan.elementCounts.reduce((a, n) => a + selected(n).length, 0) * plan.runCount +
    (runConcurrent ? plan.runCount : 0);
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
  if (runConcurrent) {
    const n = plan.concurrentElementCount;
    const cell: Cell = {
      methodId: "concurrency",
      env: "concurrency",
      label: `${CONCURRENT_CLIENT_COUNT} arraywire clients on one array`,
      elementCount: n,
      byteLength: n * 8 * CONCURRENT_CLIENT_COUNT,
      samples: [],
    };
    cells.push(cell);
    for (let round = 0; round < plan.runCount; round++) {
      let sample: Sample;
      try {
        sample = await runConcurrency(ctx, n, CONCURRENT_CLIENT_COUNT, ++runId);
      } catch (err) {
        sample = { ok: false, ms: 0, mbps: 0, verified: false, error: String((err as Error).message ?? err) };
      }
      cell.samples.push(sample);
      logSample(++index, total, cell.label, n, sample);
    }
  }
  await server.kill();
  for (const cell of cells) summarize(cell);
  const largest = Math.max(...plan.elementCounts);
  const results: BenchResults = {
    date: new Date().toISOString(),
    quick: plan.quick,
    runCount: plan.runCount,
    referenceElementCount: plan.referenceElementCount,
    durationSeconds: (Date.now() - startedAt) / 1000,
    machine,
    notes: notes(plan),
    methods: METHODS.filter((m) => cells.some((c) => c.methodId === m.id)).map((m) => ({
      id: m.id,
      env: m.env,
      label: m.label,
      description: m.description,
    })),
    cells,
    targets: plan.sweep ? [] : evaluateTargets(cells, plan.referenceElementCount, largest, plan.concurrentElementCount),
  };
  writeOutputs(results);
}

function writeOutputs(results: BenchResults, dir = resultsDir): void {
  mkdirSync(dir, { recursive: true });
  const m = results.machine;
  const subtitle = `${results.date.slice(0, 10)}, ${m.cpu} (${m.cores} cores), Node ${m.node}, Chromium ${m.chromium}; median of ${results.runCount} run(s)${results.quick ? ", QUICK MODE" : ""}`;
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(join(dir, "latest.md"), markdownReport(results));
  writeFileSync(join(dir, "throughput.svg"), throughputSvg(results.cells, subtitle));
  const concurrent = results.cells.find((c) => c.env === "concurrency")?.elementCount ?? results.referenceElementCount;
  writeFileSync(
    join(dir, "memory.svg"),
    memorySvg(results.cells, results.referenceElementCount, concurrent, CONCURRENT_CLIENT_COUNT, subtitle),
  );
  console.log(
    `\n${textTable(results)}\n\nTargets (at ${sizeLabel(results.referenceElementCount)}):\n${textTargets(results.targets)}`,
  );
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
  const concurrent = results.cells.find((c) => c.env === "concurrency")?.elementCount ?? results.referenceElementCount;
  for (const cell of results.cells) summarize(cell);
  results.targets = evaluateTargets(results.cells, results.referenceElementCount, Math.max(...ns), concurrent);
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
