/**
 * The targets, judged on the medians of one run. Ratios compare methods measured in the
 * same run (alternated), at the reference size unless the target names another. Every ceiling is
 * the best point of its sweep (sweeps.ts), never a loop held to arraywire's own settings. Like
 * is compared with like: arraywire with verification on (the default) is judged against
 * baselines that verify too (the Python client's C XXH32 checked against END, the hand-written
 * BYOB loop with an XXH32 checked against the server's); a ceiling that verifies nothing (the
 * bare recv_into loop, the plain BYOB loop, Python with no hash) is judged against arraywire's
 * verify:false row, and arraywire's default against it is shown for information.
 */
import { workerTargets } from "./long-tasks.ts";
import { JSON_MAX_ELEMENT_COUNT, MANY_CLIENTS, MB, METHODS, MiB, sizeLabel } from "./plan.ts";
import type { Cell, TargetResult } from "./results.ts";
import { bestOfGroup } from "./sweeps.ts";

const fmt = (mbps: number) => `${Math.round(mbps).toLocaleString("en-US")} MB/s`;
const fmtMB = (bytes: number) => `${Math.round(bytes / MB).toLocaleString("en-US")} MB`;
const int = (v: number) => Math.round(v).toLocaleString("en-US");

/** Median MB/s of a cell, or undefined when it has no successful run. */
function mbps(cell: Cell | undefined): number | undefined {
  return cell?.summary?.mbps.median;
}

/** "97,650 minor faults" (median per run), or "" when the cell has none recorded. */
function faults(cell: Cell | undefined): string {
  const f = cell?.summary?.minorFaults?.median;
  return f === undefined ? "" : `${int(f)} minor faults/run`;
}

function ratioTarget(
  id: string,
  text: string,
  a: Cell | undefined,
  b: Cell | undefined,
  threshold: number,
  withFaults = false,
  info = false,
): TargetResult {
  const va = mbps(a);
  const vb = mbps(b);
  if (va === undefined || vb === undefined || !a || !b) {
    return { id, text, measured: "not measured", value: null, threshold: `>= ${threshold}x`, pass: null, info };
  }
  const value = va / vb;
  let measured =
    a.elementCount === b.elementCount
      ? `${a.label} ${fmt(va)} / ${b.label} ${fmt(vb)} @ ${sizeLabel(a.elementCount)}`
      : `${a.label} ${fmt(va)} @ ${sizeLabel(a.elementCount)} / ${fmt(vb)} @ ${sizeLabel(b.elementCount)}`;
  if (withFaults && faults(a) && faults(b)) measured += `; page faults: ${faults(a)} vs ${faults(b)}`;
  return { id, text, measured, value, threshold: `>= ${threshold}x`, pass: value >= threshold, info };
}

type MemoryKey = "rendererRssBytes" | "clientRssBytes" | "serverRssBytes";

function memoryTarget(
  id: string,
  text: string,
  cell: Cell | undefined,
  key: MemoryKey,
  limitBytes: number,
  limitText: string,
  arrayBytes: number,
): TargetResult {
  const used = cell?.summary?.[key]?.median;
  if (used === undefined || !cell) {
    return { id, text, measured: "not measured", value: null, threshold: limitText, pass: null };
  }
  return {
    id,
    text,
    measured: `${cell.label}: ${fmtMB(used)} peak - baseline = ${(used / arrayBytes).toFixed(2)}x the ${fmtMB(arrayBytes)} array`,
    value: used / arrayBytes,
    valueText: `${fmtMB(used)} (${(used / arrayBytes).toFixed(2)}x)`,
    threshold: limitText,
    pass: used <= limitBytes,
  };
}

/** Server growth allowed per many-clients run: 64 MB plus one default ws queue (maxQueuedBytes, 4 MiB) per client. */
export function manyClientsLimitBytes(clientCount: number): number {
  return 64 * MB + clientCount * 4 * MiB;
}

