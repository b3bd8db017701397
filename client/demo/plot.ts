/**
 * Canvas drawing: the min/max envelope of the whole array (one column per device pixel, from
 * {@link scanArange}) and the throughput chart of a transfer. Both size their backing store to
 * the element's CSS size times devicePixelRatio, so lines stay crisp.
 */
import { formatCompact } from "./format.ts";
import type { ScanResult } from "./scan.ts";

/** Plot margins in CSS pixels: room for the axis labels. */
const MARGIN = { left: 56, right: 12, top: 12, bottom: 26 } as const;

const COLORS = {
  grid: "rgba(148, 163, 196, 0.12)",
  axisText: "#7d89a6",
  envelopeTop: "#7aa2ff",
  envelopeBottom: "#a78bfa",
  areaTop: "rgba(122, 162, 255, 0.22)",
  areaBottom: "rgba(122, 162, 255, 0.0)",
  rateLine: "#34d399",
  rateAreaTop: "rgba(52, 211, 153, 0.28)",
  rateAreaBottom: "rgba(52, 211, 153, 0.0)",
} as const;

const FONT = '11px ui-monospace, "SF Mono", "JetBrains Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace';

/** One throughput sample of a transfer. */
export interface RateSample {
  /** Milliseconds since the request. */
  elapsedMs: number;
  /** MB/s over the recent window. */
  megabytesPerSecond: number;
}

/** Device-pixel columns of the envelope plot area: how many columns {@link scanArange} should make. */
export function envelopeColumns(canvas: HTMLCanvasElement): number {
  const dpr = window.devicePixelRatio || 1;
  return Math.max(1, Math.round((canvas.clientWidth - MARGIN.left - MARGIN.right) * dpr));
}

/** Draws the min/max envelope of an array of `length` elements (a[i] against i). */
export function drawEnvelope(canvas: HTMLCanvasElement, scan: ScanResult, length: number): void {
  const { ctx, width, height } = prepare(canvas);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const { columnMin, columnMax } = scan;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < columnMin.length; c++) {
    // float16 past 65504 is Infinity: scale to the finite values and pin the rest to the edge.
    const a = columnMin[c] as number;
    const b = columnMax[c] as number;
    if (Number.isFinite(a) && a < lo) lo = a;
    if (Number.isFinite(b) && b > hi) hi = b;
  }
  if (!(lo <= hi)) {
    lo = 0;
    hi = 1;
  }
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  // A little headroom so the envelope does not run along the frame.
  const pad = (hi - lo) * 0.03;
  lo -= pad;
  hi += pad;
  const y = (v: number) => MARGIN.top + plotHeight - (Math.min(Math.max(v, lo), hi) - lo) * (plotHeight / (hi - lo));

  drawGrid(ctx, width, plotHeight, lo, hi);
  const xTicks = [0, 0.25, 0.5, 0.75, 1];
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of xTicks) {
    const x = MARGIN.left + t * plotWidth;
    ctx.fillStyle = COLORS.axisText;
    ctx.textAlign = t === 0 ? "left" : t === 1 ? "right" : "center";
    ctx.fillText(formatCompact(Math.round(t * length)), x, MARGIN.top + plotHeight + 8);
  }

  const columns = columnMin.length;
  const columnWidth = plotWidth / columns;
  // Soft area under the upper envelope, then the envelope itself (at least 1 device pixel tall).
  const area = ctx.createLinearGradient(0, MARGIN.top, 0, MARGIN.top + plotHeight);
  area.addColorStop(0, COLORS.areaTop);
  area.addColorStop(1, COLORS.areaBottom);
  ctx.fillStyle = area;
  ctx.beginPath();
  ctx.moveTo(MARGIN.left, MARGIN.top + plotHeight);
  for (let c = 0; c < columns; c++) {
    const max = columnMax[c] as number;
    if (Number.isNaN(max)) continue;
    ctx.lineTo(MARGIN.left + (c + 0.5) * columnWidth, y(max));
  }
  ctx.lineTo(MARGIN.left + plotWidth, MARGIN.top + plotHeight);
  ctx.closePath();
  ctx.fill();

  const stroke = ctx.createLinearGradient(0, MARGIN.top, 0, MARGIN.top + plotHeight);
  stroke.addColorStop(0, COLORS.envelopeTop);
  stroke.addColorStop(1, COLORS.envelopeBottom);
  ctx.fillStyle = stroke;
  const onePixel = 1 / (window.devicePixelRatio || 1);
  const thickness = Math.max(onePixel, 1.5);
  ctx.beginPath();
  for (let c = 0; c < columns; c++) {
    const min = columnMin[c] as number;
    const max = columnMax[c] as number;
    if (Number.isNaN(min) || Number.isNaN(max)) continue;
    const top = y(max) - thickness / 2;
    const bottom = y(min) + thickness / 2;
    ctx.rect(MARGIN.left + c * columnWidth, top, Math.max(columnWidth, onePixel), bottom - top);
  }
  ctx.fill();
}

