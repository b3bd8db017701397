/**
 * Hand-written SVG charts for the README: throughput.svg (grouped bars, MB/s by array size per
 * method, median with a min-max whisker, one panel for Node and one for the browser) and
 * memory.svg (peak minus baseline RSS per method at the reference size, against the array size
 * and the target).
 */
import { type Env, MANY_CLIENTS, MB, METHODS, type Method, sizeLabel } from "./plan.ts";
import type { Cell } from "./results.ts";
import { bestOfGroup, SWEEP_GROUPS } from "./sweeps.ts";
import { manyClientsLimitBytes } from "./targets.ts";

const COLORS: Record<string, string> = {
  "node-arraywire-fresh": "#1f5fbf",
  "node-arraywire-reused": "#7fb0ff",
  "node-arraywire-noverify-fresh": "#117a65",
  "node-arraywire-noverify-reused": "#76d7c4",
  "node-arraywire-ws-fresh": "#2e86c1",
  "node-arraywire-ws-reused": "#aed6f1",
  "python-recv-xxh32-fresh": "#196f3d",
  "python-recv-xxh32-reused": "#82e0aa",
  "python-recv-fresh": "#7d6608",
  "python-recv-reused": "#f7dc6f",
  "node-recv-fresh-r16m-w4m": "#000000",
  "node-recv-reused-r16m-w4m": "#7f7f7f",
  "node-tcp-fresh": "#4d4d4d",
  "node-tcp-reused": "#b3b3b3",
  "node-ws-one-fresh": "#d35400",
  "node-ws-one-reused": "#f5b041",
  "node-json": "#c0392b",
  "node-arraywire-http-fresh": "#6c3483",
  "node-arraywire-http-reused": "#bb8fce",
  "browser-aw-auto": "#1f5fbf",
  "browser-aw-ws": "#7fb0ff",
  "browser-aw-auto-noverify": "#117a65",
  "browser-aw-ws-noverify": "#76d7c4",
  "browser-ws-loop-m1m": "#d35400",
  "browser-byob-rall-w64k": "#4d4d4d",
  "browser-json": "#c0392b",
  "browser-arrow": "#8e44ad",
  "playwright-aw-auto": "#7d6608",
  "playwright-aw-ws": "#d4ac0d",
  "playwright-ws-loop": "#e59866",
  "ceiling-byob": "#000000",
  "ceiling-ws-loop": "#873600",
  "ceiling-recv-reused": "#a569bd",
  "ceiling-recv-fresh": "#5b2c6f",
  "many-50x400": "#1f5fbf",
  "many-10x1600": "#7fb0ff",
};

const WIDTH = 1100;
const FONT = `font-family="Helvetica, Arial, sans-serif"`;

const esc = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const text = (x: number, y: number, s: string, attrs = "") =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;

/** A round axis maximum and step for values up to `max`. */
function niceScale(max: number): { top: number; step: number } {
  const raw = Math.max(max, 1) / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((f) => f * power >= raw) ?? 10) * power;
  return { top: Math.ceil(max / step) * step, step };
}

interface Panel {
  title: string;
  envs: Env[];
}

