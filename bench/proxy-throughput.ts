/**
 * Throughput through a real proxy against a direct connection, in the same run: one backend
 * process (server/test-fixtures/balanced-server.ts) publishing a Float64Array a[i] = i, and in
 * front of it nginx and HAProxy with docs/DEPLOY.md's configurations (plus nginx variants that show
 * why the document sets what it sets). The client is this process: fetchArray into one reused,
 * pre-touched target, verify on (XXH32), for each transport.
 *
 *   npx tsx bench/proxy-throughput.ts                       # 400 MB, 5 rounds, ws and http
 *   npx tsx bench/proxy-throughput.ts --mb 100 --rounds 3 --transports http
 *
 * Flags: --mb (1..2000, default 400), --rounds (1..20, default 5), --transports ws,http,
 * --out DIR (default bench/results: proxy.json and proxy.md). Each round runs every route once per
 * transport, the order rotated by one per round, so machine drift hits all routes alike; the
 * medians are reported with min-max. One untimed transfer per route and transport warms up first.
 * Proxies that are not installed are left out with a line that says so. Heavy: run it under
 * `flock /tmp/aw-heavy.lock`. Every process and temp directory it starts is ended on exit.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fetchArray } from "../client/index.ts";
import { Backend } from "../server/test-fixtures/backends.ts";
import type { ProxyKind } from "../server/test-fixtures/proxy-config.ts";
import { findExecutable, freePort, ProxyProcess, proxyVersion } from "../server/test-fixtures/proxy-process.ts";
import { describeMachine } from "./machine.ts";

const NAME = "proxy-bench";
const MB = 1e6;

interface Route {
  id: string;
  label: string;
  url: string;
}

interface Sample {
  route: string;
  transport: "ws" | "http";
  round: number;
  ms: number;
  mbPerSecond: number;
}

/** The proxies and variants measured; `overrides` are applied to DEPLOY.md's block. */
const VARIANTS: { id: string; kind: ProxyKind; label: string; overrides?: Record<string, string> }[] = [
  { id: "nginx", kind: "nginx", label: "nginx, DEPLOY.md config (proxy_buffer_size 64k)" },
  {
    id: "nginx-4k",
    kind: "nginx",
    label: "nginx, proxy_buffer_size 4k (nginx's default)",
    overrides: { proxy_buffer_size: "4k", proxy_buffers: "8 4k" },
  },
  {
    id: "nginx-buffering",
    kind: "nginx",
    label: "nginx, proxy_buffering on (nginx's default)",
    overrides: { proxy_buffering: "on" },
  },
  { id: "haproxy", kind: "haproxy", label: "HAProxy, DEPLOY.md config" },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function parseConfig() {
  const { values } = parseArgs({
    options: {
      mb: { type: "string", default: "400" },
      rounds: { type: "string", default: "5" },
      transports: { type: "string", default: "ws,http" },
      out: { type: "string", default: fileURLToPath(new URL("./results", import.meta.url)) },
    },
  });
  const mb = Number(values.mb);
  const rounds = Number(values.rounds);
  const transports = values.transports.split(",");
  if (!(mb >= 1 && mb <= 2000)) throw new RangeError(`Invalid --mb: expected 1..2000, got ${values.mb}`);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
    throw new RangeError(`Invalid --rounds: expected an integer in 1..20, got ${values.rounds}`);
  }
  if (transports.length === 0 || transports.some((t) => t !== "ws" && t !== "http")) {
    throw new RangeError(`Invalid --transports: expected ws and/or http, got ${values.transports}`);
  }
  return {
    elementCount: Math.round((mb * MB) / 8),
    rounds,
    transports: transports as ("ws" | "http")[],
    out: values.out,
  };
}

async function timeOne(url: string, transport: "ws" | "http", into: Float64Array): Promise<number> {
  into[into.length >> 1] = -1;
  const start = performance.now();
  const { array } = await fetchArray(url, NAME, { transport, into, verify: true });
  const ms = performance.now() - start;
  const mid = into.length >> 1;
  if (array[mid] !== mid) throw new Error(`Invalid transfer: expected a[${mid}] = ${mid}, got ${array[mid]}`);
  return ms;
}

