/**
 * The dashboard's DOM: element lookups and the functions that render state into them. No
 * transfer logic lives here (see main.ts).
 */
import { DEMO_DTYPES, type DtypeInfo, isAvailableHere } from "./dtypes.ts";
import {
  formatBytes,
  formatCompact,
  formatDuration,
  formatInteger,
  formatMegabytes,
  formatRate,
  formatValue,
} from "./format.ts";

/** Status shown in the pill (and on window.__arraywire). */
export type Status = "idle" | "streaming" | "done" | "error" | "aborted";

/** Finds an element by id. @throws {Error} if the page lacks it (index.html and this file disagree). */
function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`Missing element #${id} in index.html`);
  return element as T;
}

/** Every element the dashboard writes to. */
export const ui = {
  form: byId<HTMLFormElement>("request-form"),
  name: byId<HTMLInputElement>("name"),
  datasets: byId<HTMLDivElement>("datasets"),
  sizes: byId<HTMLDivElement>("sizes"),
  sizeWarning: byId<HTMLParagraphElement>("size-warning"),
  transports: byId<HTMLDivElement>("transports"),
  threads: byId<HTMLDivElement>("threads"),
  isolationNote: byId<HTMLElement>("isolation-note"),
  frameDot: byId<HTMLElement>("frame-dot"),
  frameRecent: byId<HTMLElement>("frame-recent"),
  frameTransfer: byId<HTMLElement>("frame-transfer"),
  frameCount: byId<HTMLElement>("frame-count"),
  dtype: byId<HTMLSelectElement>("dtype"),
  maxBytes: byId<HTMLSelectElement>("max-bytes"),
  summary: byId<HTMLParagraphElement>("request-summary"),
  start: byId<HTMLButtonElement>("start"),
  abort: byId<HTMLButtonElement>("abort"),
  serverDot: byId<HTMLSpanElement>("server-dot"),
  endpointUrl: byId<HTMLElement>("endpoint-url"),
  serverNote: byId<HTMLSpanElement>("server-note"),
  status: byId<HTMLSpanElement>("status"),
  progressTrack: byId<HTMLDivElement>("progress-track"),
  progressFill: byId<HTMLDivElement>("progress-fill"),
  received: byId<HTMLElement>("received"),
  total: byId<HTMLElement>("total"),
  percent: byId<HTMLElement>("percent"),
  liveRate: byId<HTMLElement>("live-rate"),
  liveRateLabel: byId<HTMLElement>("live-rate-label"),
  meanRate: byId<HTMLElement>("mean-rate"),
  elapsed: byId<HTMLElement>("elapsed"),
  elements: byId<HTMLElement>("elements"),
  rateChart: byId<HTMLCanvasElement>("rate-chart"),
  errorPanel: byId<HTMLElement>("error-panel"),
  errorTitle: byId<HTMLElement>("error-title"),
  errorCode: byId<HTMLElement>("error-code"),
  errorMessage: byId<HTMLElement>("error-message"),
  errorHint: byId<HTMLElement>("error-hint"),
  verify: byId<HTMLElement>("verify"),
  verifyTitle: byId<HTMLElement>("verify-title"),
  verifyDetail: byId<HTMLElement>("verify-detail"),
  firstValues: byId<HTMLElement>("first-values"),
  lastLabel: byId<HTMLElement>("last-label"),
  lastValue: byId<HTMLElement>("last-value"),
  checksum: byId<HTMLElement>("checksum"),
  plot: byId<HTMLCanvasElement>("plot"),
  plotEmpty: byId<HTMLElement>("plot-empty"),
  plotNote: byId<HTMLElement>("plot-note"),
};

/** Element-count presets (50M float64 is the 400 MB reference). */
export const SIZE_PRESETS = [1_000_000, 10_000_000, 50_000_000, 200_000_000, 500_000_000] as const;

/**
 * Arrays larger than this (2 GiB, the client's default maxBytes) get a memory warning under the
 * size picker: the tab must hold the whole array (500M float64 is 4 GB).
 */
export const LARGE_ARRAY_BYTE_LENGTH = 2 ** 31;

/** Builds the element-count radios; `selected` may be a custom count (from the URL). */
export function renderSizes(selected: number): void {
  const counts: number[] = [...SIZE_PRESETS];
  if (!counts.includes(selected)) counts.push(selected);
  ui.sizes.replaceChildren(
    ...counts.map((count) => {
      const label = document.createElement("label");
      label.innerHTML = `<input type="radio" name="length"><span class="seg-main"></span><span class="seg-sub"></span>`;
      const input = label.querySelector("input") as HTMLInputElement;
      input.value = String(count);
      input.checked = count === selected;
      (label.querySelector(".seg-main") as HTMLElement).textContent = formatCompact(count);
      label.title = `${formatInteger(count)} elements`;
      return label;
    }),
  );
}

