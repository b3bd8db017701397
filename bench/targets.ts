/**
 * The targets, judged on the medians of one run. Ratios compare methods measured in the
 * same run (alternated), at the reference size unless the target names another.
 */
import { CONCURRENT_CLIENT_COUNT, JSON_MAX_ELEMENT_COUNT, MB, MiB, sizeLabel } from "./plan.ts";
import type { Cell, TargetResult } from "./results.ts";

type Lookup = (methodId: string, elementCount: number) => Cell | undefined;

const fmt = (mbps: number) => `${Math.round(mbps).toLocaleString("en-US")} MB/s`;
const fmtMB = (bytes: number) => `${Math.round(bytes / MB).toLocaleString("en-US")} MB`;

/** Median MB/s of a cell, or undefined when it has no successful run. */
function mbps(cell: Cell | undefined): number | undefined {
  return cell?.summary?.mbps.median;
}

function ratioTarget(
  id: string,
  text: string,
  a: Cell | undefined,
  b: Cell | undefined,
  threshold: number,
): TargetResult {
  const va = mbps(a);
  const vb = mbps(b);
  if (va === undefined || vb === undefined || !a || !b) {
    return { id, text, measured: "not measured", value: null, threshold: `>= ${threshold}x`, pass: null };
  }
  const value = va / vb;
  const measured =
    a.elementCount === b.elementCount
      ? `${a.label} ${fmt(va)} / ${b.label} ${fmt(vb)} @ ${sizeLabel(a.elementCount)}`
      : `${a.label} ${fmt(va)} @ ${sizeLabel(a.elementCount)} / ${fmt(vb)} @ ${sizeLabel(b.elementCount)}`;
  return {
    id,
    text,
    measured,
    value,
    threshold: `>= ${threshold}x`,
    pass: value >= threshold,
  };
}

/** The best (highest median) of some cells. */
function best(...cells: (Cell | undefined)[]): Cell | undefined {
  return cells.filter((c) => mbps(c) !== undefined).sort((x, y) => (mbps(y) as number) - (mbps(x) as number))[0];
}

