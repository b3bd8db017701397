/**
 * The arraywire demo dashboard: streams `arange` from this page's server into a new typed array,
 * then verifies, checksums and plots every element in the page.
 *
 * URL params preselect the form: ?n=50000000&dtype=float64&name=arange&transport=ws&maxBytes=100000000
 * &thread=worker, and &autostart=1 starts at once; ?isolated=1 has the dev server make the page
 * cross-origin isolated (vite.config.ts), where the worker fills a SharedArrayBuffer. Tests read
 * window.__arraywire (small values only, never the array).
 */
import { fetchArray, fetchArrayInWorker, type Progress, type TypedArray } from "../index.ts";
import {
  anyPreparing,
  type DatasetInfo,
  datasetLength,
  datasetNamed,
  markPicked,
  renderDatasetResult,
  renderDatasets,
} from "./datasets.ts";
import { DEMO_DTYPES, type DtypeInfo, findDtype, isAvailableHere, storedValue } from "./dtypes.ts";
import { describeFailure } from "./failure.ts";
import { FrameMeter, type FrameStats } from "./frame-meter.ts";
import "./live.ts";
import { drawEnvelope, drawRate, envelopeColumns, type RateSample } from "./plot.ts";
import { type ScanResult, scanArange } from "./scan.ts";
import "./upload.ts";
import {
  renderBusy,
  renderDtypes,
  renderError,
  renderProgress,
  renderResult,
  renderSizeBytes,
  renderSizes,
  renderSizeWarning,
  renderStatus,
  renderSummary,
  SIZE_PRESETS,
  type Status,
  selectedLength,
  selectedThread,
  selectedTransport,
  selectThread,
  selectTransport,
  ui,
} from "./view.ts";

/** State on window.__arraywire, for tests and the curious. */
export interface DemoState {
  status: Status;
  /** Increments at every Start, so a test can tell runs apart. */
  runId: number;
  name: string;
  dtype: string;
  transport: "ws" | "http";
  /** Where the array is received: fetchArray here, or fetchArrayInWorker. */
  thread: "main" | "worker";
  /** The page is cross-origin isolated (?isolated=1): a worker then fills shared memory. */
  crossOriginIsolated: boolean;
  /** Main-thread responsiveness (the frame meter). */
  frames: FrameStats;
  /** Elements of the shared target the page has seen final (worker + isolated only). */
  sharedElementEnd: number;
  /** receivedByteLength of every progress event, in order. */
  progress: number[];
  totalByteLength: number;
  /** True when every element equals its stored index. */
  verified: boolean;
  mismatches: number;
  /** Sum of a[i] mod 2^32, computed in the page. */
  checksum: number;
  /** Element count of the received array. */
  length: number;
  /** a[0:10], as numbers. */
  first: number[];
  /** a[n-1] as a number, or null for an empty array. */
  last: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** From Start to the last byte (connection included), in ms. */
  elapsedMs: number;
}

declare global {
  interface Window {
    __arraywire: DemoState;
    /**
     * Tests: press Abort from inside the page once this many bytes arrived. Under Playwright a
     * WebSocket stream keeps the page's main thread so busy that a test's own polling may not run
     * until the stream has ended, so a click timed from outside can come too late.
     */
    __arraywireAbortAtBytes?: number;
    /** Tests: values of the last array received at `indices`, as numbers (NaN past its end). */
    __arraywireValuesAt: (indices: number[]) => number[];
  }
}

/** How far back the live rate looks. */
const LIVE_RATE_WINDOW_MS = 1000;
const ENDPOINT_PATH = "/arraywire";
const secure = location.protocol === "https:";
/** The stream endpoint of each transport; fetchArray takes either form. */
const ENDPOINTS = {
  ws: `${secure ? "wss" : "ws"}://${location.host}${ENDPOINT_PATH}`,
  http: `${secure ? "https" : "http"}://${location.host}${ENDPOINT_PATH}`,
} as const;

/** The per-run part of the state, as it is before any byte arrives. */
function freshRunState() {
  return {
    progress: [] as number[],
    totalByteLength: 0,
    verified: false,
    mismatches: 0,
    checksum: 0,
    length: 0,
    first: [] as number[],
    last: null,
    errorCode: null,
    errorMessage: null,
    elapsedMs: 0,
    sharedElementEnd: 0,
  } satisfies Partial<DemoState>;
}

const meter = new FrameMeter({
  dot: ui.frameDot,
  recent: ui.frameRecent,
  transfer: ui.frameTransfer,
  frames: ui.frameCount,
});
const state: DemoState = {
  status: "idle",
  runId: 0,
  name: "",
  dtype: "",
  transport: "http",
  thread: "main",
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  frames: meter.stats,
  ...freshRunState(),
};
window.__arraywire = state;
window.__arraywireValuesAt = (indices) =>
  indices.map((i) => (held && i < held.array.length ? Number(held.array[i]) : Number.NaN));
