/**
 * The demo's file dataset (issue 9, part 6): a real-looking 50M-sample float64 signal, written
 * once as an .npy to a cache directory and then served from disk by npyFile. Sampled at 1 MHz
 * (t = i / 1e6 s, 50 s in all): three sines (0.5 Hz, 3.1 Hz, 47 Hz), a slow linear drift, noise
 * from an integer hash of the index (so any sample can be recomputed alone), and four events,
 * Gaussian bumps at 7.3 s, 18.9 s, 31.4 s and 44 s. The e2e test recomputes samples from this
 * description, not from this code.
 *
 * The cache directory is $ARRAYWIRE_DEMO_CACHE, else os.tmpdir()/arraywire-demo (never the
 * repository). The file is written in slices that yield to the event loop (the server answers
 * meanwhile) to a temporary name, then renamed, so a half-written file is never served.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeNpyHeader } from "../shared/index.ts";

/** Samples in the signal (400 MB of float64). */
export const SIGNAL_LENGTH = 50_000_000;
const SAMPLE_RATE_HZ = 1e6;
/** Events: [centre in s, amplitude, width in s]. */
const EVENTS = [
  [7.3, 2.5, 0.02],
  [18.9, -1.8, 0.05],
  [31.4, 3.2, 0.01],
  [44.0, 1.5, 0.2],
] as const;
/** Samples computed and written per slice (8 MB). */
const SLICE_LENGTH = 1 << 20;
/** Bump the version when the formula changes: the file name carries it. */
const FILE_NAME = `signal-v1-${SIGNAL_LENGTH}.npy`;

/** Sample i of the signal. */
export function signalValue(i: number): number {
  const t = i / SAMPLE_RATE_HZ;
  let h = i >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h = (h ^ (h >>> 16)) >>> 0;
  const noise = (h / 2 ** 32 - 0.5) * 0.3;
  let value =
    Math.sin(2 * Math.PI * 0.5 * t) +
    0.5 * Math.sin(2 * Math.PI * 3.1 * t + 0.7) +
    0.2 * Math.sin(2 * Math.PI * 47 * t) +
    0.05 * t +
    noise;
  for (const [centre, amplitude, width] of EVENTS) {
    const z = (t - centre) / width;
    if (z > -8 && z < 8) value += amplitude * Math.exp(-0.5 * z * z);
  }
  return value;
}

/** Where the demo keeps the file. */
export function demoCacheDir(): string {
  return process.env.ARRAYWIRE_DEMO_CACHE || join(tmpdir(), "arraywire-demo");
}

/** The dataset's state, for /api/info. */
export interface SignalState {
  state: "preparing" | "ready" | "failed";
  /** Fraction written, 0..1. */
  progress: number;
  path: string;
  error?: string;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Writes the signal to the cache unless a complete file is there; `state` follows the work.
 * Resolves with the file's path; never rejects (a failure is recorded in `state`).
 */
export async function prepareSignal(state: SignalState): Promise<string | null> {
  const header = encodeNpyHeader({ dtype: "float64", shape: [SIGNAL_LENGTH] });
  const byteLength = header.byteLength + SIGNAL_LENGTH * 8;
  if (existsSync(state.path) && statSync(state.path).size === byteLength) {
    Object.assign(state, { state: "ready", progress: 1 });
    return state.path;
  }
  const partial = `${state.path}.${process.pid}.partial`;
  try {
    mkdirSync(demoCacheDir(), { recursive: true });
    const file = await open(partial, "w");
    try {
      await file.write(header);
      const slice = new Float64Array(SLICE_LENGTH);
      for (let first = 0; first < SIGNAL_LENGTH; first += SLICE_LENGTH) {
        const n = Math.min(SLICE_LENGTH, SIGNAL_LENGTH - first);
        for (let i = 0; i < n; i++) slice[i] = signalValue(first + i);
        await file.write(new Uint8Array(slice.buffer, 0, n * 8));
        state.progress = (first + n) / SIGNAL_LENGTH;
        await yieldToEventLoop();
      }
    } finally {
      await file.close();
    }
    await rename(partial, state.path);
    state.state = "ready";
    return state.path;
  } catch (err) {
    await rm(partial, { force: true });
    Object.assign(state, { state: "failed", error: (err as Error).message });
    return null;
  }
}

/** A fresh state for the signal in the cache directory. */
export function signalState(): SignalState {
  return { state: "preparing", progress: 0, path: join(demoCacheDir(), FILE_NAME) };
}
