/**
 * The sweeps. A ceiling is the best hand-written loop a sweep finds, never a loop held to
 * arraywire's own settings: every point of a ceiling sweep runs in the full run (alternated with
 * arraywire at the reference size) and the point with the best median is the ceiling row the
 * targets are judged against. One point of each sweep (the "fixed" point) also runs at every
 * size, so the size chart has the peer. arraywire's own chunk/credit sweep runs only with --sweep.
 */

import { ANY, type Env, type Method, MiB, nodeMethod, PEER_MAX_ELEMENT_COUNT, pageMethod } from "./methods.ts";
import type { Cell } from "./results.ts";

/** One sweep: its points are the methods whose `sweep.group` is `id`. */
export interface SweepGroup {
  id: string;
  env: Env;
  /** What the loop is, e.g. "browser: fetch + BYOB". */
  title: string;
  /** Label of the ceiling row (best point); undefined for a sweep that is not a ceiling. */
  ceilingLabel?: string;
  /** Names of the row and column settings, e.g. "read window", "server write". */
  rowName: string;
  columnName?: string;
  /** Part of the full run (a ceiling); false: only with --sweep. */
  ceiling: boolean;
  /** How the loop works, for the report. */
  description: string;
}

/** "64 KiB", "16 MiB", or "whole rest" for 0. */
export function bytesLabel(byteLength: number): string {
  if (byteLength === 0) return "whole rest";
  return byteLength >= MiB ? `${byteLength / MiB} MiB` : `${byteLength / 1024} KiB`;
}

/** "64k", "16m", "all" for 0: for method ids. */
function idPart(byteLength: number): string {
  if (byteLength === 0) return "all";
  return byteLength >= MiB ? `${byteLength / MiB}m` : `${byteLength / 1024}k`;
}

const KiB = 1024;
/**
 * fetch + BYOB: how reads land (a window of the target, 0 = the whole remaining range; or a
 * scratch buffer copied into the target) x the server's write size.
 */
const BYOB_READS: ByobRead[] = [
  { window: 0 },
  { window: 16 * MiB },
  { window: MiB },
  { scratch: MiB },
  { scratch: 256 * KiB },
];
const BYOB_WRITES = [64 * KiB, 256 * KiB, MiB, 4 * MiB];
/** The verified loop (XXH32 of each piece, checked): fewer points, the ones that matter. */
const BYOB_VERIFIED_READS: ByobRead[] = [{ window: 0 }, { scratch: MiB }, { scratch: 256 * KiB }];
const BYOB_VERIFIED_WRITES = [64 * KiB, MiB];
/** Bare browser ws loop: the server's message size. */
const WS_MESSAGES = [64 * KiB, 256 * KiB, MiB, 4 * MiB, 16 * MiB];
/** Bare Node recv_into loop: the server's write size x the receive window (0 = the whole rest). */
const RECV_WRITES = [64 * KiB, 256 * KiB, MiB, 4 * MiB];
const RECV_WINDOWS = [0, 16 * MiB, MiB];