ui.isolationNote.textContent = state.crossOriginIsolated
  ? "cross-origin isolated: a worker fills shared memory"
  : "not isolated (/?isolated=1 shares the worker's memory)";

let controller: AbortController | null = null;
/** The last array received, kept to re-plot on resize; dropped when the next run starts. */
let held: { array: TypedArray; dtype: DtypeInfo } | null = null;
let rateSamples: RateSample[] = [];
let publishedNames: string[] = [];

// ---- form setup -------------------------------------------------------------------------------

const params = new URLSearchParams(location.search);
const initialLength = parseLength(params.get("n")) ?? SIZE_PRESETS[2];
const requestedDtype = findDtype(params.get("dtype") ?? "");
const initialDtype = requestedDtype && isAvailableHere(requestedDtype) ? requestedDtype.dtype : "float64";
ui.name.value = params.get("name") ?? "arange";
// HTTP is the default, as in fetchArray ("auto" picks it in browsers with BYOB readers).
selectTransport(params.get("transport") === "ws" ? "ws" : "http");
selectThread(params.get("thread") === "worker" ? "worker" : "main");
if (params.has("maxBytes")) setMaxBytes(params.get("maxBytes") ?? "");
renderSizes(initialLength);
renderDtypes(initialDtype, null);
refreshForm();
renderProgress({ ...emptyProgress(), totalByteLength: null });
drawRate(ui.rateChart, []);
ui.sizes.addEventListener("change", refreshForm);
ui.transports.addEventListener("change", refreshForm);
ui.dtype.addEventListener("change", refreshForm);
ui.maxBytes.addEventListener("change", refreshForm);
ui.name.addEventListener("input", refreshForm);
ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  void start();
});
ui.abort.addEventListener("click", () => {
  controller?.abort(new DOMException("Aborted by the user", "AbortError"));
});
new ResizeObserver(debounce(redraw, 120)).observe(document.body);
void loadServerInfo();
if (params.get("autostart") === "1") void start();

function refreshForm(): void {
  // A file dataset has one size and dtype: the arange controls do not apply to it.
  const dataset = datasetNamed(ui.name.value.trim());
  for (const input of ui.form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("#sizes input, #dtype")) {
    input.disabled = dataset !== undefined || (input.id === "dtype" && state.status === "streaming");
  }
  markPicked(ui.name.value.trim());
  const info = currentDtype();
  renderSizeBytes(info);
  if (dataset) renderSummary(datasetLength(dataset), findDtype(dataset.dtype) ?? info);
  else renderSummary(selectedLength(), info);
  const maxBytes = ui.maxBytes.value === "" ? undefined : Number(ui.maxBytes.value);
  renderSizeWarning(dataset ? 0 : selectedLength() * info.bytesPerElement, maxBytes);
  ui.endpointUrl.textContent = ENDPOINTS[selectedTransport()];
}

function currentDtype(): DtypeInfo {
  return findDtype(ui.dtype.value) ?? (DEMO_DTYPES[0] as DtypeInfo);
}