function throughputPanel(
  cells: Cell[],
  allMethods: Method[],
  panel: Panel,
  top: number,
): { svg: string; height: number } {
  const methods = allMethods.filter(
    (m) => panel.envs.includes(m.env) && !(m.sweep && m.referenceOnly) && cells.some((c) => c.methodId === m.id),
  );
  const sizes = [
    ...new Set(cells.filter((c) => methods.some((m) => m.id === c.methodId)).map((c) => c.elementCount)),
  ].sort((a, b) => a - b);
  const groups = sizes.map((n) => ({
    n,
    bars: methods.flatMap((m) => {
      const cell = cells.find((c) => c.methodId === m.id && c.elementCount === n);
      return cell ? [{ method: m, cell }] : [];
    }),
  }));
  const left = 70;
  const plotWidth = WIDTH - left - 20;
  const plotTop = top + 34;
  const plotHeight = 280;
  const slotCount = groups.reduce((a, g) => a + g.bars.length, 0) + groups.length * 1.2;
  const slot = Math.min(40, plotWidth / Math.max(slotCount, 1));
  const maxValue = Math.max(
    ...cells.flatMap((c) => (methods.some((m) => m.id === c.methodId) && c.summary ? [c.summary.mbps.max] : [0])),
  );
  const { top: yTop, step } = niceScale(maxValue * 1.08);
  const y = (v: number) => plotTop + plotHeight - (v / yTop) * plotHeight;
  const parts: string[] = [text(left, top + 18, panel.title, `font-size="16" font-weight="bold" ${FONT}`)];
  for (let v = 0; v <= yTop + 1e-9; v += step) {
    parts.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e3e3"/>`);
    parts.push(
      text(left - 6, y(v) + 4, Math.round(v).toLocaleString("en-US"), `font-size="11" text-anchor="end" ${FONT}`),
    );
  }
  parts.push(
    text(
      16,
      plotTop + plotHeight / 2,
      "MB/s (1e6 B/s)",
      `font-size="12" ${FONT} transform="rotate(-90 16 ${plotTop + plotHeight / 2})" text-anchor="middle"`,
    ),
  );
  let x = left + slot * 0.6;
  for (const group of groups) {
    const groupStart = x;
    for (const { method, cell } of group.bars) {
      const s = cell.summary;
      const barX = x + slot * 0.1;
      const barW = slot * 0.8;
      const color = COLORS[method.id] ?? "#888";
      if (s) {
        const h = plotTop + plotHeight - y(s.mbps.median);
        parts.push(
          `<rect x="${barX.toFixed(1)}" y="${y(s.mbps.median).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${esc(`${method.label} @ ${sizeLabel(group.n)}: ${Math.round(s.mbps.median)} MB/s (${Math.round(s.mbps.min)}-${Math.round(s.mbps.max)})`)}</title></rect>`,
        );
        const cx = barX + barW / 2;
        parts.push(
          `<line x1="${cx}" x2="${cx}" y1="${y(s.mbps.min)}" y2="${y(s.mbps.max)}" stroke="#222" stroke-width="1"/>`,
        );
        parts.push(`<line x1="${cx - 3}" x2="${cx + 3}" y1="${y(s.mbps.max)}" y2="${y(s.mbps.max)}" stroke="#222"/>`);
        const label = String(Math.round(s.mbps.median));
        const labelY = y(s.mbps.max) - 4;
        parts.push(
          slot >= 30
            ? text(cx, labelY, label, `font-size="10" text-anchor="middle" ${FONT}`)
            : text(cx + 3, labelY, label, `font-size="10" ${FONT} transform="rotate(-90 ${cx + 3} ${labelY})"`),
        );
      } else {
        parts.push(
          text(
            barX + barW / 2,
            plotTop + plotHeight - 4,
            "fail",
            `font-size="9" text-anchor="middle" fill="#c0392b" ${FONT}`,
          ),
        );
      }
      x += slot;
    }
    parts.push(
      text(
        (groupStart + x) / 2,
        plotTop + plotHeight + 18,
        sizeLabel(group.n),
        `font-size="13" text-anchor="middle" font-weight="bold" ${FONT}`,
      ),
    );
    x += slot * 1.2;
  }
  parts.push(
    `<line x1="${left}" x2="${left + plotWidth}" y1="${plotTop + plotHeight}" y2="${plotTop + plotHeight}" stroke="#444"/>`,
  );
  const legendTop = plotTop + plotHeight + 36;
  const columns = 2;
  const columnWidth = (WIDTH - left) / columns;
  methods.forEach((m, i) => {
    const lx = left + (i % columns) * columnWidth;
    const ly = legendTop + Math.floor(i / columns) * 18;
    parts.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${COLORS[m.id] ?? "#888"}"/>`);
    parts.push(text(lx + 18, ly + 10, m.label, `font-size="12" ${FONT}`));
  });
  const height = legendTop - top + Math.ceil(methods.length / columns) * 18 + 16;
  return { svg: parts.join("\n"), height };
}

