/**
 * Progress of a transfer on stderr. On a terminal: a cli-progress bar with percent, MB, MB/s and
 * ETA, redrawn in place. In a pipe, a file or CI (env CI set): plain lines, one each time the
 * transfer crosses a tenth of its size or every LINE_INTERVAL_MS, whichever comes first, and a
 * last one with the total, so logs stay readable. `--quiet`: nothing.
 */
import { SingleBar } from "cli-progress";

/** Longest time between two plain progress lines, in ms. */
export const LINE_INTERVAL_MS = 2_000;
/** A plain line is printed each time the transfer crosses a multiple of this fraction. */
export const LINE_STEP = 0.1;

/** How progress is shown. */
export type ProgressMode = "bar" | "lines" | "none";

/** What a command reports progress to. */
export interface ProgressSink {
  /** `doneByteLength` of `totalByteLength` bytes moved, at `bytesPerSecond` on average. */
  update(doneByteLength: number, totalByteLength: number, bytesPerSecond: number): void;
  /** The transfer completed: the last report (a 100 % line, the full bar). */
  finish(doneByteLength: number, totalByteLength: number, bytesPerSecond: number): void;
  /** The transfer ended without completing: stop drawing (the bar leaves its line). */
  stop(): void;
}

/** The stream progress is written to (process.stderr). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** "bar" on a terminal outside CI, "none" when quiet, else "lines". */
export function progressMode(
  quiet: boolean,
  stream: ProgressStream,
  env: NodeJS.ProcessEnv = process.env,
): ProgressMode {
  if (quiet) return "none";
  return stream.isTTY === true && !env.CI ? "bar" : "lines";
}

/** Bytes as decimal megabytes with one decimal ("400.0"). */
export function megabytes(byteLength: number): string {
  return (byteLength / 1e6).toFixed(1);
}

/** A byte count for people: "512 B", "8.0 kB", "400.0 MB", "4.29 GB" (decimal units). */
export function sizeText(byteLength: number): string {
  if (byteLength < 1e3) return `${byteLength} B`;
  if (byteLength < 1e6) return `${(byteLength / 1e3).toFixed(1)} kB`;
  if (byteLength < 1e9) return `${(byteLength / 1e6).toFixed(1)} MB`;
  return `${(byteLength / 1e9).toFixed(2)} GB`;
}

/** Seconds left as "42 s", "3 min 5 s", or "?" when the rate is still 0. */
export function etaText(remainingByteLength: number, bytesPerSecond: number): string {
  if (!(bytesPerSecond > 0)) return "?";
  const seconds = Math.ceil(remainingByteLength / bytesPerSecond);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

function percent(done: number, total: number): number {
  return total === 0 ? 100 : Math.floor((done / total) * 100);
}

/**
 * Plain lines: "<label>: 40% 160.0 MB of 400.0 MB, 120.5 MB/s, ETA 2 s", then
 * "<label>: 100% 400.0 MB in 3.3 s, 120.5 MB/s". `now` is injectable for tests.
 */
export function linesProgress(
  label: string,
  stream: ProgressStream,
  now: () => number = performance.now.bind(performance),
): ProgressSink {
  const startedAt = now();
  let lastAt = startedAt;
  let lastStep = 0;
  let finished = false;
  return {
    update(done, total, rate) {
      if (finished) return;
      const at = now();
      const step = total === 0 ? 0 : Math.floor((done / total + 1e-9) / LINE_STEP);
      if (step <= lastStep && at - lastAt < LINE_INTERVAL_MS) return;
      if (done >= total) return; // the final line says it
      lastAt = at;
      lastStep = Math.max(lastStep, step);
      stream.write(
        `${label}: ${percent(done, total)}% ${sizeText(done)} of ${sizeText(total)}, ${megabytes(rate)} MB/s, ETA ${etaText(total - done, rate)}\n`,
      );
    },
    finish(done, total, rate) {
      if (finished) return;
      finished = true;
      const seconds = ((now() - startedAt) / 1000).toFixed(1);
      stream.write(`${label}: ${percent(done, total)}% ${sizeText(total)} in ${seconds} s, ${megabytes(rate)} MB/s\n`);
    },
    stop() {
      finished = true;
    },
  };
}

/** A bar redrawn in place on a terminal (cli-progress), with MB, MB/s and ETA. */
export function barProgress(label: string, stream: ProgressStream): ProgressSink {
  const bar = new SingleBar({
    stream: stream as NodeJS.WriteStream,
    format: `${label} [{bar}] {percentage}% | {doneMB} of {totalMB} MB | {rate} MB/s | ETA {eta_formatted}`,
    barCompleteChar: "\u2588",
    barIncompleteChar: "\u2591",
    hideCursor: true,
    etaBuffer: 20,
    fps: 10,
  });
  let started = false;
  const payload = (done: number, total: number, rate: number) => ({
    doneMB: megabytes(done),
    totalMB: megabytes(total),
    rate: megabytes(rate),
  });
  const draw = (done: number, total: number, rate: number) => {
    if (!started) {
      started = true;
      bar.start(total, done, payload(done, total, rate));
    } else {
      bar.setTotal(total);
      bar.update(done, payload(done, total, rate));
    }
  };
  return {
    update: draw,
    finish(done, total, rate) {
      draw(done, total, rate);
      bar.stop();
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** The sink for `mode`. */
export function createProgress(mode: ProgressMode, label: string, stream: ProgressStream): ProgressSink {
  if (mode === "bar") return barProgress(label, stream);
  if (mode === "lines") return linesProgress(label, stream);
  return { update() {}, finish() {}, stop() {} };
}
