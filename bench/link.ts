/**
 * Compression across shaped links (issue 12): for each rate (100 Mbit/s and 1 Gbit/s, tbf on a
 * veth pair into a namespace of its own, bench/netns.ts) and each dataset of bench/link-datasets.ts,
 * the Node client fetches the array from an ArrayServer inside the namespace uncompressed ("off")
 * and with the default ("auto": zstd offered, the server chooses per chunk), and a third mode,
 * "auto" on the unshaped veth, which measures what the codec pipeline itself delivers on this
 * machine (compress + decode, both ends on its 2 cores): the three alternate within each of
 * `rounds` rounds, after one untimed warm-up.
 *
 *   npx tsx bench/link.ts                 # or: npm run bench -- --link
 *   npx tsx bench/link.ts --rounds 5 --rates 100mbit --only smooth
 *
 * Targets (issue 12), per rate and dataset, on medians: auto >= 0.9 x min(off x ratio, unshaped
 * auto) (the link's gain, capped by the codec pipeline), and auto >= 0.95 x off on every dataset
 * (never a loss: random data goes raw). Needs root (skips with the reason otherwise). Writes
 * bench/results/link.json and link.md (--out DIR). Heavy: run under `flock /tmp/aw-heavy.lock`.
 * The namespace is removed on exit, even after an error.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadNativeZstd } from "../server/native-zstd.ts";
import { LINK_DATASETS } from "./link-datasets.ts";
import { fetchAcross, type LinkServer, startLinkServer } from "./link-run.ts";
import { describeMachine } from "./machine.ts";
import { netnsProblem, ShapedLink } from "./netns.ts";

const RATES = { "100mbit": { bps: 100e6, elements: 2_500_000 }, "1gbit": { bps: 1e9, elements: 10_000_000 } } as const;
type Rate = keyof typeof RATES;

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    runs: { type: "string" }, // run.ts's name for rounds
    link: { type: "boolean" }, // passed on by `npm run bench -- --link`
    rates: { type: "string", default: "100mbit,1gbit" },
    only: { type: "string" },
    out: { type: "string" },
  },
});

interface Row {
  rate: Rate;
  dataset: string;
  elements: number;
  rawByteLength: number;
  /** Raw / wire bytes of the auto runs (median). */
  ratio: number;
  off: number[];
  auto: number[];
  unshaped: number[];
  offMedian: number;
  autoMedian: number;
  unshapedMedian: number;
  /** min(off x ratio, unshaped auto): what auto can reach. */
  reachable: number;
  /** autoMedian / reachable; target >= 0.9. */
  vsReachable: number;
  /** autoMedian / offMedian; target >= 0.95. */
  vsOff: number;
  pass: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  const problem = netnsProblem();
  if (problem !== null) {
    console.log(`bench/link.ts: SKIPPED: ${problem}`);
    return;
  }
  const rounds = Math.max(1, Math.min(20, Number(opts.runs ?? opts.rounds)));
  const rates = (opts.rates ?? "").split(",").filter((r): r is Rate => r in RATES);
  const only = opts.only ? new RegExp(opts.only) : null;
  const datasets = LINK_DATASETS.filter((d) => !only || only.test(d));
  const link = ShapedLink.create("bench");
  const cleanup = () => link.destroy();
  process.once("exit", cleanup);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
  const rows: Row[] = [];
  try {
    for (const rate of rates) {
      const { bps, elements } = RATES[rate];
      let server: LinkServer | null = null;
      try {
        server = await startLinkServer(link, elements, datasets);
        for (const dataset of datasets) {
          const row = await measure(link, server, rate, bps, dataset, elements, rounds);
          rows.push(row);
          console.log(
            `${rate.padEnd(7)} ${dataset.padEnd(19)} ratio ${row.ratio.toFixed(3).padStart(7)}  off ${row.offMedian.toFixed(1).padStart(6)}  auto ${row.autoMedian.toFixed(1).padStart(6)}  unshaped auto ${row.unshapedMedian.toFixed(1).padStart(6)} MB/s  auto/reachable ${row.vsReachable.toFixed(2)}  auto/off ${row.vsOff.toFixed(2)}  ${row.pass ? "ok" : "MISS"}`,
          );
        }
      } finally {
        await server?.stop();
      }
    }
  } finally {
    link.destroy();
    process.off("exit", cleanup);
  }
  const outDir = opts.out ?? fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const machine = { ...describeMachine(), serverZstd: await serverZstd() };
  writeFileSync(join(outDir, "link.json"), `${JSON.stringify({ machine, rounds, rows }, null, 2)}\n`);
  writeFileSync(join(outDir, "link.md"), markdown(rows, rounds, machine));
  console.log(`wrote ${join(outDir, "link.md")}`);
}