/** The CEILING bars: each ceiling sweep's best point at `ref`, as a method and a cell of its own. */
function ceilingBars(cells: Cell[], ref: number): { methods: Method[]; cells: Cell[] } {
  const out: { methods: Method[]; cells: Cell[] } = { methods: [], cells: [] };
  for (const group of SWEEP_GROUPS.filter((g) => g.ceiling)) {
    const best = bestOfGroup(cells, METHODS, group.id, ref);
    const point = METHODS.find((m) => m.id === best?.methodId);
    if (!best || !point) continue;
    const id = `ceiling-${group.id}`;
    const label = `CEILING ${point.label}`;
    out.methods.push({ ...point, id, label, sweep: undefined, referenceOnly: true });
    out.cells.push({ ...best, methodId: id, label });
  }
  return out;
}

/** throughput.svg: one panel per environment, the ceilings at the reference size. */
export function throughputSvg(cells: Cell[], ref: number, subtitle: string): string {
  const ceilings = ceilingBars(cells, ref);
  const allCells = [...cells, ...ceilings.cells];
  const allMethods = [...METHODS, ...ceilings.methods];
  const panels: Panel[] = [
    { title: "Node and Python clients: MB/s by array size (median, whisker = min-max)", envs: ["node", "python"] },
    {
      title: "Browser (Chromium 156 started directly; Playwright rows at the reference size)",
      envs: ["browser", "playwright"],
    },
  ];
  let top = 40;
  const parts: string[] = [text(20, 24, subtitle, `font-size="13" fill="#444" ${FONT}`)];
  for (const panel of panels) {
    if (!cells.some((c) => (panel.envs as string[]).includes(c.env))) continue;
    const { svg, height } = throughputPanel(allCells, allMethods, panel, top);
    parts.push(svg);
    top += height + 20;
  }
  return svgDocument(top, parts);
}

