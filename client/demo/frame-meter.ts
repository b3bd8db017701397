/**
 * A visible measure of main-thread responsiveness: a dot that a requestAnimationFrame loop moves
 * across a track (it stutters when the main thread is blocked; a CSS animation would not, as the
 * compositor runs it), and a frame-time readout: the longest gap between two frames over the last
 * second and over the current transfer, refreshed four times a second. A 60 Hz display gives
 * frames 16.7 ms apart; a 50 ms gap is a long task.
 */

/** What the meter measured (also on window.__arraywire.frames, for tests). */
export interface FrameStats {
  /** Longest frame gap over the last second, ms. */
  longestRecentMs: number;
  /** Frames and the longest gap since the current (or last) transfer started. */
  transferFrames: number;
  longestTransferMs: number;
  /** Readout refreshes, and those made while a transfer ran. */
  readouts: number;
  readoutsDuringTransfer: number;
}

/** How often the readout is refreshed, ms. */
const READOUT_INTERVAL_MS = 250;
/** The window "last second" covers, ms. */
const RECENT_WINDOW_MS = 1000;
/** A frame gap at or above this is drawn as a long task. */
const LONG_TASK_MS = 50;

/** The meter's elements. */
export interface FrameMeterView {
  dot: HTMLElement;
  recent: HTMLElement;
  transfer: HTMLElement;
  frames: HTMLElement;
}

export class FrameMeter {
  readonly stats: FrameStats = {
    longestRecentMs: 0,
    transferFrames: 0,
    longestTransferMs: 0,
    readouts: 0,
    readoutsDuringTransfer: 0,
  };
  readonly #view: FrameMeterView;
  /** [time, gap] of the frames of the last second. */
  #recent: [number, number][] = [];
  #last = 0;
  #lastReadout = 0;
  #transferring = false;

  constructor(view: FrameMeterView) {
    this.#view = view;
    requestAnimationFrame(this.#frame);
  }

  /** A transfer starts: its counters reset. */
  startTransfer(): void {
    this.#transferring = true;
    this.stats.transferFrames = 0;
    this.stats.longestTransferMs = 0;
    this.stats.readoutsDuringTransfer = 0;
  }

  /** The transfer ended (the readout keeps its figures). */
  stopTransfer(): void {
    this.#transferring = false;
  }

  readonly #frame = (now: number): void => {
    if (this.#last > 0) {
      const gap = now - this.#last;
      this.#recent.push([now, gap]);
      while ((this.#recent[0]?.[0] ?? now) < now - RECENT_WINDOW_MS) this.#recent.shift();
      if (this.#transferring) {
        this.stats.transferFrames++;
        this.stats.longestTransferMs = Math.max(this.stats.longestTransferMs, gap);
      }
    }
    this.#last = now;
    // The dot crosses the track in 2 s, back and forth: smooth only if every frame comes.
    const phase = (now % 4000) / 2000;
    this.#view.dot.style.transform = `translateX(calc(${phase <= 1 ? phase : 2 - phase} * (100cqw - 14px)))`;
    if (now - this.#lastReadout >= READOUT_INTERVAL_MS) {
      this.#lastReadout = now;
      this.#readout();
    }
    requestAnimationFrame(this.#frame);
  };

  #readout(): void {
    const s = this.stats;
    s.longestRecentMs = this.#recent.reduce((m, [, gap]) => Math.max(m, gap), 0);
    s.readouts++;
    if (this.#transferring) s.readoutsDuringTransfer++;
    show(this.#view.recent, s.longestRecentMs);
    show(this.#view.transfer, s.longestTransferMs);
    this.#view.frames.textContent = s.transferFrames === 0 ? "–" : String(s.transferFrames);
  }
}

function show(element: HTMLElement, ms: number): void {
  element.textContent = ms === 0 ? "–" : ms.toFixed(ms < 100 ? 1 : 0);
  element.dataset.long = String(ms >= LONG_TASK_MS);
}
