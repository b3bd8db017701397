/**
 * The demo's live source (`npm start`): a live array "live-signal" of float64 rows of SAMPLES_PER_ROW
 * samples, appended at ROWS_PER_SECOND (a slow sine, a faster one, a burst every few seconds and
 * a little deterministic noise), so the dashboard can subscribe and plot it as it grows. When it
 * is full it is closed and published again (a new generation); subscribers get END and subscribe
 * again.
 */
import type { ArrayServer, LiveArray } from "./index.ts";

/** Samples per appended row, and rows appended per second: 2,000 samples a second. */
export const SAMPLES_PER_ROW = 100;
export const ROWS_PER_SECOND = 20;
/** Rows the live array holds before it starts over: 10 minutes (4.8 MB). */
const MAX_ROWS = ROWS_PER_SECOND * 600;

/** Sample i of the demo signal (the same whatever the generation). */
export function signalAt(i: number): number {
  const t = i / (SAMPLES_PER_ROW * ROWS_PER_SECOND);
  const burst = t % 7 < 0.6 ? Math.sin(2 * Math.PI * 40 * t) * 0.6 : 0;
  const noise = ((Math.imul(i, 2654435761) >>> 0) / 2 ** 32 - 0.5) * 0.15;
  return Math.sin(2 * Math.PI * 0.25 * t) + 0.35 * Math.sin(2 * Math.PI * 3 * t) + burst + noise;
}

/**
 * Publishes "live-signal" on `server` and appends to it until the returned function is called.
 * @throws what publishLive throws (a taken name is replaced, never refused).
 */
export function startDemoSignal(server: ArrayServer, name = "live-signal"): () => void {
  let live: LiveArray = publish();
  function publish(): LiveArray {
    return server.publishLive(name, {
      dtype: "float64",
      maxLength: MAX_ROWS,
      rowShape: [SAMPLES_PER_ROW],
      meta: { unit: "mV", samplesPerSecond: SAMPLES_PER_ROW * ROWS_PER_SECOND },
    });
  }
  const row = new Float64Array(SAMPLES_PER_ROW);
  const timer = setInterval(() => {
    if (live.length >= live.maxLength) {
      live.close();
      live = publish();
    }
    const first = live.length * SAMPLES_PER_ROW;
    for (let i = 0; i < SAMPLES_PER_ROW; i++) row[i] = signalAt(first + i);
    live.append(row);
  }, 1000 / ROWS_PER_SECOND);
  timer.unref();
  return () => {
    clearInterval(timer);
    live.close();
  };
}