/** Evaluates every target; `ref` is the reference element count, `largest` the largest size run. */
export function evaluateTargets(cells: Cell[], ref: number, largest: number, concurrent: number): TargetResult[] {
  const get: Lookup = (methodId, n) => cells.find((c) => c.methodId === methodId && c.elementCount === n);
  const refBytes = ref * 8;
  const out: TargetResult[] = [];
  const browserBest = best(get("browser-aw-auto", ref), get("browser-aw-ws", ref));
  out.push(
    ratioTarget(
      "browser-best-vs-byob",
      "Browser: arraywire's best transport >= 0.95x the fetch-BYOB ceiling",
      browserBest,
      get("browser-fetch-byob", ref),
      0.95,
    ),
    {
      ...ratioTarget(
        "browser-best-vs-ws-loop",
        "Browser (info): arraywire's best transport vs the minimal ws loop (the issue expects about 2x)",
        browserBest,
        get("browser-ws-loop", ref),
        2,
      ),
      info: true,
    },
    ratioTarget(
      "browser-ws-vs-ws-loop",
      "Browser: arraywire's ws transport >= 1.0x the minimal ws loop",
      get("browser-aw-ws", ref),
      get("browser-ws-loop", ref),
      1,
    ),
    ratioTarget(
      "playwright-vs-ws-loop",
      "Under Playwright: arraywire (auto) >= 4x the minimal ws loop (both under Playwright)",
      get("playwright-aw-auto", ref),
      get("playwright-ws-loop", ref),
      4,
    ),
    ratioTarget(
      "node-fresh-vs-tcp",
      "Node: arraywire >= 1.0x raw TCP, fresh targets",
      get("node-arraywire-fresh", ref),
      get("node-tcp-fresh", ref),
      1,
    ),
    ratioTarget(
      "node-reused-vs-tcp",
      "Node: arraywire >= 1.0x raw TCP, reused targets",
      get("node-arraywire-reused", ref),
      get("node-tcp-reused", ref),
      1,
    ),
  );
  const reused = get("node-arraywire-reused", ref);
  const reusedMbps = mbps(reused);
  out.push({
    id: "node-reused-1500",
    text: "Node: into a reused buffer >= 1.5 GB/s",
    measured: reusedMbps === undefined ? "not measured" : `${fmt(reusedMbps)} @ ${sizeLabel(ref)}`,
    value: reusedMbps ?? null,
    threshold: ">= 1,500 MB/s",
    pass: reusedMbps === undefined ? null : reusedMbps >= 1500,
  });
  const memory = (
    id: string,
    text: string,
    cell: Cell | undefined,
    key: "rendererRssBytes" | "clientRssBytes" | "serverRssBytes",
    limitBytes: number,
    limitText: string,
    arrayBytes: number,
  ): TargetResult => {
    const used = cell?.summary?.[key]?.median;
    if (used === undefined || !cell)
      return { id, text, measured: "not measured", value: null, threshold: limitText, pass: null };
    return {
      id,
      text,
      measured: `${cell.label}: ${fmtMB(used)} peak - baseline = ${(used / arrayBytes).toFixed(2)}x the ${fmtMB(arrayBytes)} array`,
      value: used / arrayBytes,
      valueText: `${fmtMB(used)} (${(used / arrayBytes).toFixed(2)}x)`,
      threshold: limitText,
      pass: used <= limitBytes,
    };
  };
  out.push(
    memory(
      "renderer-rss",
      "Renderer peak - baseline <= 1.1x the array (arraywire auto = http, the default)",
      get("browser-aw-auto", ref),
      "rendererRssBytes",
      1.1 * refBytes,
      `<= 1.1x = ${fmtMB(1.1 * refBytes)}`,
      refBytes,
    ),
    {
      ...memory(
        "renderer-rss-ws",
        "Renderer peak - baseline (info): arraywire ws (the issue measured ~1.6x for a naive ws loop)",
        get("browser-aw-ws", ref),
        "rendererRssBytes",
        1.1 * refBytes,
        `<= 1.1x = ${fmtMB(1.1 * refBytes)}`,
        refBytes,
      ),
      info: true,
    },
    memory(
      "node-rss-fresh",
      "Node client RSS <= 1.1x array + 64 MB (arraywire, fresh target)",
      get("node-arraywire-fresh", ref),
      "clientRssBytes",
      1.1 * refBytes + 64 * MB,
      `<= 1.1x + 64 MB = ${fmtMB(1.1 * refBytes + 64 * MB)}`,
      refBytes,
    ),
    memory(
      "node-rss-reused",
      "Node client RSS <= 1.1x array + 64 MB (arraywire, reused target)",
      reused,
      "clientRssBytes",
      1.1 * refBytes + 64 * MB,
      `<= 1.1x + 64 MB = ${fmtMB(1.1 * refBytes + 64 * MB)}`,
      refBytes,
    ),
  );
  const concurrentBytes = concurrent * 8;
  const limit = concurrentBytes + CONCURRENT_CLIENT_COUNT * 16 * MiB;
  out.push(
    memory(
      "server-rss-concurrent",
      `Server RSS with ${CONCURRENT_CLIENT_COUNT} clients on one array <= baseline + array + 16 MiB per client`,
      get("concurrency", concurrent),
      "serverRssBytes",
      limit,
      `<= ${fmtMB(limit)} (${(limit / concurrentBytes).toFixed(2)}x)`,
      concurrentBytes,
    ),
  );
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
      get("node-arraywire-fresh", ref),
      get("node-ws-one-fresh", ref),
      2,
    ),
    ratioTarget(
      "node-vs-ws-one-reused",
      "Peers: >= 2x one whole ws message (Node, reused)",
      reused,
      get("node-ws-one-reused", ref),
      2,
    ),
    ratioTarget(
      "browser-vs-arrow",
      "Peers: faster than Arrow IPC (browser)",
      browserBest,
      get("browser-arrow", ref),
      1,
    ),
  );
  if (largest > ref) {
    out.push(
      ratioTarget(
        "large-node-fresh",
        `${sizeLabel(largest)} at no worse MB/s than ${sizeLabel(ref)} (Node, fresh)`,
        get("node-arraywire-fresh", largest),
        get("node-arraywire-fresh", ref),
        1,
      ),
      ratioTarget(
        "large-node-reused",
        `${sizeLabel(largest)} at no worse MB/s than ${sizeLabel(ref)} (Node, reused)`,
        get("node-arraywire-reused", largest),
        get("node-arraywire-reused", ref),
        1,
      ),
      ratioTarget(
        "large-browser",
        `${sizeLabel(largest)} at no worse MB/s than ${sizeLabel(ref)} (browser, auto)`,
        get("browser-aw-auto", largest),
        get("browser-aw-auto", ref),
        1,
      ),
    );
  }
  return out;
}