/** Shows each preset's byte length for the chosen dtype ("400 MB" under "50M"). */
export function renderSizeBytes(info: DtypeInfo): void {
  for (const label of ui.sizes.querySelectorAll("label")) {
    const count = Number((label.querySelector("input") as HTMLInputElement).value);
    (label.querySelector(".seg-sub") as HTMLElement).textContent = formatBytes(count * info.bytesPerElement).replace(
      ".0 ",
      " ",
    );
  }
}

/**
 * Warns under the size picker when `byteLength` is past {@link LARGE_ARRAY_BYTE_LENGTH}: what the
 * tab must hold, and the client limit it needs (maxBytes defaults to 2 GiB). Hidden otherwise.
 */
export function renderSizeWarning(byteLength: number, maxBytes: number | undefined): void {
  const large = byteLength > LARGE_ARRAY_BYTE_LENGTH;
  ui.sizeWarning.hidden = !large;
  if (!large) return;
  const limit = maxBytes ?? LARGE_ARRAY_BYTE_LENGTH;
  ui.sizeWarning.textContent =
    `${formatBytes(byteLength)} must fit in this tab's memory at once (Chromium grants one buffer of up to about 16 GiB; past what the browser grants, the fetch fails with E_ALLOCATION_FAILED before any data moves).` +
    (byteLength > limit
      ? ` Raise the client limit (maxBytes) to ${formatBytes(2 ** Math.ceil(Math.log2(byteLength)))} first.`
      : "");
}

/** The checked element count. */
export function selectedLength(): number {
  const checked = ui.sizes.querySelector<HTMLInputElement>("input:checked");
  return Number(checked?.value ?? SIZE_PRESETS[2]);
}

/** The checked transport: "ws" or "http". */
export function selectedTransport(): "ws" | "http" {
  return ui.transports.querySelector<HTMLInputElement>("input:checked")?.value === "http" ? "http" : "ws";
}

/** Checks the transport radio for `transport`. */
export function selectTransport(transport: "ws" | "http"): void {
  for (const input of ui.transports.querySelectorAll<HTMLInputElement>("input")) {
    input.checked = input.value === transport;
  }
}

/** The checked thread: "main" (fetchArray) or "worker" (fetchArrayInWorker). */
export function selectedThread(): "main" | "worker" {
  return ui.threads.querySelector<HTMLInputElement>("input:checked")?.value === "worker" ? "worker" : "main";
}

/** Checks the thread radio for `thread`. */
export function selectThread(thread: "main" | "worker"): void {
  for (const input of ui.threads.querySelectorAll<HTMLInputElement>("input")) {
    input.checked = input.value === thread;
  }
}

/**
 * Fills the dtype picker with the dtypes this browser has; `serverDtypes` (when known) disables
 * the ones the server's runtime cannot generate.
 */
export function renderDtypes(selected: string, serverDtypes: readonly string[] | null): void {
  const groups = new Map<string, HTMLOptGroupElement>();
  for (const info of DEMO_DTYPES) {
    if (!isAvailableHere(info)) continue;
    let group = groups.get(info.group);
    if (!group) {
      group = document.createElement("optgroup");
      group.label = info.group;
      groups.set(info.group, group);
    }
    const option = document.createElement("option");
    option.value = info.dtype;
    const onServer = serverDtypes === null || serverDtypes.includes(info.dtype);
    option.textContent = `${info.dtype}  (${info.bytesPerElement} B)${onServer ? "" : ": not on this server"}`;
    option.disabled = !onServer;
    option.selected = info.dtype === selected;
    group.append(option);
  }
  ui.dtype.replaceChildren(...groups.values());
}

/** "50M × float64 = 400.0 MB" in the Request card's head. */
export function renderSummary(length: number, info: DtypeInfo): void {
  const bytes = document.createElement("strong");
  bytes.textContent = formatBytes(length * info.bytesPerElement);
  ui.summary.replaceChildren(`${formatCompact(length)} × ${info.dtype} = `, bytes);
  ui.summary.title = `${formatInteger(length)} elements`;
}

/** Disables the form while a stream runs; Abort is enabled only then. */
export function renderBusy(busy: boolean): void {
  for (const control of ui.form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select")) {
    control.disabled = busy;
  }
  ui.start.disabled = busy;
  ui.abort.disabled = !busy;
}

const STATUS_LABELS: Record<Status, string> = {
  idle: "Idle",
  streaming: "Streaming",
  done: "Done",
  error: "Failed",
  aborted: "Aborted",
};

/** The status pill and the progress bar's colour; `label` overrides the text ("Verifying"). */
export function renderStatus(status: Status, label?: string): void {
  ui.status.dataset.status = status;
  ui.status.textContent = label ?? STATUS_LABELS[status];
  ui.progressFill.dataset.state = status;
}