function svgDocument(height: number, parts: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${Math.ceil(height)}" viewBox="0 0 ${WIDTH} ${Math.ceil(height)}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

interface MemoryRow {
  id: string;
  label: string;
  bytes: number;
}

interface MemoryGroup {
  title: string;
  rows: MemoryRow[];
  arrayBytes: number;
  /** Draw the array's size as a line (not for the server groups: their baseline holds the array). */
  showArray?: boolean;
  limitBytes: number;
  limitLabel: string;
}

/** memory.svg: horizontal bars of peak minus baseline RSS at the reference size, and the many-clients servers. */
export function memorySvg(cells: Cell[], ref: number, subtitle: string): string {
  const refBytes = ref * 8;
  const shown = new Set(METHODS.filter((m) => !(m.sweep && m.referenceOnly)).map((m) => m.id));
  const rowsFor = (
    envs: (Env | "concurrency")[],
    key: "clientRssBytes" | "rendererRssBytes" | "serverRssBytes",
    n: number,
  ) =>
    cells
      .filter(
        (c) =>
          envs.includes(c.env) &&
          (c.env === "concurrency" || shown.has(c.methodId)) &&
          c.elementCount === n &&
          c.summary?.[key],
      )
      .map((c) => ({ id: c.methodId, label: c.label, bytes: c.summary?.[key]?.median ?? 0 }));
  const groups: MemoryGroup[] = [
    {
      title: `Node and Python client processes, ${sizeLabel(ref)} array`,
      rows: rowsFor(["node", "python"], "clientRssBytes", ref),
      arrayBytes: refBytes,
      showArray: true,
      limitBytes: 1.1 * refBytes + 64 * MB,
      limitLabel: "target 1.1x + 64 MB",
    },
    {
      title: `Chromium renderer, ${sizeLabel(ref)} array`,
      rows: rowsFor(["browser", "playwright"], "rendererRssBytes", ref),
      arrayBytes: refBytes,
      showArray: true,
      limitBytes: 1.1 * refBytes,
      limitLabel: "target 1.1x",
    },
    ...MANY_CLIENTS.map((many) => ({
      title: `Server process, ${many.clientCount} arraywire clients on one ${sizeLabel(many.elementCount)} array`,
      rows: rowsFor(["concurrency"], "serverRssBytes", many.elementCount).filter((r) => r.id === many.id),
      arrayBytes: many.elementCount * 8,
      limitBytes: manyClientsLimitBytes(many.clientCount),
      limitLabel: "target 64 MB + 4 MiB/client",
    })),
  ].filter((g) => g.rows.length > 0);
  const labelWidth = 300;
  const plotLeft = 20 + labelWidth;
  const plotWidth = WIDTH - plotLeft - 170;
  const maxBytes = Math.max(...groups.flatMap((g) => [...g.rows.map((r) => r.bytes), g.limitBytes]));
  const { top: xTop, step } = niceScale(maxBytes / MB);
  const x = (bytes: number) => plotLeft + (Math.max(bytes, 0) / MB / xTop) * plotWidth;
  const parts: string[] = [
    text(20, 24, "Peak minus baseline RSS (MB = 1e6 bytes)", `font-size="16" font-weight="bold" ${FONT}`),
    text(20, 44, subtitle, `font-size="13" fill="#444" ${FONT}`),
  ];
  let top = 64;
  const rowHeight = 22;
  for (const group of groups) {
    parts.push(text(20, top + 14, group.title, `font-size="14" font-weight="bold" ${FONT}`));
    const rowsTop = top + 34; // room for the line labels under the title
    const rowsBottom = rowsTop + group.rows.length * rowHeight;
    for (let v = 0; v <= xTop + 1e-9; v += step) {
      const gx = x(v * MB);
      parts.push(`<line x1="${gx}" x2="${gx}" y1="${rowsTop}" y2="${rowsBottom}" stroke="#eee"/>`);
      parts.push(
        text(gx, rowsBottom + 12, String(Math.round(v)), `font-size="10" text-anchor="middle" fill="#666" ${FONT}`),
      );
    }
    const valueLabels: string[] = [];
    group.rows.forEach((row, i) => {
      const ry = rowsTop + i * rowHeight;
      parts.push(text(plotLeft - 8, ry + 15, row.label, `font-size="12" text-anchor="end" ${FONT}`));
      parts.push(
        `<rect x="${plotLeft}" y="${ry + 3}" width="${(x(row.bytes) - plotLeft).toFixed(1)}" height="${rowHeight - 6}" fill="${COLORS[row.id] ?? "#888"}"/>`,
      );
      const ratio = group.showArray ? ` (${(row.bytes / group.arrayBytes).toFixed(2)}x)` : "";
      valueLabels.push(
        text(
          x(row.bytes) + 6,
          ry + 15,
          `${Math.round(row.bytes / MB)} MB${ratio}`,
          `font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke" ${FONT}`,
        ),
      );
    });
    // The array's label goes left of its line and the target's right of its own: they sit close.
    const lines = [
      ...(group.showArray ? [[group.arrayBytes, "#555", "array", "end"] as const] : []),
      [group.limitBytes, "#c0392b", group.limitLabel, "start"] as const,
    ];
    for (const [bytes, color, label, side] of lines) {
      const lx = x(bytes);
      parts.push(
        `<line x1="${lx}" x2="${lx}" y1="${rowsTop - 4}" y2="${rowsBottom}" stroke="${color}" stroke-dasharray="5 3" stroke-width="1.5"/>`,
      );
      parts.push(
        text(
          side === "end" ? lx - 3 : lx + 3,
          rowsTop - 6,
          label,
          `font-size="10" fill="${color}" text-anchor="${side}" ${FONT}`,
        ),
      );
    }
    // Drawn last, with a white halo, so the dashed lines never hide a figure.
    parts.push(...valueLabels);
    top = rowsBottom + 28;
  }
  return svgDocument(top, parts);
}
