/**
 * Progress display (cli/progress.ts): when plain lines are printed (each tenth crossed, or
 * LINE_INTERVAL_MS since the last line, both sides of each bound), what they say, which mode a
 * stream gets, and the terminal bar (cli-progress) drawing MB/s and ETA.
 */
import { describe, expect, it } from "vitest";
import {
  barProgress,
  etaText,
  LINE_INTERVAL_MS,
  linesProgress,
  type ProgressStream,
  progressMode,
  sizeText,
} from "./progress.ts";

function capture(isTTY = false): ProgressStream & { text: string; lines: () => string[] } {
  const stream = {
    isTTY,
    text: "",
    write(t: string) {
      stream.text += t;
      return true;
    },
    lines: () => stream.text.split("\n").filter((l) => l !== ""),
  };
  return stream;
}

const MB = 1_000_000;

describe("linesProgress", () => {
  it("prints a line when a tenth is crossed, not before", () => {
    let now = 0;
    const out = capture();
    const sink = linesProgress("get x", out, () => now);
    now = 100;
    sink.update(9.9 * MB, 100 * MB, 50 * MB);
    expect(out.lines()).toEqual([]);
    sink.update(10 * MB, 100 * MB, 50 * MB);
    expect(out.lines()).toEqual(["get x: 10% 10.0 MB of 100.0 MB, 50.0 MB/s, ETA 2 s"]);
    sink.update(19 * MB, 100 * MB, 50 * MB); // same tenth, 0 ms later: nothing
    sink.update(35 * MB, 100 * MB, 50 * MB); // two tenths at once: one line
    expect(out.lines()).toHaveLength(2);
    expect(out.lines()[1]).toBe("get x: 35% 35.0 MB of 100.0 MB, 50.0 MB/s, ETA 2 s");
  });

  it("prints a line every LINE_INTERVAL_MS within a tenth, not sooner", () => {
    let now = 0;
    const out = capture();
    const sink = linesProgress("get x", out, () => now);
    now = LINE_INTERVAL_MS - 1;
    sink.update(1 * MB, 100 * MB, 0.5 * MB);
    expect(out.lines()).toEqual([]);
    now = LINE_INTERVAL_MS;
    sink.update(2 * MB, 100 * MB, 1 * MB);
    expect(out.lines()).toEqual(["get x: 2% 2.0 MB of 100.0 MB, 1.0 MB/s, ETA 1 min 38 s"]);
    now = 2 * LINE_INTERVAL_MS - 1;
    sink.update(3 * MB, 100 * MB, 1 * MB);
    expect(out.lines()).toHaveLength(1);
    now = 2 * LINE_INTERVAL_MS;
    sink.update(4 * MB, 100 * MB, 1 * MB);
    expect(out.lines()).toHaveLength(2);
  });

  it("ends with one total line, which later reports do not follow", () => {
    let now = 0;
    const out = capture();
    const sink = linesProgress("put y", out, () => now);
    now = 2500;
    sink.update(100 * MB, 100 * MB, 40 * MB); // complete: left to finish()
    sink.finish(100 * MB, 100 * MB, 40 * MB);
    sink.update(100 * MB, 100 * MB, 40 * MB);
    sink.finish(100 * MB, 100 * MB, 40 * MB);
    expect(out.lines()).toEqual(["put y: 100% 100.0 MB in 2.5 s, 40.0 MB/s"]);
  });

  it("prints nothing after stop()", () => {
    const out = capture();
    const sink = linesProgress("get x", out, () => 0);
    sink.stop();
    sink.update(50 * MB, 100 * MB, 1);
    sink.finish(100 * MB, 100 * MB, 1);
    expect(out.text).toBe("");
  });
});

describe("progress helpers", () => {
  it("picks a bar on a terminal, lines in a pipe or in CI, nothing when quiet", () => {
    expect(progressMode(false, capture(true), {})).toBe("bar");
    expect(progressMode(false, capture(true), { CI: "true" })).toBe("lines");
    expect(progressMode(false, capture(false), {})).toBe("lines");
    expect(progressMode(true, capture(true), {})).toBe("none");
  });

  it("writes sizes in decimal units, each unit from its lower bound", () => {
    expect([999, 1000, 999_999, 1_000_000, 999_999_999, 1e9, 4_294_967_296].map(sizeText)).toEqual([
      "999 B",
      "1.0 kB",
      "1000.0 kB",
      "1.0 MB",
      "1000.0 MB",
      "1.00 GB",
      "4.29 GB",
    ]);
  });

  it("rounds the ETA up to whole seconds, minutes past 59 s, ? while the rate is 0", () => {
    expect(etaText(100, 0)).toBe("?");
    expect(etaText(1, 1000)).toBe("1 s");
    expect(etaText(59_000, 1000)).toBe("59 s");
    expect(etaText(60_000, 1000)).toBe("1 min 0 s");
  });
});

describe("barProgress", () => {
  it("draws a bar with percent, MB, MB/s and ETA on a terminal, and leaves it complete", () => {
    const out = capture(true);
    const sink = barProgress("get big", out);
    sink.update(25 * MB, 100 * MB, 12.5 * MB);
    sink.finish(100 * MB, 100 * MB, 20 * MB);
    expect(out.text).toContain("get big [");
    expect(out.text).toMatch(/25% \| 25\.0 of 100\.0 MB \| 12\.5 MB\/s \| ETA /);
    expect(out.text).toMatch(/100% \| 100\.0 of 100\.0 MB \| 20\.0 MB\/s \| ETA 0s/);
  });
});
