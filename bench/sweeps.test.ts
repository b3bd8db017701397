import { describe, expect, it } from "vitest";
import { writeSize } from "./peer-servers.ts";
import { METHODS, makePlan, methodsAt, REFERENCE_ELEMENT_COUNT } from "./plan.ts";
import type { Cell, Sample } from "./results.ts";
import { summarize } from "./results.ts";
import { bestOfGroup, SWEEP_GROUPS } from "./sweeps.ts";
import { evaluateTargets } from "./targets.ts";

const REF = REFERENCE_ELEMENT_COUNT;

function sample(mbps: number, extra: Partial<Sample> = {}): Sample {
  return { ok: true, ms: 1000, mbps, verified: true, ...extra };
}

function cell(methodId: string, samples: Sample[], elementCount = REF): Cell {
  const c: Cell = { methodId, env: "browser", label: methodId, elementCount, byteLength: elementCount * 8, samples };
  summarize(c);
  return c;
}

describe("sweep points", () => {
  it("have unique ids, and each ceiling sweep has exactly one point that runs at every size", () => {
    expect(new Set(METHODS.map((m) => m.id)).size).toBe(METHODS.length);
    for (const group of SWEEP_GROUPS.filter((g) => g.ceiling)) {
      const points = METHODS.filter((m) => m.sweep?.group === group.id);
      expect(points.length, group.id).toBeGreaterThan(1);
      expect(points.filter((m) => !m.referenceOnly).length, group.id).toBe(1);
    }
  });

  it("cover the issue's grids: 5 ways of reading x 4 writes (3 x 2 verified), 5 ws message sizes", () => {
    expect(METHODS.filter((m) => m.sweep?.group === "byob")).toHaveLength(20);
    expect(METHODS.filter((m) => m.sweep?.group === "byob").map((m) => m.sweep?.row)).toContain("scratch 1 MiB + copy");
    const verified = METHODS.filter((m) => m.sweep?.group === "byob-verified");
    expect(verified).toHaveLength(6);
    expect(verified.every((m) => m.pageParams?.hash === "1")).toBe(true);
    expect(METHODS.filter((m) => m.sweep?.group === "ws-loop").map((m) => m.sweep?.row)).toEqual([
      "64 KiB",
      "256 KiB",
      "1 MiB",
      "4 MiB",
      "16 MiB",
    ]);
  });
});

describe("methodsAt", () => {
  const full = makePlan(false);
  it("runs every ceiling point at the reference size and only the fixed points at other sizes", () => {
    const atRef = methodsAt(full, REF);
    const ceilingPoints = METHODS.filter((m) => m.sweep && SWEEP_GROUPS.find((g) => g.id === m.sweep?.group)?.ceiling);
    for (const m of ceilingPoints) expect(atRef).toContain(m);
    const small = methodsAt(full, 12_500_000).filter((m) => m.sweep);
    expect(small.length).toBe(SWEEP_GROUPS.filter((g) => g.ceiling).length);
    expect(small.every((m) => !m.referenceOnly)).toBe(true);
  });

  it("leaves arraywire's own chunk sweep to --sweep, which runs only sweep points", () => {
    expect(methodsAt(full, REF).some((m) => m.sweep?.group.startsWith("aw-"))).toBe(false);
    const sweep = methodsAt(makePlan(false, undefined, true), REF);
    expect(sweep.every((m) => m.sweep)).toBe(true);
    expect(sweep).toHaveLength(METHODS.filter((m) => m.sweep).length);
  });

  it("keeps a few points of each ceiling sweep in quick mode, and every main method", () => {
    const quick = makePlan(true);
    const methods = methodsAt(quick, quick.referenceElementCount);
    for (const group of SWEEP_GROUPS.filter((g) => g.ceiling)) {
      const n = methods.filter((m) => m.sweep?.group === group.id).length;
      expect(n, group.id).toBeGreaterThanOrEqual(1);
      expect(n, group.id).toBeLessThanOrEqual(2);
    }
    expect(methods.filter((m) => !m.sweep)).toHaveLength(METHODS.filter((m) => !m.sweep).length);
  });
});

describe("bestOfGroup", () => {
  it("picks the highest median of the group at that size, ignoring other groups, sizes and failed cells", () => {
    const cells = [
      cell("browser-byob-rall-w64k", [sample(500), sample(900), sample(510)]), // median 510
      cell("browser-byob-r16m-w1m", [sample(600), sample(620), sample(580)]), // median 600
      cell("browser-byob-r1m-w4m", [{ ok: false, ms: 0, mbps: 0, verified: false }]),
      cell("browser-byob-s256k-w64k", [sample(5000)], 12_500_000), // other size
      cell("browser-ws-loop-m1m", [sample(9000)]), // other group
    ];
    expect(bestOfGroup(cells, METHODS, "byob", REF)?.methodId).toBe("browser-byob-r16m-w1m");
    expect(bestOfGroup(cells, METHODS, "byob", 12_500_000)?.methodId).toBe("browser-byob-s256k-w64k");
    expect(bestOfGroup(cells, METHODS, "recv-reused", REF)).toBeUndefined();
  });
});