export const SWEEP_GROUPS: SweepGroup[] = [
  {
    id: "byob",
    env: "browser",
    title: "browser: fetch + BYOB",
    ceilingLabel: "fetch + BYOB, best hand-written",
    rowName: "read window",
    columnName: "server write",
    ceiling: true,
    description:
      "fetch() of the raw bytes (GET /raw), a BYOB reader reading straight into the target, each read offered the window (or the whole remaining range), or reading into a scratch buffer whose bytes are copied into the target in 256 KiB pieces (a read then transfers the scratch's ArrayBuffer, not the target's); the server writes views of the array of the given size, waiting for 'drain'.",
  },
  {
    id: "byob-verified",
    env: "browser",
    title: "browser: fetch + BYOB + XXH32 (verified)",
    ceilingLabel: "fetch + BYOB + XXH32, best hand-written verified loop",
    rowName: "reads",
    columnName: "server write",
    ceiling: true,
    description:
      "The fetch + BYOB loop plus what arraywire's verify does: the XXH32 of every 256 KiB piece right after it landed in the target (a direct read's bytes, or each piece copied from the scratch buffer), checked at the end against the server's (a response header of /raw?hash=1).",
  },
  {
    id: "ws-loop",
    env: "browser",
    title: "browser: bare WebSocket loop",
    ceilingLabel: "bare ws loop, best hand-written",
    rowName: "server message",
    ceiling: true,
    description:
      "new WebSocket, binaryType arraybuffer, one TypedArray.set per message into the target; the server (ws) sends views of the array of the given size, at most max(8 MiB, 2 messages) queued.",
  },
  {
    id: "recv-reused",
    env: "node",
    title: "node: bare net.Socket recv_into, reused target",
    ceilingLabel: "bare recv_into loop, best hand-written, reused target",
    rowName: "receive window",
    columnName: "server write",
    ceiling: true,
    description:
      "node:net with onread: { buffer: () => the next window of the target, callback }: the kernel writes the raw byte stream straight into the target (no userland copy); a 64 KiB scratch once the target is full (a zero-length window fails with ENOBUFS). The server (node:net) writes u64 length + views of the array of the given size.",
  },
  {
    id: "recv-fresh",
    env: "node",
    title: "node: bare net.Socket recv_into, fresh target",
    ceilingLabel: "bare recv_into loop, best hand-written, fresh target",
    rowName: "receive window",
    columnName: "server write",
    ceiling: true,
    description: "The same into a new Uint8Array allocated when the length arrives (first-touch page faults included).",
  },
  {
    id: "aw-ws-chunk-node",
    env: "node",
    title: "node: arraywire ws, chunk size (credit max(16 MiB, 2 chunks))",
    rowName: "chunk",
    ceiling: false,
    description: "fetchArray over ws into a reused target, asking for the chunk size and credit window.",
  },
  {
    id: "aw-ws-chunk-browser",
    env: "browser",
    title: "browser: arraywire ws, chunk size and credit",
    rowName: "chunk / credit",
    ceiling: false,
    description: "fetchArray over ws in Chromium, asking for the chunk size and credit window.",
  },
];

function point(method: Method, sweep: Method["sweep"], fixed: boolean, quick: boolean): Method {
  return { ...method, sweep, referenceOnly: !fixed, quick };
}

/** How a BYOB loop's reads land: a window of the target (0 = the whole rest), or a scratch buffer. */
type ByobRead = { window: number; scratch?: undefined } | { scratch: number; window?: undefined };

function byobReadLabel(read: ByobRead): string {
  return read.scratch !== undefined ? `scratch ${bytesLabel(read.scratch)} + copy` : bytesLabel(read.window);
}

function byobReadId(read: ByobRead): string {
  return read.scratch !== undefined ? `s${idPart(read.scratch)}` : `r${idPart(read.window)}`;
}

function byobPoints(verified: boolean): Method[] {
  const reads = verified ? BYOB_VERIFIED_READS : BYOB_READS;
  const writes = verified ? BYOB_VERIFIED_WRITES : BYOB_WRITES;
  return reads.flatMap((read) =>
    writes.map((write) => {
      const fixed = read.window === 0 && write === 64 * KiB;
      const readText = read.scratch !== undefined ? byobReadLabel(read) : `reads ${bytesLabel(read.window)}`;
      const settings = `${readText}, writes ${bytesLabel(write)}${verified ? ", XXH32" : ""}`;
      const pageParams: Record<string, string> = { write: String(write) };
      if (read.scratch !== undefined) pageParams.scratch = String(read.scratch);
      else pageParams.window = String(read.window);
      if (verified) pageParams.hash = "1";
      return point(
        {
          ...pageMethod("browser", "fetch-byob", `fetch + BYOB (${settings})`, ANY, `fetch + BYOB, ${settings}.`),
          id: `browser-byob${verified ? "v" : ""}-${byobReadId(read)}-w${idPart(write)}`,
          pageParams,
        },
        { group: verified ? "byob-verified" : "byob", row: byobReadLabel(read), column: bytesLabel(write) },
        fixed,
        fixed || (read.scratch === MiB && write === 64 * KiB),
      );
    }),
  );
}