/** Evaluates every target; `ref` is the reference element count, `largest` the largest size run. */
export function evaluateTargets(cells: Cell[], ref: number, largest: number): TargetResult[] {
  const get = (methodId: string, n = ref) => cells.find((c) => c.methodId === methodId && c.elementCount === n);
  const best = (group: string) => {
    const cell = bestOfGroup(cells, METHODS, group, ref);
    return cell && { ...cell, label: `best ${cell.label}` };
  };
  const refBytes = ref * 8;
  const rssLimit = 1.1 * refBytes + 64 * MB;
  const browser = get("browser-aw-auto");
  const browserNoVerify = get("browser-aw-auto-noverify");
  const fresh = get("node-arraywire-fresh");
  const reused = get("node-arraywire-reused");
  const freshNoVerify = get("node-arraywire-noverify-fresh");
  const reusedNoVerify = get("node-arraywire-noverify-reused");
  const out: TargetResult[] = [
    ratioTarget(
      "browser-vs-byob-verified",
      "Browser: arraywire (defaults, verify on) >= 0.95x the best hand-written fetch + BYOB loop that verifies (XXH32)",
      browser,
      best("byob-verified"),
      0.95,
    ),
    ratioTarget(
      "browser-noverify-vs-byob",
      "Browser: arraywire verify:false >= 0.95x the best hand-written fetch + BYOB loop (verifies nothing)",
      browserNoVerify,
      best("byob"),
      0.95,
    ),
    ratioTarget(
      "browser-vs-byob",
      "Browser (info): arraywire (defaults, verify on) against the best fetch + BYOB loop that verifies nothing (the issue's wording)",
      browser,
      best("byob"),
      0.95,
      false,
      true,
    ),
    memoryTarget(
      "renderer-rss",
      "Browser: renderer peak - baseline <= 1.1x the array (arraywire defaults)",
      browser,
      "rendererRssBytes",
      1.1 * refBytes,
      `<= 1.1x = ${fmtMB(1.1 * refBytes)}`,
      refBytes,
    ),
    ratioTarget(
      "browser-ws-vs-ws-loop",
      "Browser: arraywire ws >= 1.0x the best bare ws loop",
      get("browser-aw-ws"),
      best("ws-loop"),
      1,
    ),
    memoryTarget(
      "renderer-rss-ws",
      "Browser: renderer peak - baseline <= 1.1x the array (arraywire ws)",
      get("browser-aw-ws"),
      "rendererRssBytes",
      1.1 * refBytes,
      `<= 1.1x = ${fmtMB(1.1 * refBytes)}`,
      refBytes,
    ),
    ratioTarget(
      "playwright-vs-ws-loop",
      "Under Playwright: arraywire (defaults) >= 4x the bare ws loop (both under Playwright)",
      get("playwright-aw-auto"),
      get("playwright-ws-loop"),
      4,
    ),
    ratioTarget(
      "node-reused-vs-python",
      "Node: arraywire (defaults, verify on) >= 1.0x Python recv_into with the C XXH32 checked against END, reused targets",
      reused,
      get("python-recv-xxh32-reused"),
      1,
    ),
    ratioTarget(
      "node-fresh-vs-python",
      "Node: arraywire (defaults, verify on) >= 1.0x Python recv_into with the C XXH32, fresh targets (or the page-fault reason)",
      fresh,
      get("python-recv-xxh32-fresh"),
      1,
      true,
    ),
    ratioTarget(
      "node-noverify-reused-vs-python",
      "Node: arraywire verify:false >= 1.0x Python recv_into with no hash (verifies nothing), reused targets",
      reusedNoVerify,
      get("python-recv-reused"),
      1,
    ),
    ratioTarget(
      "node-noverify-fresh-vs-python",
      "Node: arraywire verify:false >= 1.0x Python recv_into with no hash, fresh targets (or the page-fault reason)",
      freshNoVerify,
      get("python-recv-fresh"),
      1,
      true,
    ),
    ratioTarget(
      "node-noverify-reused-vs-recv-into",
      "Node: arraywire verify:false >= 1.0x the best bare recv_into loop (verifies nothing), reused targets",
      reusedNoVerify,
      best("recv-reused"),
      1,
    ),
    ratioTarget(
      "node-noverify-fresh-vs-recv-into",
      "Node: arraywire verify:false >= 1.0x the best bare recv_into loop, fresh targets (or the page-fault reason)",
      freshNoVerify,
      best("recv-fresh"),
      1,
      true,
    ),
    ratioTarget(
      "node-reused-vs-recv-into",
      "Node (info): arraywire (defaults, verify on) against the best bare recv_into loop (verifies nothing), reused targets",
      reused,
      best("recv-reused"),
      1,
      false,
      true,
    ),
    memoryTarget(
      "node-rss-fresh",
      "Node: client RSS <= 1.1x array + 64 MB (arraywire, fresh target)",
      fresh,
      "clientRssBytes",
      rssLimit,
      `<= 1.1x + 64 MB = ${fmtMB(rssLimit)}`,
      refBytes,
    ),
    memoryTarget(
      "node-rss-reused",
      "Node: client RSS <= 1.1x array + 64 MB (arraywire, reused target)",
      reused,
      "clientRssBytes",
      rssLimit,
      `<= 1.1x + 64 MB = ${fmtMB(rssLimit)}`,
      refBytes,
    ),
  ];
  const reusedMbps = mbps(reused);
  out.push({
    id: "node-reused-1500",
    text: "Node: into a reused buffer >= 1.5 GB/s",
    measured: reusedMbps === undefined ? "not measured" : `${fmt(reusedMbps)} @ ${sizeLabel(ref)}`,
    value: reusedMbps ?? null,
    threshold: ">= 1,500 MB/s",
    pass: reusedMbps === undefined ? null : reusedMbps >= 1500,
  });
  const manyRan = cells.some((c) => c.env === "concurrency");
  for (const many of manyRan ? MANY_CLIENTS : []) {
    const cell = cells.find((c) => c.methodId === many.id);
    const limit = manyClientsLimitBytes(many.clientCount);
    const target = memoryTarget(
      `server-rss-${many.id}`,
      `Many clients: server RSS peak - baseline with ${many.clientCount} clients on one ${sizeLabel(many.elementCount)} array <= 64 MB + 4 MiB per client`,
      cell,
      "serverRssBytes",
      limit,
      `<= ${fmtMB(limit)}`,
      many.elementCount * 8,
    );
    const cpu = cell?.summary?.serverCpuSecondsPerGB?.median;
    if (cell?.summary && cpu !== undefined) {
      target.measured = `${fmtMB(cell.summary.serverRssBytes?.median ?? 0)} peak - baseline; aggregate ${fmt(cell.summary.mbps.median)}; server ${cpu.toFixed(2)} CPU s per GB sent`;
      target.valueText = fmtMB(cell.summary.serverRssBytes?.median ?? 0);
    }
    out.push(target);
  }
  const jsonSize = Math.min(JSON_MAX_ELEMENT_COUNT, ref);
  out.push(
    ratioTarget(
      "node-vs-json",
      "Peers: >= 10x JSON (Node, at the JSON cap)",
      get("node-arraywire-fresh", jsonSize),
      get("node-json", jsonSize),
      10,
    ),
    ratioTarget(
      "browser-vs-json",
      "Peers: >= 10x JSON (browser, at the JSON cap)",
      get("browser-aw-auto", jsonSize),
      get("browser-json", jsonSize),
      10,
    ),
    ratioTarget(
      "node-vs-ws-one-fresh",
      "Peers: >= 2x one whole ws message (Node, fresh)",
      fresh,
      get("node-ws-one-fresh"),
      2,
    ),
    ratioTarget(
      "node-vs-ws-one-reused",
      "Peers: >= 2x one whole ws message (Node, reused)",
      reused,
      get("node-ws-one-reused"),
      2,
    ),
    ratioTarget("browser-vs-arrow", "Peers: faster than Arrow IPC (browser)", browser, get("browser-arrow"), 1),
    ...workerTargets(cells, ref),
  );
  if (largest > ref) {
    out.push(
      ratioTarget(
        "large-node-fresh",
        `${sizeLabel(largest)} at no worse MB/s than ${sizeLabel(ref)} (Node, fresh)`,
        get("node-arraywire-fresh", largest),
        fresh,
        1,
      ),
      ratioTarget(
        "large-node-reused",
        `${sizeLabel(largest)} at no worse MB/s than ${sizeLabel(ref)} (Node, reused)`,
        get("node-arraywire-reused", largest),
        reused,
        1,
      ),
      ratioTarget(
        "large-browser",
        `${sizeLabel(largest)} at no worse MB/s than ${sizeLabel(ref)} (browser, defaults)`,
        get("browser-aw-auto", largest),
        browser,
        1,
      ),
    );
  }
  return out;
}