function report(config: ReturnType<typeof parseConfig>, routes: Route[], samples: Sample[], notes: string[]) {
  const byteLength = config.elementCount * 8;
  const rows: string[] = [];
  const summary: Record<string, unknown>[] = [];
  for (const transport of config.transports) {
    const direct = median(
      samples.filter((s) => s.route === "direct" && s.transport === transport).map((s) => s.mbPerSecond),
    );
    for (const route of routes) {
      const rates = samples.filter((s) => s.route === route.id && s.transport === transport).map((s) => s.mbPerSecond);
      if (rates.length === 0) continue;
      const m = median(rates);
      const ratio = m / direct;
      summary.push({
        route: route.id,
        transport,
        medianMBps: m,
        minMBps: Math.min(...rates),
        maxMBps: Math.max(...rates),
        ratioToDirect: ratio,
      });
      rows.push(
        `| ${transport} | ${route.label} | ${m.toFixed(0)} | ${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)} | ${ratio.toFixed(2)} |`,
      );
    }
  }
  const machine = describeMachine();
  const date = new Date().toISOString();
  const md = [
    "# arraywire through a proxy vs direct",
    "",
    `${date}. ${byteLength / MB} MB Float64Array, fetchArray into a reused target, verify on (XXH32), ${config.rounds} rounds alternated (order rotated per round); median MB/s (1e6 bytes/s) with min-max. One backend process, the proxy and the client on one machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, ${machine.os}, Node ${machine.node}; ${proxyVersion("nginx")}; ${proxyVersion("haproxy")}.`,
    "",
    "**Caveat**: a shared, noisy 2-core machine (other jobs ran at the same time; load average " +
      `${notes.join(", ")}). Through a proxy three busy processes share 2 cores, where a direct transfer has two; ` +
      "on loopback the proxy's copy costs CPU, not bandwidth. Compare rows of this run with each other, not with other runs.",
    "",
    "| transport | route | median MB/s | min-max | ratio to direct |",
    "|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
  mkdirSync(config.out, { recursive: true });
  writeFileSync(join(config.out, "proxy.md"), md);
  writeFileSync(
    join(config.out, "proxy.json"),
    `${JSON.stringify({ date, machine, nginx: proxyVersion("nginx"), haproxy: proxyVersion("haproxy"), config, summary, samples }, null, 2)}\n`,
  );
  console.log(`\n${md}`);
  console.log(`wrote ${join(config.out, "proxy.md")} and proxy.json`);
}

async function main(): Promise<void> {
  const config = parseConfig();
  const notes = [`${loadavg()[0]?.toFixed(2)} at the start`];
  const backend = await Backend.start({
    port: 0,
    name: NAME,
    elementCount: config.elementCount,
    heartbeatIntervalMs: 30_000,
    maxConnectionsPerIp: 32,
  });
  const proxies: ProxyProcess[] = [];
  const stopAll = async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await backend.stop();
  };
  process.once("SIGINT", () => void stopAll().finally(() => process.exit(130)));
  try {
    const routes: Route[] = [{ id: "direct", label: "direct", url: `ws://127.0.0.1:${backend.port}/arraywire` }];
    for (const variant of VARIANTS) {
      if (!findExecutable(variant.kind)) {
        console.log(
          `proxy-throughput: ${variant.kind} is not installed (apt-get install -y ${variant.kind}); left out`,
        );
        continue;
      }
      const proxy = await ProxyProcess.start(variant.kind, {
        listenPort: await freePort(),
        backendPorts: [backend.port],
        overrides: variant.overrides,
      });
      proxies.push(proxy);
      routes.push({ id: variant.id, label: variant.label, url: proxy.url });
    }
    const into = new Float64Array(config.elementCount).fill(-1); // allocated and touched once
    for (const transport of config.transports) for (const route of routes) await timeOne(route.url, transport, into);
    const samples: Sample[] = [];
    for (let round = 0; round < config.rounds; round++) {
      for (const transport of config.transports) {
        for (let k = 0; k < routes.length; k++) {
          const route = routes[(k + round) % routes.length] as Route;
          const ms = await timeOne(route.url, transport, into);
          const mbPerSecond = (config.elementCount * 8) / MB / (ms / 1000);
          samples.push({ route: route.id, transport, round, ms, mbPerSecond });
          console.log(`round ${round + 1} ${transport} ${route.id}: ${mbPerSecond.toFixed(0)} MB/s`);
        }
      }
    }
    notes.push(`${loadavg()[0]?.toFixed(2)} at the end`);
    report(config, routes, samples, notes);
  } finally {
    await stopAll();
  }
}

await main();
