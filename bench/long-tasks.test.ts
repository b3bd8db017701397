/**
 * The worker targets (long-tasks.ts), judged on made-up cells: both sides of the 0.95x bound, and
 * "no long task" failing on a single one.
 */
import { describe, expect, it } from "vitest";
import { describeLongTasks, workerTargets } from "./long-tasks.ts";
import type { Cell, Sample } from "./results.ts";
import { summarize } from "./results.ts";

const REF = 50_000_000;

function cell(methodId: string, runs: { mbps: number; longTasks: number[] }[]): Cell {
  const samples: Sample[] = runs.map((r) => ({
    ok: true,
    ms: 1000,
    mbps: r.mbps,
    verified: true,
    detail: {
      longTasks: r.longTasks.length,
      longestTaskMs: Math.max(0, ...r.longTasks),
      longTaskMs: r.longTasks.reduce((a, b) => a + b, 0),
    },
  }));
  const c: Cell = { methodId, env: "browser", label: methodId, elementCount: REF, byteLength: REF * 8, samples };
  summarize(c);
  return c;
}

function judge(workerMbps: number, workerTasks: number[][], mainTasks: number[][] = [[60], [], [80, 70]]) {
  const main = cell(
    "browser-aw-auto",
    mainTasks.map((t) => ({ mbps: 400, longTasks: t })),
  );
  const worker = cell(
    "browser-aw-worker",
    workerTasks.map((t) => ({ mbps: workerMbps, longTasks: t })),
  );
  const warm = cell(
    "browser-aw-worker-warm",
    workerTasks.map(() => ({ mbps: workerMbps + 10, longTasks: [] })),
  );
  const [speed, speedWarm, tasks] = workerTargets([main, worker, warm], REF);
  return { speed, speedWarm, tasks };
}

describe("workerTargets", () => {
  it("passes the speed target at 0.95x the main-thread median and misses it just below", () => {
    expect(judge(380, [[], []]).speed).toMatchObject({ pass: true, value: 0.95 });
    expect(judge(379, [[], []]).speed).toMatchObject({ pass: false });
    expect(judge(370, [[], []]).speedWarm).toMatchObject({ pass: true, value: 0.95 });
    expect(judge(369, [[], []]).speedWarm).toMatchObject({ pass: false });
  });

  it("passes the long-task target only when no worker run saw one", () => {
    expect(judge(400, [[], [], []]).tasks).toMatchObject({ pass: true, valueText: "none" });
    const one = judge(400, [[], [51], []]).tasks as NonNullable<ReturnType<typeof judge>["tasks"]>;
    expect(one).toMatchObject({ pass: false, value: 51, valueText: "51 ms" });
    expect(one.measured).toContain("worker: 0-1 long tasks per run (median 0), longest 0-51 ms");
    expect(one.measured).toContain("over 6 runs"); // the first-call and the warm rows together
  });

  it("reports the main thread's long tasks next to the worker's", () => {
    expect(judge(400, [[]]).tasks?.measured).toBe(
      "worker: no long task in 2 runs; main thread: 0-2 long tasks per run (median 1), longest 0-80 ms, 0-150 ms in all, over 3 runs",
    );
  });

  it("is not judged when a row did not run", () => {
    expect(workerTargets([], REF).map((t) => t.pass)).toEqual([null, null, null]);
  });

  it("describes no runs as not measured", () => {
    expect(describeLongTasks([])).toBe("not measured");
  });
});
