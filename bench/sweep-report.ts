/**
 * The sweep tables (one per sweep: a matrix of row setting x column setting, or a list for
 * one-setting sweeps) and the many-clients table, as rows of strings for report.ts to print as
 * Markdown or padded text.
 */
import { MB, METHODS, sizeLabel } from "./plan.ts";
import type { Cell, Spread } from "./results.ts";
import { bestOfGroup, SWEEP_GROUPS, type SweepGroup } from "./sweeps.ts";

/** One table: a title, notes under it, a header and rows. `bold` marks the best cell, [row, column]. */
export interface Table {
  title: string;
  notes: string[];
  header: string[];
  rows: string[][];
  bold?: [number, number];
}

const int = (v: number) => Math.round(v).toLocaleString("en-US");

/** "1,234 (1,100-1,300)" of a spread scaled by 1/scale, or "" without one. */
export function spreadText(s: Spread | undefined, scale = 1): string {
  if (!s) return "";
  return `${int(s.median / scale)} (${int(s.min / scale)}-${int(s.max / scale)})`;
}

/** MB/s of a cell as a table cell: median (min-max), failures and verification marked. */
export function throughputText(cell: Cell | undefined): string {
  if (!cell) return "-";
  const s = cell.summary;
  const failed = cell.samples.filter((x) => !x.ok).length;
  if (!s) return `FAIL (${failed}/${cell.samples.length})`;
  return `${spreadText(s.mbps)}${failed ? ` ${failed} failed` : ""}${s.verified ? "" : " UNVERIFIED"}`;
}

/** Memory of a cell (client or renderer), in MB. */
function memoryText(cell: Cell | undefined): string {
  return spreadText(cell?.summary?.clientRssBytes ?? cell?.summary?.rendererRssBytes, MB);
}

function sweepTable(group: SweepGroup, cells: Cell[], elementCount: number): Table | undefined {
  const points = METHODS.filter((m) => m.sweep?.group === group.id);
  const cellOf = (id: string) => cells.find((c) => c.methodId === id && c.elementCount === elementCount);
  if (!points.some((m) => cellOf(m.id))) return undefined;
  const best = bestOfGroup(cells, METHODS, group.id, elementCount);
  const bestPoint = points.find((m) => m.id === best?.methodId);
  const notes = [group.description];
  if (group.ceiling && best?.summary && bestPoint?.sweep) {
    const where = [`${group.rowName} ${bestPoint.sweep.row}`];
    if (group.columnName) where.push(`${group.columnName} ${bestPoint.sweep.column}`);
    const faults = best.summary.minorFaults ? `, ${int(best.summary.minorFaults.median)} minor faults/run` : "";
    notes.push(
      `Best (the ceiling row): ${where.join(", ")}: ${throughputText(best)} MB/s, ${memoryText(best)} MB peak - baseline${faults}.`,
    );
  }
  const rowValues = [...new Set(points.map((m) => m.sweep?.row ?? ""))];
  if (group.columnName) {
    const columnValues = [...new Set(points.map((m) => m.sweep?.column ?? ""))];
    let bold: [number, number] | undefined;
    const rows = rowValues.map((row, r) => [
      row,
      ...columnValues.map((column, c) => {
        const m = points.find((p) => p.sweep?.row === row && p.sweep?.column === column);
        if (m && m.id === best?.methodId) bold = [r, c + 1];
        return m ? throughputText(cellOf(m.id)) : "-";
      }),
    ]);
    return {
      title: `${group.title} @ ${sizeLabel(elementCount)}: MB/s by ${group.rowName} (rows) x ${group.columnName} (columns)`,
      notes,
      header: [group.rowName, ...columnValues],
      rows,
      bold,
    };
  }
  let bold: [number, number] | undefined;
  const rows = rowValues.map((row, r) => {
    const m = points.find((p) => p.sweep?.row === row);
    const cell = m && cellOf(m.id);
    if (m && m.id === best?.methodId) bold = [r, 1];
    return [row, throughputText(cell), memoryText(cell), spreadText(cell?.summary?.minorFaults)];
  });
  return {
    title: `${group.title} @ ${sizeLabel(elementCount)}`,
    notes,
    header: [group.rowName, "MB/s", "client/renderer MB", "minor faults"],
    rows,
    bold,
  };
}

/** One table per sweep that ran at `elementCount`. */
export function sweepTables(cells: Cell[], elementCount: number): Table[] {
  return SWEEP_GROUPS.flatMap((g) => sweepTable(g, cells, elementCount) ?? []);
}

/** The many-clients table, or undefined when none ran. */
export function manyClientsTable(cells: Cell[]): Table | undefined {
  const many = cells.filter((c) => c.env === "concurrency");
  if (many.length === 0) return undefined;
  const detail = (cell: Cell, key: string) => {
    const values = cell.samples.flatMap((s) => (s.ok && typeof s.detail?.[key] === "number" ? [s.detail[key]] : []));
    return values.length ? `${int(Math.max(...(values as number[])))}` : "";
  };
  return {
    title: "Many clients: concurrent Node clients (arraywire defaults) on one published array",
    notes: [
      "One client process, one shared touched target (every client writes the same bytes to the same places; each stream is checked by its own XXH32, then every element); server baseline after a GC with the array already in memory. Server CPU = utime + stime of the server process over the run.",
    ],
    header: [
      "run",
      "aggregate MB/s",
      "slowest client ms",
      "server CPU s / GB",
      "server MB peak - baseline",
      "client MB peak - baseline",
    ],
    rows: many.map((cell) => [
      `${cell.clientCount ?? "?"} x ${sizeLabel(cell.elementCount)}`,
      throughputText(cell),
      detail(cell, "clientMsMax"),
      cell.summary?.serverCpuSecondsPerGB
        ? `${cell.summary.serverCpuSecondsPerGB.median.toFixed(2)} (${cell.summary.serverCpuSecondsPerGB.min.toFixed(2)}-${cell.summary.serverCpuSecondsPerGB.max.toFixed(2)})`
        : "",
      spreadText(cell.summary?.serverRssBytes, MB),
      spreadText(cell.summary?.clientRssBytes, MB),
    ]),
  };
}

/** A table as padded text. */
export function tableText(table: Table): string {
  const { header, rows } = table;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const escapeCell = (s: string) => s.replaceAll("|", "\\|");

/** A table as Markdown: its header and rows, the best cell in bold. */
export function tableMarkdown(table: Table): string[] {
  const rows = table.rows.map((row, r) =>
    row.map((c, i) => (table.bold && table.bold[0] === r && table.bold[1] === i ? `**${c}**` : escapeCell(c))),
  );
  return [
    `| ${table.header.map(escapeCell).join(" | ")} |`,
    `|${table.header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}