/** Progress bar and rate tiles. Rates in bytes per second; null shows a dash. */
export function renderProgress(p: {
  receivedByteLength: number;
  totalByteLength: number | null;
  liveBytesPerSecond: number | null;
  /** After a run: the peak of the live rate, shown in the live tile. */
  peakBytesPerSecond?: number | null;
  meanBytesPerSecond: number | null;
  elapsedMs: number | null;
  elementCount: number | null;
}): void {
  const total = p.totalByteLength;
  const fraction = total ? p.receivedByteLength / total : total === 0 ? 1 : 0;
  const percent = Math.floor(fraction * 1000) / 10;
  ui.progressFill.style.width = `${fraction * 100}%`;
  ui.progressTrack.setAttribute("aria-valuenow", String(percent));
  ui.received.textContent = formatMegabytes(p.receivedByteLength);
  ui.total.textContent = total === null ? "–" : formatMegabytes(total);
  ui.percent.textContent = `${percent.toFixed(percent === 100 || percent === 0 ? 0 : 1)}%`;
  const peak = p.peakBytesPerSecond ?? null;
  const rate = peak ?? p.liveBytesPerSecond;
  ui.liveRateLabel.textContent = peak === null ? "Live rate" : "Peak rate";
  setStat(ui.liveRate, rate === null ? null : formatRate(rate));
  setStat(ui.meanRate, p.meanBytesPerSecond === null ? null : formatRate(p.meanBytesPerSecond));
  setStat(ui.elapsed, p.elapsedMs === null ? null : formatDuration(p.elapsedMs));
  setStat(ui.elements, p.elementCount === null ? null : formatCompact(p.elementCount));
  ui.elements.title = p.elementCount === null ? "" : formatInteger(p.elementCount);
}

/** A stat tile's value; null shows a faint dash. */
function setStat(element: HTMLElement, text: string | null): void {
  element.textContent = text ?? "–";
  element.parentElement?.classList.toggle("is-empty", text === null);
}

/** Shows the error panel (`kind` "aborted" is amber, "error" red), or hides it for null. */
export function renderError(
  error: { kind: "error" | "aborted"; code: string; message: string; hint: string } | null,
): void {
  ui.errorPanel.hidden = error === null;
  if (!error) return;
  ui.errorPanel.dataset.kind = error.kind;
  ui.errorTitle.textContent = error.kind === "aborted" ? "Transfer aborted" : "Transfer failed";
  ui.errorCode.textContent = error.code;
  ui.errorMessage.textContent = error.message;
  ui.errorHint.textContent = error.hint;
}

/** What the Result card shows after a run. */
export interface ResultView {
  dtype: string;
  /** "Float64Array": the verification rule is a[i] === new Ctor([i])[0]. */
  constructorName: string;
  length: number;
  first: readonly (number | bigint)[];
  last: number | bigint | null;
  mismatches: number;
  firstMismatch: { index: number; got: number | bigint; expected: number | bigint } | null;
  checksum: number;
  /** Time of the one pass that verified, summed and plotted, in ms. */
  scanMs: number;
}

/** Fills the Result card; null resets it to its empty state ("pending" while checking). */
export function renderResult(result: ResultView | null, pending = false): void {
  if (!result) {
    ui.verify.dataset.state = pending ? "pending" : "none";
    ui.verifyTitle.textContent = pending ? "Verifying…" : "Not verified yet";
    ui.verifyDetail.textContent = pending
      ? "Checking every element against its index."
      : "The page checks every element after the transfer.";
    for (const el of [ui.firstValues, ui.lastValue, ui.checksum]) el.textContent = "–";
    ui.lastLabel.textContent = "a[n−1]";
    return;
  }
  const ok = result.mismatches === 0;
  ui.verify.dataset.state = ok ? "ok" : "fail";
  ui.verifyTitle.textContent = ok
    ? `All ${formatInteger(result.length)} verified`
    : `${formatInteger(result.mismatches)} mismatches`;
  const m = result.firstMismatch;
  const rule = `a[i] === new ${result.constructorName}([i])[0]`;
  ui.verifyDetail.textContent = m
    ? `First at a[${formatInteger(m.index)}]: got ${formatValue(m.got)}, expected ${formatValue(m.expected)}`
    : `${rule} for every i; checked in ${formatDuration(result.scanMs)}`;
  ui.verifyDetail.title = rule;
  ui.firstValues.textContent = `[${result.first.map(formatValue).join(", ")}]`;
  ui.lastLabel.textContent = `a[${formatInteger(Math.max(0, result.length - 1))}]`;
  ui.lastValue.textContent = result.last === null ? "–" : formatValue(result.last);
  ui.checksum.textContent = `0x${result.checksum.toString(16).padStart(8, "0")}`;
  ui.checksum.title = String(result.checksum);
}
