/**
 * The dashboard's Live signal card: subscribe() to the demo server's live array "live-signal" (rows of
 * samples appended at 20 Hz), received into one resizable buffer that grows in place, and the
 * last ten seconds plotted at each update. When the server starts the signal over (END), the card
 * subscribes again. Tests read window.__arraywireLive.
 */
import { StreamError, subscribe } from "../index.ts";

/** What tests read. */
export interface LiveState {
  status: "idle" | "live" | "ended" | "error";
  /** onAppend calls so far (all subscriptions). */
  updates: number;
  /** Samples received by the current subscription. */
  length: number;
  /** The current subscription's buffer is resizable and the same at every update. */
  oneResizableBuffer: boolean;
  /** Every sample received is a finite number. */
  finite: boolean;
  errorCode: string | null;
}

declare global {
  interface Window {
    __arraywireLive: LiveState;
  }
}

const state: LiveState = {
  status: "idle",
  updates: 0,
  length: 0,
  oneResizableBuffer: true,
  finite: true,
  errorCode: null,
};
window.__arraywireLive = state;

const ENDPOINT = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/arraywire`;
/** Samples shown: ten seconds of the demo signal (2,000 samples a second). */
const WINDOW = 20_000;

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`Missing element #${id} in index.html`);
  return element as T;
}

const toggle = byId<HTMLButtonElement>("live-toggle");
const canvas = byId<HTMLCanvasElement>("live-plot");
const empty = byId<HTMLElement>("live-empty");
const note = byId<HTMLElement>("live-note");

let controller: AbortController | null = null;
let latest: Float64Array | null = null;
let frame = 0;

toggle.addEventListener("click", () => {
  if (controller) controller.abort(new DOMException("Stopped by the user", "AbortError"));
  else void follow();
});
if (new URLSearchParams(location.search).get("live") === "1") void follow();

async function follow(): Promise<void> {
  const own = new AbortController();
  controller = own;
  toggle.textContent = "Stop";
  state.status = "live";
  state.errorCode = null;
  while (controller === own) {
    let buffer: ArrayBufferLike | null = null;
    state.length = 0;
    try {
      const result = await subscribe<Float64Array>(ENDPOINT, "live-signal", {
        signal: own.signal,
        onAppend: (u) => {
          state.updates++;
          state.length = u.length;
          buffer ??= u.array.buffer;
          state.oneResizableBuffer &&=
            u.array.buffer === buffer && (buffer as ArrayBuffer & { resizable?: boolean }).resizable === true;
          for (const v of u.appended) if (!Number.isFinite(v)) state.finite = false;
          latest = u.array;
          note.textContent = `${u.arrayShape[0]?.toLocaleString("en-US")} rows of ${u.arrayShape[1]} samples, generation ${u.generation}`;
          schedule();
        },
      });
      state.status = "ended"; // the server started the signal over: follow the new one
      latest = result.array;
    } catch (err) {
      if (own.signal.aborted) break;
      state.status = "error";
      state.errorCode = err instanceof StreamError ? err.code : "E_UNKNOWN";
      note.textContent = `Subscription failed: ${(err as Error).message}`;
      break;
    }
  }
  if (controller === own) controller = null;
  if (own.signal.aborted) state.status = "idle";
  toggle.textContent = "Subscribe";
}

function schedule(): void {
  if (frame === 0) frame = requestAnimationFrame(draw);
}

/** Plots the last WINDOW samples as a polyline, min/max per pixel column. */
function draw(): void {
  frame = 0;
  const samples = latest;
  if (!samples || samples.length === 0) return;
  empty.hidden = true;
  const ratio = devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.clearRect(0, 0, width, height);
  const from = Math.max(0, samples.length - WINDOW);
  const shown = samples.length - from;
  const y = (v: number) => height / 2 - (v / 2.2) * (height / 2);
  ctx.strokeStyle = "#5b7cfa";
  ctx.lineWidth = ratio;
  ctx.beginPath();
  for (let x = 0; x < width; x++) {
    const a = from + Math.floor((x * shown) / width);
    const b = Math.max(a + 1, from + Math.floor(((x + 1) * shown) / width));
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = a; i < b && i < samples.length; i++) {
      const v = samples[i] as number;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (min > max) continue;
    ctx.moveTo(x + 0.5, y(max));
    ctx.lineTo(x + 0.5, y(min) + 1);
  }
  ctx.stroke();
}
