/**
 * The bench's report: the main table (for the terminal and latest.md), the sweep tables, the
 * many-clients table, the machine, the notes and every target with its measured ratio and
 * PASS/MISS. The main table has the main methods, each sweep's fixed point (the one that runs at
 * every size) and each ceiling (the best point of its sweep, at the reference size).
 */
import { MB, METHODS, sizeLabel } from "./plan.ts";
import type { BenchResults, TargetResult } from "./results.ts";
import {
  manyClientsTable,
  spreadText,
  sweepTables,
  type Table,
  tableMarkdown,
  tableText,
  throughputText,
} from "./sweep-report.ts";
import { bestOfGroup, SWEEP_GROUPS } from "./sweeps.ts";

/** Rows: one per method (sweep points only when they run at every size) and one per ceiling. */
export function mainTable(results: BenchResults): Table {
  const sizes = [...new Set(results.cells.filter((c) => c.env !== "concurrency").map((c) => c.elementCount))].sort(
    (a, b) => a - b,
  );
  const ref = results.referenceElementCount;
  const header = [
    "method",
    ...sizes.map((n) => `${sizeLabel(n)} MB/s`),
    `minor faults @ ${sizeLabel(ref)}`,
    `client/renderer MB @ ${sizeLabel(ref)}`,
    `server MB @ ${sizeLabel(ref)}`,
  ];
  const rows: string[][] = [];
  for (const method of METHODS) {
    if (method.sweep && method.referenceOnly) continue;
    const cells = results.cells.filter((c) => c.methodId === method.id);
    if (cells.length === 0) continue;
    const atRef = cells.find((c) => c.elementCount === ref)?.summary;
    rows.push([
      `${method.env}: ${method.label}`,
      ...sizes.map((n) => throughputText(cells.find((c) => c.elementCount === n))),
      spreadText(atRef?.minorFaults),
      spreadText(atRef?.clientRssBytes ?? atRef?.rendererRssBytes, MB),
      spreadText(atRef?.serverRssBytes, MB),
    ]);
  }
  for (const group of SWEEP_GROUPS.filter((g) => g.ceiling)) {
    const best = bestOfGroup(results.cells, METHODS, group.id, ref);
    const point = METHODS.find((m) => m.id === best?.methodId);
    if (!best || !point?.sweep) continue;
    const settings = [`${group.rowName} ${point.sweep.row}`];
    if (group.columnName) settings.push(`${group.columnName} ${point.sweep.column}`);
    rows.push([
      `${group.env}: CEILING ${group.ceilingLabel} (${settings.join(", ")})`,
      ...sizes.map((n) => (n === ref ? throughputText(best) : "-")),
      spreadText(best.summary?.minorFaults),
      spreadText(best.summary?.clientRssBytes ?? best.summary?.rendererRssBytes, MB),
      spreadText(best.summary?.serverRssBytes, MB),
    ]);
  }
  return { title: "Throughput and memory", notes: [], header, rows };
}

function verdict(t: TargetResult): string {
  if (t.pass === null) return "n/a";
  if (t.info) return "info";
  return t.pass ? "PASS" : "MISS";
}

function valueText(t: TargetResult): string {
  if (t.value === null) return "-";
  if (t.valueText) return t.valueText;
  return t.threshold.includes("MB/s")
    ? `${Math.round(t.value).toLocaleString("en-US")} MB/s`
    : `${t.value.toFixed(2)}x`;
}

/** The targets for the terminal. */
export function textTargets(targets: TargetResult[]): string {
  return targets
    .map((t) => `${verdict(t).padEnd(4)}  ${valueText(t).padStart(10)} (${t.threshold})  ${t.text}`)
    .join("\n");
}

/** Everything for the terminal: main table, sweeps, many clients, targets. */
export function textReport(results: BenchResults): string {
  const tables = [
    mainTable(results),
    ...sweepTables(results.cells, results.referenceElementCount),
    manyClientsTable(results.cells),
  ];
  const parts = tables.flatMap((t) => (t && t.rows.length > 0 ? [`${t.title}\n${tableText(t)}`] : []));
  if (results.targets.length > 0) {
    parts.push(`Targets (at ${sizeLabel(results.referenceElementCount)}):\n${textTargets(results.targets)}`);
  }
  return parts.join("\n\n");
}

const escapeCell = (s: string) => s.replaceAll("|", "\\|");

/** latest.md. */
export function markdownReport(results: BenchResults): string {
  const m = results.machine;
  const command = results.quick
    ? "npm run bench -- --quick"
    : results.sweep
      ? "npm run bench -- --sweep"
      : "npm run bench";
  const section = (t: Table | undefined, level = "##") =>
    t && t.rows.length > 0
      ? [`${level} ${t.title}`, "", ...t.notes.flatMap((n) => [n, ""]), ...tableMarkdown(t), ""]
      : [];
  const out: string[] = [
    `# arraywire benchmark${results.quick ? " (quick mode: smoke run, not the reference figures)" : ""}`,
    "",
    `${results.date}, ${results.durationSeconds.toFixed(0)} s, \`${command}\`. Median of ${results.runCount} run(s) with (min-max); MB/s = 1e6 bytes/s of array bytes, timed from the request to the last byte written into the target; every run's data verified (a[i] === i).`,
    "",
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}, transparent huge pages: ${m.transparentHugePages ?? "unknown"} (defrag: ${m.transparentHugePagesDefrag ?? "unknown"}); Node ${m.node}, Chromium ${m.chromium}, Python ${m.python ?? "unknown"}, ws ${m.ws}, Playwright ${m.playwright}, apache-arrow ${m.arrow}.`,
    "",
    "![MB/s by array size](throughput.svg)",
    "",
    "![peak memory](memory.svg)",
    "",
    ...section(mainTable(results)),
    "Memory is peak RSS minus baseline: the Node or Python client process (before anything was allocated), the Chromium renderer (page loaded, before the request), the server process (before the run). Minor faults: of the client process during the timed transfer (Node: process.resourceUsage(), Python: getrusage), or of the renderer from /proc/PID/stat. CEILING rows are the best point of their sweep (below), at the reference size.",
    "",
  ];
  if (results.targets.length > 0) {
    out.push(
      "## Targets",
      "",
      "| result | value | threshold | target | measured |",
      "|---|---:|---|---|---|",
      ...results.targets.map(
        (t) =>
          `| ${verdict(t)} | ${valueText(t)} | ${escapeCell(t.threshold)} | ${escapeCell(t.text)} | ${escapeCell(t.measured)} |`,
      ),
      "",
    );
  }
  const sweeps = sweepTables(results.cells, results.referenceElementCount);
  if (sweeps.length > 0) out.push("## Sweeps", "", ...sweeps.flatMap((t) => section(t, "###")));
  out.push(...section(manyClientsTable(results.cells)));
  out.push(
    "## Notes",
    "",
    ...results.notes.map((n) => `- ${n}`),
    "",
    "## Methods",
    "",
    ...results.methods.map((x) => `- **${x.env}: ${x.label}**: ${x.description}`),
    "",
  );
  return out.join("\n");
}