describe("targets against the ceilings", () => {
  it("judges the browser like with like, each against the best point of its sweep, not the fixed one", () => {
    const cells = [
      cell("browser-aw-auto", [sample(700)]),
      cell("browser-aw-auto-noverify", [sample(780)]),
      cell("browser-byob-rall-w64k", [sample(500)]),
      cell("browser-byob-s1m-w256k", [sample(800)]),
      cell("browser-byobv-rall-w64k", [sample(600)]),
      cell("browser-byobv-s256k-w1m", [sample(720)]),
    ];
    const targets = evaluateTargets(cells, REF, REF);
    const verified = targets.find((t) => t.id === "browser-vs-byob-verified");
    expect(verified?.value).toBeCloseTo(700 / 720);
    expect(verified).toMatchObject({ pass: true, info: false });
    expect(verified?.measured).toContain("browser-byobv-s256k-w1m");
    const plain = targets.find((t) => t.id === "browser-noverify-vs-byob");
    expect(plain?.value).toBeCloseTo(780 / 800);
    expect(plain).toMatchObject({ pass: true, info: false });
    expect(plain?.measured).toContain("browser-byob-s1m-w256k");
    // The mixed comparison (verify on against a loop that verifies nothing) is shown, not judged.
    const mixed = targets.find((t) => t.id === "browser-vs-byob");
    expect(mixed?.value).toBeCloseTo(700 / 800);
    expect(mixed).toMatchObject({ pass: false, info: true });
  });

  it("passes at exactly 0.95x and names the page faults of both sides for fresh Node targets", () => {
    const cells = [
      cell("browser-aw-auto", [sample(950)]),
      cell("browser-byobv-rall-w64k", [sample(1000)]),
      { ...cell("node-arraywire-fresh", [sample(1000, { minorFaults: 97_000 })]), env: "node" as const },
      { ...cell("node-arraywire-noverify-fresh", [sample(1000, { minorFaults: 97_000 })]), env: "node" as const },
      { ...cell("node-recv-fresh-r16m-w4m", [sample(1250, { minorFaults: 98_000 })]), env: "node" as const },
      { ...cell("python-recv-xxh32-fresh", [sample(999, { minorFaults: 900 })]), env: "python" as const },
    ];
    const targets = evaluateTargets(cells, REF, REF);
    expect(targets.find((t) => t.id === "browser-vs-byob-verified")?.pass).toBe(true);
    const vsRecv = targets.find((t) => t.id === "node-noverify-fresh-vs-recv-into");
    expect(vsRecv).toMatchObject({ pass: false, value: 0.8 });
    expect(vsRecv?.measured).toContain("97,000 minor faults/run vs 98,000 minor faults/run");
    const vsPython = targets.find((t) => t.id === "node-fresh-vs-python");
    expect(vsPython?.pass).toBe(true);
    expect(vsPython?.measured).toContain("vs 900 minor faults/run");
  });

  it("judges Node's default against the verified Python row and verify:false against the one that hashes nothing", () => {
    const node = (id: string, v: number, env: "node" | "python" = "node") => ({ ...cell(id, [sample(v)]), env });
    const cells = [
      node("node-arraywire-reused", 2000),
      node("node-arraywire-noverify-reused", 2400),
      node("python-recv-xxh32-reused", 1900, "python"),
      node("python-recv-reused", 2500, "python"),
    ];
    const targets = evaluateTargets(cells, REF, REF);
    const verified = targets.find((t) => t.id === "node-reused-vs-python");
    expect(verified).toMatchObject({ pass: true });
    expect(verified?.value).toBeCloseTo(2000 / 1900);
    const plain = targets.find((t) => t.id === "node-noverify-reused-vs-python");
    expect(plain).toMatchObject({ pass: false });
    expect(plain?.value).toBeCloseTo(2400 / 2500);
  });

  it("judges many-clients server growth against 64 MB + 4 MiB per client, on both sides of the bound", () => {
    const many = (id: string, clientCount: number, bytes: number): Cell => ({
      ...cell(
        id,
        [sample(800, { serverRssBytes: bytes, serverCpuSecondsPerGB: 0.4 })],
        id === "many-50x400" ? REF : 200_000_000,
      ),
      env: "concurrency",
      clientCount,
    });
    const limit50 = 64e6 + 50 * 4 * 1024 * 1024;
    const at = (bytes: number) =>
      evaluateTargets([many("many-50x400", 50, bytes)], REF, REF).find((t) => t.id === "server-rss-many-50x400");
    expect(at(limit50)?.pass).toBe(true);
    expect(at(limit50 + 1)?.pass).toBe(false);
    expect(at(limit50)?.measured).toContain("0.40 CPU s per GB sent");
  });
});

describe("writeSize", () => {
  it("keeps sizes in 4 KiB..64 MiB and falls back when absent or not a number", () => {
    expect(writeSize(null, 123)).toBe(123);
    expect(writeSize("", 123)).toBe(123);
    expect(writeSize("abc", 123)).toBe(123);
    expect(writeSize("65536", 123)).toBe(65536);
    expect(writeSize("4095", 123)).toBe(4096);
    expect(writeSize("4096", 123)).toBe(4096);
    expect(writeSize(String(64 * 1024 * 1024), 123)).toBe(64 * 1024 * 1024);
    expect(writeSize(String(64 * 1024 * 1024 + 1), 123)).toBe(64 * 1024 * 1024);
  });
});