/** Draws MB/s over time (the x axis spans the samples). */
export function drawRate(canvas: HTMLCanvasElement, samples: readonly RateSample[]): void {
  const { ctx, width, height } = prepare(canvas);
  const margin = { left: 40, right: 8, top: 8, bottom: 22 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  let peak = 0;
  let lastMs = 0;
  for (const s of samples) {
    peak = Math.max(peak, s.megabytesPerSecond);
    lastMs = Math.max(lastMs, s.elapsedMs);
  }
  const yMax = niceCeiling(Math.max(peak * 1.1, 1));
  const xMax = Math.max(lastMs, 1);
  const x = (ms: number) => margin.left + (ms / xMax) * plotWidth;
  const y = (rate: number) => margin.top + plotHeight - (rate / yMax) * plotHeight;

  ctx.font = FONT;
  ctx.strokeStyle = COLORS.grid;
  ctx.lineWidth = 1;
  ctx.fillStyle = COLORS.axisText;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of [0, 0.5, 1]) {
    const gy = Math.round(y(t * yMax)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(margin.left, gy);
    ctx.lineTo(margin.left + plotWidth, gy);
    ctx.stroke();
    ctx.fillText(formatCompact(t * yMax), margin.left - 8, gy);
  }
  if (samples.length === 0) return;
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText("0 s", margin.left, margin.top + plotHeight + 8);
  ctx.textAlign = "right";
  ctx.fillText(
    `${(lastMs / 1000).toFixed(lastMs < 10_000 ? 1 : 0)} s`,
    margin.left + plotWidth,
    margin.top + plotHeight + 8,
  );

  const area = ctx.createLinearGradient(0, margin.top, 0, margin.top + plotHeight);
  area.addColorStop(0, COLORS.rateAreaTop);
  area.addColorStop(1, COLORS.rateAreaBottom);
  ctx.beginPath();
  ctx.moveTo(x(0), y(0));
  for (const s of samples) ctx.lineTo(x(s.elapsedMs), y(s.megabytesPerSecond));
  ctx.lineTo(x(lastMs), y(0));
  ctx.closePath();
  ctx.fillStyle = area;
  ctx.fill();

  ctx.beginPath();
  ctx.moveTo(x(0), y(0));
  for (const s of samples) ctx.lineTo(x(s.elapsedMs), y(s.megabytesPerSecond));
  ctx.strokeStyle = COLORS.rateLine;
  ctx.lineWidth = 1.75;
  ctx.lineJoin = "round";
  ctx.stroke();
}

/** Clears the canvas, sizes its backing store to CSS size x DPR, and scales to CSS pixels. */
function prepare(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; width: number; height: number } {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  const pixelWidth = Math.max(1, Math.round(width * dpr));
  const pixelHeight = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== pixelWidth || canvas.height !== pixelHeight) {
    canvas.width = pixelWidth;
    canvas.height = pixelHeight;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("Canvas 2D context is not available");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

/** Horizontal grid lines with labels at round values (multiples of a 1/2/2.5/5 step) in [lo, hi]. */
function drawGrid(ctx: CanvasRenderingContext2D, width: number, plotHeight: number, lo: number, hi: number): void {
  ctx.font = FONT;
  ctx.lineWidth = 1;
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.axisText;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const step = niceStep((hi - lo) / 6);
  for (let value = Math.ceil(lo / step) * step; value <= hi; value += step) {
    const gy = Math.round(MARGIN.top + plotHeight - ((value - lo) / (hi - lo)) * plotHeight) + 0.5;
    ctx.beginPath();
    ctx.moveTo(MARGIN.left, gy);
    ctx.lineTo(width - MARGIN.right, gy);
    ctx.stroke();
    // Snap float noise (0.30000000000000004) before formatting.
    ctx.fillText(formatCompact(Number(value.toPrecision(12))), MARGIN.left - 10, gy);
  }
}

/** The smallest 1, 2, 2.5 or 5 times a power of ten that is >= `value`. */
function niceStep(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5]) if (value <= step * power) return step * power;
  return 10 * power;
}

/** Rounds up to a round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten), for axis maxima. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}