async function measure(
  link: ShapedLink,
  server: LinkServer,
  rate: Rate,
  bps: number,
  dataset: string,
  elements: number,
  rounds: number,
): Promise<Row> {
  const off: number[] = [];
  const auto: number[] = [];
  const unshaped: number[] = [];
  const ratios: number[] = [];
  let rawByteLength = 0;
  link.shape(bps);
  await fetchAcross(link, server, dataset, "off"); // warm-up: page cache, JIT, both codecs loaded
  await fetchAcross(link, server, dataset, "auto");
  // The three modes alternate within each round (the order rotated by one per round), so the
  // load of this shared machine hits them alike; tc is switched between runs (milliseconds).
  const modes = ["off", "auto", "unshaped"] as const;
  for (let r = 0; r < rounds; r++) {
    for (let m = 0; m < modes.length; m++) {
      const mode = modes[(m + r) % modes.length] as (typeof modes)[number];
      link.shape(mode === "unshaped" ? null : bps);
      const t = await fetchAcross(link, server, dataset, mode === "off" ? "off" : "auto");
      rawByteLength = t.rawByteLength;
      if (mode === "off") off.push(t.mbps);
      else if (mode === "auto") {
        auto.push(t.mbps);
        ratios.push(t.rawByteLength / t.wireByteLength);
      } else unshaped.push(t.mbps);
    }
  }
  link.shape(null);
  const offMedian = median(off);
  const autoMedian = median(auto);
  const unshapedMedian = median(unshaped);
  const ratio = median(ratios);
  const reachable = Math.min(offMedian * ratio, unshapedMedian);
  const vsReachable = autoMedian / reachable;
  const vsOff = autoMedian / offMedian;
  return {
    rate,
    dataset,
    elements,
    rawByteLength,
    ratio,
    off,
    auto,
    unshaped,
    offMedian,
    autoMedian,
    unshapedMedian,
    reachable,
    vsReachable,
    vsOff,
    pass: vsReachable >= 0.9 && vsOff >= 0.95,
  };
}

function markdown(rows: Row[], rounds: number, machine: unknown): string {
  const lines = [
    "# Compression across shaped links (`npm run bench -- --link`)",
    "",
    `Generated by bench/link.ts. Server (ArrayServer, library defaults) in a network namespace, Node client (ArrayClient, verify on) outside, a veth pair between them shaped with tbf on the server's egress. Medians of ${rounds} rounds (off, auto and unshaped auto alternate within each round, rotated) after a warm-up; MB/s of array bytes, connect included. "ratio" = array bytes / bytes the server's veth sent in the auto runs (TCP/IP and WebSocket framing included). "unshaped auto" = auto over the same veth without tc: the codec pipeline's own speed on this shared 2-core machine. Targets: auto >= 0.9 x min(off x ratio, unshaped auto), and auto >= 0.95 x off.`,
    "",
    `Machine: ${JSON.stringify(machine)} (serverZstd: the codec the server compresses with, server/native-zstd.ts)`,
    "",
    "| rate | dataset | MB | ratio | off MB/s | auto MB/s | unshaped auto MB/s | auto / min(off x ratio, unshaped) | auto / off | target |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.rate} | ${r.dataset} | ${(r.rawByteLength / 1e6).toFixed(0)} | ${r.ratio.toFixed(3)} | ${r.offMedian.toFixed(1)} (${Math.min(...r.off).toFixed(1)}-${Math.max(...r.off).toFixed(1)}) | ${r.autoMedian.toFixed(1)} (${Math.min(...r.auto).toFixed(1)}-${Math.max(...r.auto).toFixed(1)}) | ${r.unshapedMedian.toFixed(1)} | ${r.vsReachable.toFixed(2)} | ${r.vsOff.toFixed(2)} | ${r.pass ? "ok" : "**miss**"} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

await main();

/** Which zstd the server (same machine, same environment) compresses with. */
async function serverZstd(): Promise<string> {
  const native = await loadNativeZstd(() => {});
  return native === null ? "WebAssembly, main thread" : "native @mongodb-js/zstd, threadpool";
}
