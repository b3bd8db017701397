/**
 * The bench's tables: one for the terminal (padded text) and latest.md (Markdown, with the
 * machine, the notes and every target with its measured ratio and PASS/MISS).
 */
import { MB, METHODS, sizeLabel } from "./plan.ts";
import type { BenchResults, Cell, Spread, TargetResult } from "./results.ts";

const int = (v: number) => Math.round(v).toLocaleString("en-US");

function spreadText(s: Spread | undefined, scale = 1): string {
  if (!s) return "";
  return `${int(s.median / scale)} (${int(s.min / scale)}-${int(s.max / scale)})`;
}

function throughputText(cell: Cell | undefined): string {
  if (!cell) return "-";
  const s = cell.summary;
  const failed = cell.samples.filter((x) => !x.ok).length;
  if (!s) return `FAIL (${failed}/${cell.samples.length})`;
  return `${spreadText(s.mbps)}${failed ? ` ${failed} failed` : ""}${s.verified ? "" : " UNVERIFIED"}`;
}

/** Rows: one per method; columns: sizes, then memory at the reference size. */
function tableRows(results: BenchResults): { header: string[]; rows: string[][] } {
  const sizes = [...new Set(results.cells.map((c) => c.elementCount))]
    .filter((n) => results.cells.some((c) => c.elementCount === n && c.env !== "concurrency"))
    .sort((a, b) => a - b);
  const ref = results.referenceElementCount;
  const header = [
    "method",
    ...sizes.map((n) => `${sizeLabel(n)} MB/s`),
    `client/renderer MB @ ${sizeLabel(ref)}`,
    `server MB @ ${sizeLabel(ref)}`,
  ];
  const rows: string[][] = [];
  for (const method of METHODS) {
    const cells = results.cells.filter((c) => c.methodId === method.id);
    if (cells.length === 0) continue;
    const atRef = cells.find((c) => c.elementCount === ref)?.summary;
    rows.push([
      `${method.env}: ${method.label}`,
      ...sizes.map((n) => throughputText(cells.find((c) => c.elementCount === n))),
      spreadText(atRef?.clientRssBytes ?? atRef?.rendererRssBytes, MB),
      spreadText(atRef?.serverRssBytes, MB),
    ]);
  }
  for (const cell of results.cells.filter((c) => c.env === "concurrency")) {
    rows.push([
      `${cell.label} (aggregate)`,
      ...sizes.map((n) => (n === cell.elementCount ? throughputText(cell) : "-")),
      spreadText(cell.summary?.clientRssBytes, MB),
      spreadText(cell.summary?.serverRssBytes, MB),
    ]);
  }
  return { header, rows };
}

/** The table for the terminal. */
export function textTable(results: BenchResults): string {
  const { header, rows } = tableRows(results);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function verdict(t: TargetResult): string {
  if (t.pass === null) return "n/a";
  if (t.info) return "info";
  return t.pass ? "PASS" : "MISS";
}

function valueText(t: TargetResult): string {
  if (t.value === null) return "-";
  if (t.valueText) return t.valueText;
  return t.threshold.includes("MB/s") ? `${int(t.value)} MB/s` : `${t.value.toFixed(2)}x`;
}

/** The targets for the terminal. */
export function textTargets(targets: TargetResult[]): string {
  return targets
    .map((t) => `${verdict(t).padEnd(4)}  ${valueText(t).padStart(10)} (${t.threshold})  ${t.text}`)
    .join("\n");
}

const escapeCell = (s: string) => s.replaceAll("|", "\\|");

/** latest.md. */
export function markdownReport(results: BenchResults): string {
  const { header, rows } = tableRows(results);
  const m = results.machine;
  const out: string[] = [
    `# arraywire benchmark${results.quick ? " (quick mode: smoke run, not the reference figures)" : ""}`,
    "",
    `${results.date}, ${results.durationSeconds.toFixed(0)} s, \`npm run bench${results.quick ? " -- --quick" : ""}\`. Median of ${results.runCount} run(s) with (min-max); MB/s = 1e6 bytes/s of array bytes, timed from the request to the last byte written into the target; every run's data verified (a[i] === i).`,
    "",
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; Node ${m.node}, Chromium ${m.chromium}, ws ${m.ws}, Playwright ${m.playwright}, apache-arrow ${m.arrow}.`,
    "",
    "![MB/s by array size](throughput.svg)",
    "",
    "![peak memory](memory.svg)",
    "",
    "## Throughput and memory",
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.map(escapeCell).join(" | ")} |`),
    "",
    "Memory is peak RSS minus baseline: the Node client process (before anything was allocated), the Chromium renderer (page loaded, before the request), the server process (before the run; for the concurrency row, before the array was generated).",
    "",
    "## Targets",
    "",
    "| result | value | threshold | target | measured |",
    "|---|---:|---|---|---|",
    ...results.targets.map(
      (t) =>
        `| ${verdict(t)} | ${valueText(t)} | ${escapeCell(t.threshold)} | ${escapeCell(t.text)} | ${escapeCell(t.measured)} |`,
    ),
    "",
    "## Notes",
    "",
    ...results.notes.map((n) => `- ${n}`),
    "",
    "## Methods",
    "",
    ...results.methods.map((x) => `- **${x.env}: ${x.label}**: ${x.description}`),
    "",
  ];
  return out.join("\n");
}