function wsLoopPoints(): Method[] {
  return WS_MESSAGES.map((message) => {
    const fixed = message === MiB;
    return point(
      {
        ...pageMethod(
          "browser",
          "ws-loop",
          `bare ws loop (${bytesLabel(message)} messages)`,
          PEER_MAX_ELEMENT_COUNT,
          `Bare ws loop, ${bytesLabel(message)} messages.`,
        ),
        id: `browser-ws-loop-m${idPart(message)}`,
        pageParams: { chunk: String(message) },
      },
      { group: "ws-loop", row: bytesLabel(message) },
      fixed,
      fixed || message === 64 * KiB,
    );
  });
}

function recvPoints(target: "fresh" | "reused"): Method[] {
  return RECV_WINDOWS.flatMap((window) =>
    RECV_WRITES.map((write) => {
      const fixed = window === 16 * MiB && write === 4 * MiB;
      const settings = `window ${bytesLabel(window)}, writes ${bytesLabel(write)}`;
      return point(
        {
          ...nodeMethod(
            `node-recv-${target}-r${idPart(window)}-w${idPart(write)}`,
            "recv-into",
            target,
            `bare recv_into (${settings}), ${target}`,
            ANY,
            `net.Socket recv_into, ${settings}, ${target} target.`,
          ),
          writeByteLength: write,
          windowByteLength: window,
        },
        { group: `recv-${target}`, row: bytesLabel(window), column: bytesLabel(write) },
        fixed,
        fixed || (target === "reused" && window === 0 && write === 64 * KiB),
      );
    }),
  );
}

/** arraywire's own chunk / credit sweep over ws (only with --sweep). */
function awChunkPoints(): Method[] {
  const out: Method[] = [];
  for (const chunk of [256 * KiB, MiB, 4 * MiB, 16 * MiB]) {
    const credit = Math.max(16 * MiB, 2 * chunk);
    const settings = `chunk ${bytesLabel(chunk)}, credit ${bytesLabel(credit)}`;
    out.push(
      point(
        {
          ...nodeMethod(
            `sweep-node-chunk-${chunk / KiB}k`,
            "arraywire-ws",
            "reused",
            `arraywire ws (${settings})`,
            ANY,
            `Node ws, ${settings}.`,
          ),
          chunkByteLength: chunk,
          creditByteLength: credit,
        },
        { group: "aw-ws-chunk-node", row: bytesLabel(chunk) },
        false,
        false,
      ),
      point(
        {
          ...pageMethod("browser", "aw-ws", `arraywire ws (${settings})`, ANY, `Chromium ws, ${settings}.`),
          id: `sweep-browser-chunk-${chunk / KiB}k`,
          pageParams: { chunk: String(chunk), credit: String(credit) },
        },
        { group: "aw-ws-chunk-browser", row: settings },
        false,
        false,
      ),
    );
  }
  for (const credit of [4 * MiB, 64 * MiB]) {
    const settings = `chunk 1 MiB, credit ${bytesLabel(credit)}`;
    out.push(
      point(
        {
          ...pageMethod("browser", "aw-ws", `arraywire ws (${settings})`, ANY, `Chromium ws, ${settings}.`),
          id: `sweep-browser-credit-${credit / MiB}m`,
          pageParams: { chunk: String(MiB), credit: String(credit) },
        },
        { group: "aw-ws-chunk-browser", row: settings },
        false,
        false,
      ),
    );
  }
  return out;
}

/** Every sweep point, in group order. */
export const SWEEP_METHODS: Method[] = [
  ...byobPoints(false),
  ...byobPoints(true),
  ...wsLoopPoints(),
  ...recvPoints("reused"),
  ...recvPoints("fresh"),
  ...awChunkPoints(),
];

/** The group of a sweep id. */
export function sweepGroup(id: string): SweepGroup | undefined {
  return SWEEP_GROUPS.find((g) => g.id === id);
}

/** A group's best point at one size: the cell with the highest median MB/s among those that ran. */
export function bestOfGroup(cells: Cell[], methods: Method[], groupId: string, elementCount: number): Cell | undefined {
  const ids = new Set(methods.filter((m) => m.sweep?.group === groupId).map((m) => m.id));
  let best: Cell | undefined;
  for (const cell of cells) {
    if (!ids.has(cell.methodId) || cell.elementCount !== elementCount || !cell.summary) continue;
    if (!best || cell.summary.mbps.median > (best.summary?.mbps.median ?? 0)) best = cell;
  }
  return best;
}