/** Asks the demo server what it publishes and which dtypes its runtime can generate. */
async function loadServerInfo(): Promise<void> {
  try {
    const response = await fetch("/api/info", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const info = (await response.json()) as { names: string[]; dtypes: string[]; datasets?: DatasetInfo[] };
    publishedNames = info.names;
    renderDatasets(info.datasets ?? [], (name) => {
      ui.name.value = name;
      refreshForm();
    });
    // A dataset still being written: ask again until it is ready.
    if (anyPreparing()) setTimeout(() => void loadServerInfo(), 2000);
    setServerState("online", `publishes ${info.names.join(", ") || "nothing"}`);
    if (state.status !== "streaming") {
      renderDtypes(ui.dtype.value, info.dtypes);
      refreshForm();
    }
  } catch {
    // Not the demo server (a static build, say): the WebSocket may still work, so only say so.
    setServerState("unknown", "server info unavailable");
  }
}

function setServerState(dot: "online" | "offline" | "unknown", note: string): void {
  ui.serverDot.dataset.state = dot;
  ui.serverNote.textContent = note;
}

// ---- one run ----------------------------------------------------------------------------------

async function start(): Promise<void> {
  if (controller) return;
  const name = ui.name.value.trim();
  const dataset = datasetNamed(name);
  const dtype = dataset ? (findDtype(dataset.dtype) ?? currentDtype()) : currentDtype();
  const length = dataset ? datasetLength(dataset) : selectedLength();
  const transport = selectedTransport();
  const thread = selectedThread();
  const maxBytes = ui.maxBytes.value === "" ? undefined : Number(ui.maxBytes.value);
  const ownController = new AbortController();
  controller = ownController;
  held = null; // let the previous array be collected before the next one is allocated
  rateSamples = [];
  Object.assign(state, {
    status: "streaming",
    runId: state.runId + 1,
    name,
    dtype: dtype.dtype,
    transport,
    thread,
    crossOriginIsolated: state.crossOriginIsolated,
    frames: meter.stats,
    ...freshRunState(),
  } satisfies DemoState);
  renderBusy(true);
  renderStatus("streaming", "Connecting");
  renderError(null);
  renderResult(null);
  renderProgress({ ...emptyProgress(), totalByteLength: length * dtype.bytesPerElement });
  drawRate(ui.rateChart, []);
  ui.plotEmpty.hidden = false;
  ui.plotEmpty.textContent = "Streaming…";
  ui.plot.getContext("2d")?.clearRect(0, 0, ui.plot.width, ui.plot.height);

  const startedAt = performance.now();
  const rate = { samples: [{ t: startedAt, bytes: 0 }] };
  // The demo's own worker, made the usual Vite way (fetchArrayInWorker can also start one itself).
  const worker =
    thread === "worker" ? new Worker(new URL("./receive-worker.ts", import.meta.url), { type: "module" }) : null;
  meter.startTransfer();
  try {
    const options = {
      transport,
      params: dataset ? undefined : { length, dtype: dtype.dtype },
      maxBytes,
      signal: ownController.signal,
      onProgress: (progress: Progress) => onProgress(progress, rate, startedAt),
    };
    const result = worker
      ? await fetchArrayInWorker(ENDPOINTS[transport], name, {
          ...options,
          worker,
          // Isolated: the worker fills shared memory that this page reads as it fills.
          ...(state.crossOriginIsolated
            ? {
                shared: true,
                onChunk: ({ elementEnd }: { elementEnd: number }) => (state.sharedElementEnd = elementEnd),
              }
            : {}),
        })
      : await fetchArray(ENDPOINTS[transport], name, options);
    meter.stopTransfer();
    state.elapsedMs = performance.now() - startedAt;
    const received = findDtype(result.dtype) ?? dtype;
    renderStatus("streaming", "Verifying");
    renderResult(null, true);
    await nextPaint();
    const scanStartedAt = performance.now();
    const scan = scanArange(result.array, received.dtype, envelopeColumns(ui.plot));
    const scanMs = performance.now() - scanStartedAt;
    held = { array: result.array, dtype: received };
    if (dataset && result.array instanceof Float64Array) showDataset(dataset, result.array, scan);
    else showResult(result.array, received, scan, scanMs);
    setServerState("online", `publishes ${publishedNames.join(", ") || name}`);
    state.status = "done";
    renderStatus("done");
  } catch (err) {
    meter.stopTransfer();
    state.elapsedMs = performance.now() - startedAt;
    showFailure(err, ownController.signal, length * dtype.bytesPerElement);
  } finally {
    worker?.terminate();
    controller = null;
    renderBusy(false);
  }
}

function onProgress(progress: Progress, meter: { samples: { t: number; bytes: number }[] }, startedAt: number): void {
  const abortAt = window.__arraywireAbortAtBytes;
  if (abortAt !== undefined && progress.receivedByteLength >= abortAt) {
    window.__arraywireAbortAtBytes = undefined;
    ui.abort.click(); // the same path as the user's click
  }
  const now = performance.now();
  state.progress.push(progress.receivedByteLength);
  state.totalByteLength = progress.totalByteLength;
  // Live rate: bytes over the last LIVE_RATE_WINDOW_MS (the library's rate is the mean since the request).
  const { samples } = meter;
  samples.push({ t: now, bytes: progress.receivedByteLength });
  while (samples.length > 2 && (samples[1] as { t: number }).t <= now - LIVE_RATE_WINDOW_MS) samples.shift();
  const oldest = samples[0] as { t: number; bytes: number };
  const live = now > oldest.t ? ((progress.receivedByteLength - oldest.bytes) * 1000) / (now - oldest.t) : null;
  const elapsedMs = now - startedAt;
  if (live !== null) rateSamples.push({ elapsedMs, megabytesPerSecond: live / 1e6 });
  renderStatus("streaming");
  renderProgress({
    receivedByteLength: progress.receivedByteLength,
    totalByteLength: progress.totalByteLength,
    liveBytesPerSecond: live,
    meanBytesPerSecond: elapsedMs > 0 ? (progress.receivedByteLength * 1000) / elapsedMs : null,
    elapsedMs,
    elementCount: Math.floor(progress.totalByteLength / (findDtype(state.dtype)?.bytesPerElement ?? 1)),
  });
  drawRate(ui.rateChart, rateSamples);
}

function showResult(array: TypedArray, info: DtypeInfo, scan: ScanResult, scanMs: number): void {
  const length = array.length;
  const head = Array.from(array.subarray(0, 10) as ArrayLike<number | bigint>);
  const last = length > 0 ? (array[length - 1] as number | bigint) : null;
  Object.assign(state, {
    verified: scan.mismatches === 0,
    mismatches: scan.mismatches,
    checksum: scan.checksum,
    length,
    first: head.map(Number),
    last: last === null ? null : Number(last),
  });
  renderProgress({
    receivedByteLength: array.byteLength,
    totalByteLength: array.byteLength,
    liveBytesPerSecond: null,
    peakBytesPerSecond: rateSamples.length > 0 ? Math.max(...rateSamples.map((s) => s.megabytesPerSecond)) * 1e6 : null,
    meanBytesPerSecond: state.elapsedMs > 0 ? (array.byteLength * 1000) / state.elapsedMs : null,
    elapsedMs: state.elapsedMs,
    elementCount: length,
  });
  drawRate(ui.rateChart, rateSamples);
  const i = scan.firstMismatch;
  renderResult({
    dtype: info.dtype,
    constructorName: info.constructorName,
    length,
    first: head,
    last,
    mismatches: scan.mismatches,
    firstMismatch: i < 0 ? null : { index: i, got: array[i] as number | bigint, expected: storedValue(info, i) },
    checksum: scan.checksum,
    scanMs,
  });
  ui.plotEmpty.hidden = length > 0;
  ui.plotEmpty.textContent = "The array is empty";
  ui.plotNote.textContent = `a[i] against i: min / max of all ${length.toLocaleString("en-US")} elements per pixel column`;
  drawEnvelope(ui.plot, scan, length);
}

/** A dataset arrived: plot it and show what it holds (its bytes were checked by END's checksum). */
function showDataset(dataset: DatasetInfo, array: Float64Array, scan: ScanResult): void {
  Object.assign(state, {
    verified: false,
    mismatches: 0,
    checksum: 0,
    length: array.length,
    first: Array.from(array.subarray(0, 10)),
    last: array.length > 0 ? (array[array.length - 1] as number) : null,
  });
  renderProgress({
    receivedByteLength: array.byteLength,
    totalByteLength: array.byteLength,
    liveBytesPerSecond: null,
    peakBytesPerSecond: rateSamples.length > 0 ? Math.max(...rateSamples.map((s) => s.megabytesPerSecond)) * 1e6 : null,
    meanBytesPerSecond: state.elapsedMs > 0 ? (array.byteLength * 1000) / state.elapsedMs : null,
    elapsedMs: state.elapsedMs,
    elementCount: array.length,
  });
  drawRate(ui.rateChart, rateSamples);
  renderDatasetResult(dataset, array);
  ui.plotEmpty.hidden = array.length > 0;
  drawEnvelope(ui.plot, scan, array.length);
}

function showFailure(err: unknown, signal: AbortSignal, expectedByteLength: number): void {
  // Any rejection after the user pressed Abort counts as the abort, whatever the transport wrapped it in.
  const aborted = signal.aborted;
  const failure = describeFailure(err, {
    receivedByteLength: state.progress.at(-1) ?? 0,
    expectedByteLength,
    publishedNames,
  });
  Object.assign(state, {
    status: aborted ? "aborted" : "error",
    errorCode: failure.code,
    errorMessage: failure.message,
  });
  renderStatus(state.status);
  renderError({ kind: aborted ? "aborted" : "error", ...failure });
  ui.plotEmpty.hidden = false;
  ui.plotEmpty.textContent = aborted ? "Aborted: nothing to plot" : "No array: the transfer failed";
  if (failure.code === "E_CONNECTION_CLOSED") setServerState("offline", "connection lost");
}

// ---- helpers ----------------------------------------------------------------------------------

function redraw(): void {
  drawRate(ui.rateChart, rateSamples);
  if (held && state.status === "done") {
    const scan = scanArange(held.array, held.dtype.dtype, envelopeColumns(ui.plot));
    drawEnvelope(ui.plot, scan, held.array.length);
  }
}

function emptyProgress() {
  return {
    receivedByteLength: 0,
    liveBytesPerSecond: null,
    meanBytesPerSecond: null,
    elapsedMs: null,
    elementCount: null,
  };
}

function parseLength(text: string | null): number | null {
  if (text === null || text === "") return null;
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function setMaxBytes(value: string): void {
  if (![...ui.maxBytes.options].some((option) => option.value === value)) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = `${Number(value).toLocaleString("en-US")} bytes`;
    ui.maxBytes.append(option);
  }
  ui.maxBytes.value = value;
}

/** Resolves after the browser has painted (or 100 ms, where frames are throttled). */
function nextPaint(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 100);
    requestAnimationFrame(() =>
      setTimeout(() => {
        clearTimeout(timer);
        resolve();
      }, 0),
    );
  });
}

function debounce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}
