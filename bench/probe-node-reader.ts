/**
 * Probe: how fast does client/node-socket.ts (recv_into with net.Socket `onread`) receive a big
 * HTTP body, against today's node:http path and a bare onread loop, by window size, pending reads,
 * hashing, server write size and target kind? Not part of `npm run bench`; run it by hand:
 *
 *   flock /tmp/aw-heavy.lock npx tsx bench/probe-node-reader.ts [--repeats 3] [--mb 400] [--quick]
 *     [--writes 64,1024,4096 (KiB per server write)] [--only REGEX (over "<label> | <target>")]
 *
 * One server process (node:http writing views of a Float64Array a[i] = i, `?write=` bytes per
 * write, Content-Length) and one fresh client process per run, so the two sit on separate cores and
 * every fresh target is first touched inside the timed transfer. "reused": the target is allocated
 * and touched (fill(-1)), one untimed transfer runs into it, then the timed one. Runs of every
 * configuration alternate within each repeat; the report gives medians and min-max, MB/s (1e6 B/s),
 * minor page faults and client CPU seconds per GB for the timed transfer. Each run checks its
 * result (every 4,099th element, the last one, and the XXH32 when hashing).
 *
 * Methods:
 * - http: node:http 'data' events, each chunk copied into the target (today's Node HTTP path);
 *   hashing: each chunk right after its copy, while it is in cache;
 * - raw: requestRaw + readInto windows of W bytes, P reads kept pending; hashing: each window
 *   right after it fills; ra=1 sets a 1-byte read-ahead, which pauses the socket at each border;
 * - bare: net.connect with onread handing out the target itself, 16 MiB at a time, with no HTTP
 *   framing checks beyond Content-Length (the floor of what onread costs); hashing: each read;
 * - ws: the `ws` package, one binary message per server write, each copied into the target (the
 *   copy today's ws transport makes; ws itself copies a message that spans socket reads once more);
 * - wsbare: a prototype frame reader over onread (unmasked binary frames only: 2-byte header,
 *   extended length, then the payload straight into the target, 16 MiB windows): what a minimal
 *   frame reader in the client could reach. Hashing: each message / each window.
 * Results: stdout, and bench/results/tmp/probe-node-reader-<time>.{json,md} (git-ignored).
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { get, createServer as httpServer } from "node:http";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { WebSocket, WebSocketServer } from "ws";
import { requestRaw } from "../client/node-socket.ts";
import { Xxh32, xxh32 } from "../shared/index.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

interface RunConfig {
  method: "http" | "raw" | "bare" | "ws" | "wsbare";
  window: number; // bytes; 0 = whole remaining
  pending: number;
  hash: boolean;
  readAhead?: number;
  write: number;
  target: "fresh" | "reused";
}

interface RunResult {
  mbps: number;
  faults: number;
  cpuSecondsPerGB: number;
  ok: boolean;
  copied?: number;
  reads?: number;
}

const role = process.argv[2];
if (role === "serve") serve(Number(process.argv[3]));
else if (role === "run") void runClient(JSON.parse(process.argv[3] ?? "{}"));
else void orchestrate();

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

function serve(byteLength: number): void {
  const array = new Float64Array(byteLength / 8);
  for (let i = 0; i < array.length; i++) array[i] = i;
  const bytes = new Uint8Array(array.buffer);
  const digest = xxh32(bytes);
  const server = httpServer((req, res) => {
    const write = Number(new URL(req.url ?? "/", "http://x").searchParams.get("write")) || 4 * MiB;
    res.writeHead(200, { "content-length": bytes.byteLength, "x-xxh32": String(digest) });
    let offset = 0;
    const pump = () => {
      while (offset < bytes.byteLength) {
        const view = bytes.subarray(offset, offset + write);
        offset += view.byteLength;
        if (!res.write(view)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  // ws: one binary message per `write` bytes, each a view of the array; a text message with the digest first.
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on("connection", (ws, req) => {
    const write = Number(new URL(req.url ?? "/", "http://x").searchParams.get("write")) || 4 * MiB;
    ws.send(String(digest));
    let offset = 0;
    const pump = () => {
      while (offset < bytes.byteLength) {
        const view = bytes.subarray(offset, offset + write);
        offset += view.byteLength;
        ws.send(view, { binary: true });
        if (ws.bufferedAmount > 8 * MiB) return void setImmediate(pump);
      }
    };
    pump();
  });
  server.listen(0, "127.0.0.1", () => console.log(`PORT ${(server.address() as { port: number }).port}`));
}

// ---------------------------------------------------------------------------------------------
// One client run (a fresh process)
// ---------------------------------------------------------------------------------------------

async function runClient(config: RunConfig & { port: number; byteLength: number }): Promise<void> {
  const url = `http://127.0.0.1:${config.port}/?write=${config.write}`;
  let target: Uint8Array | null = null;
  if (config.target === "reused") {
    target = new Uint8Array(new Float64Array(config.byteLength / 8).fill(-1).buffer);
    await transfer(config, url, target);
  }
  const faults0 = process.resourceUsage().minorPageFault;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  target ??= new Uint8Array(config.byteLength);
  const outcome = await transfer(config, url, target);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const faults = process.resourceUsage().minorPageFault - faults0;
  const array = new Float64Array(target.buffer);
  let ok = outcome.digestOk && array[array.length - 1] === array.length - 1;
  for (let i = 0; i < array.length; i += 4099) if (array[i] !== i) ok = false;
  const result: RunResult = {
    mbps: config.byteLength / 1e6 / seconds,
    faults,
    cpuSecondsPerGB: (cpu.user + cpu.system) / 1e6 / (config.byteLength / 1e9),
    ok,
    ...outcome.stats,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}

interface Outcome {
  digestOk: boolean;
  stats?: { copied: number; reads: number };
}

function transfer(config: RunConfig, url: string, target: Uint8Array): Promise<Outcome> {
  if (config.method === "http") return transferHttp(config, url, target);
  if (config.method === "bare") return transferBare(config, url, target);
  if (config.method === "ws") return transferWs(config, url, target);
  if (config.method === "wsbare") return transferWsBare(config, url, target);
  return transferRaw(config, url, target);
}

function transferHttp(config: RunConfig, url: string, target: Uint8Array): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const hash = config.hash ? new Xxh32() : null;
      let offset = 0;
      res.on("data", (chunk: Buffer) => {
        target.set(chunk, offset);
        hash?.update(target.subarray(offset, offset + chunk.byteLength));
        offset += chunk.byteLength;
      });
      res.on("end", () => resolve({ digestOk: !hash || String(hash.digest()) === res.headers["x-xxh32"] }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

async function transferRaw(config: RunConfig, url: string, target: Uint8Array): Promise<Outcome> {
  const { reader, headers } = await requestRaw(url, { readAheadByteLength: config.readAhead });
  const hash = config.hash ? new Xxh32() : null;
  const window = config.window || target.byteLength;
  const inFlight: Promise<Uint8Array>[] = [];
  let requested = 0;
  for (;;) {
    while (inFlight.length < config.pending && requested < target.byteLength) {
      const end = Math.min(target.byteLength, requested + window);
      inFlight.push(reader.readInto(target.subarray(requested, end)));
      requested = end;
    }
    const next = inFlight.shift();
    if (!next) break;
    const filled = await next;
    hash?.update(filled);
  }
  const digestOk = !hash || String(hash.digest()) === headers["x-xxh32"];
  return { digestOk, stats: { copied: reader.stats.copiedByteLength, reads: reader.stats.readCount } };
}

function transferBare(config: RunConfig, url: string, target: Uint8Array): Promise<Outcome> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const head = new Uint8Array(1024);
    const hash = config.hash ? new Xxh32() : null;
    let headText = "";
    let offset = -1; // -1 while the head is read
    let byteLength = 0;
    let reads = 0;
    const socket = connect({
      host: "127.0.0.1",
      port: Number(port),
      onread: {
        buffer: () => (offset < 0 ? head : target.subarray(offset, Math.min(byteLength, offset + 16 * MiB))),
        callback: (n, buffer) => {
          reads++;
          if (offset >= 0) {
            hash?.update(buffer.subarray(0, n));
            offset += n;
          } else {
            headText += Buffer.from(buffer.buffer, buffer.byteOffset, n).toString("latin1");
            const end = headText.indexOf("\r\n\r\n");
            if (end < 0) return true;
            byteLength = Number(/content-length: (\d+)/i.exec(headText)?.[1]);
            const rest = Buffer.from(headText.slice(end + 4), "latin1");
            target.set(rest, 0);
            hash?.update(target.subarray(0, rest.byteLength));
            offset = rest.byteLength;
          }
          if (offset < byteLength) return true;
          socket.destroy();
          const digest = /x-xxh32: (\d+)/i.exec(headText)?.[1];
          resolve({ digestOk: !hash || String(hash.digest()) === digest, stats: { copied: 0, reads } });
          return false;
        },
      },
    });
    socket.on("connect", () => socket.write(`GET /?write=${config.write} HTTP/1.1\r\nHost: x\r\n\r\n`));
    socket.on("error", reject);
  });
}

function transferWs(config: RunConfig, url: string, target: Uint8Array): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace("http:", "ws:"), { perMessageDeflate: false, maxPayload: 256 * MiB });
    const hash = config.hash ? new Xxh32() : null;
    let digest = "";
    let offset = 0;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        digest = data.toString();
        return;
      }
      target.set(data, offset);
      hash?.update(target.subarray(offset, offset + data.byteLength));
      offset += data.byteLength;
      if (offset < target.byteLength) return;
      ws.terminate();
      resolve({ digestOk: !hash || String(hash.digest()) === digest });
    });
    ws.on("error", reject);
  });
}

/**
 * Prototype frame reader: server frames are unmasked; one text frame carries the digest, binary
 * frames the array. The head is read 1 byte at a time (so no frame bytes land with it), each frame
 * header in exact-size reads (2 bytes, then 2 or 8), each binary payload straight into the target.
 */
function transferWsBare(config: RunConfig, url: string, target: Uint8Array): Promise<Outcome> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const small = new Uint8Array(1024);
    const hash = config.hash ? new Xxh32() : null;
    let phase: "head" | "header" | "length" | "text" | "payload" = "head";
    let headText = "";
    let need = 1;
    let have = 0;
    let payloadLeft = 0;
    let opcode = 0;
    let digest = "";
    let offset = 0;
    let reads = 0;
    const startHeader = () => {
      phase = "header";
      need = 2;
      have = 0;
    };
    const onLength = (byteLength: number) => {
      if (opcode === 2) {
        phase = "payload";
        payloadLeft = byteLength;
        if (byteLength === 0) startHeader();
      } else {
        phase = "text";
        need = have + byteLength;
      }
    };
    const socket = connect({
      host: "127.0.0.1",
      port: Number(port),
      onread: {
        buffer: () =>
          phase === "payload"
            ? target.subarray(offset, offset + Math.min(payloadLeft, 16 * MiB))
            : small.subarray(have, need),
        callback: (n, buffer) => {
          reads++;
          if (phase === "head") {
            headText += String.fromCharCode(buffer[0] as number);
            if (headText.endsWith("\r\n\r\n")) startHeader();
            return true;
          }
          if (phase === "payload") {
            hash?.update(buffer.subarray(0, n));
            offset += n;
            payloadLeft -= n;
            if (payloadLeft === 0) startHeader();
          } else {
            have += n;
            if (have < need) return true;
            if (phase === "header") {
              opcode = (small[0] as number) & 0x0f;
              const length7 = (small[1] as number) & 0x7f;
              if (length7 < 126) onLength(length7);
              else {
                phase = "length";
                need = length7 === 126 ? 4 : 10;
              }
            } else if (phase === "length") {
              const view = new DataView(small.buffer);
              onLength(need === 4 ? view.getUint16(2) : Number(view.getBigUint64(2)));
            } else {
              digest = Buffer.from(small.subarray(2, need)).toString(); // a short text frame: 2-byte header
              startHeader();
            }
            if (phase === "text" && have >= need) startHeader(); // an empty text frame
          }
          if (offset < target.byteLength) return true;
          socket.destroy();
          resolve({ digestOk: !hash || String(hash.digest()) === digest, stats: { copied: 0, reads } });
          return false;
        },
      },
    });
    socket.on("connect", () =>
      socket.write(
        `GET /?write=${config.write} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    socket.on("error", reject);
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator
// ---------------------------------------------------------------------------------------------

function plan(quick: boolean, writes: number[]): RunConfig[] {
  const configs: Omit<RunConfig, "target">[] = [];
  const add = (c: Omit<RunConfig, "target">) => configs.push(c);
  for (const write of quick ? [4 * MiB] : writes) {
    const full = write === 4 * MiB;
    for (const hash of [false, true]) {
      add({ method: "http", window: 0, pending: 1, hash, write });
      add({ method: "bare", window: 16 * MiB, pending: 1, hash, write });
      add({ method: "ws", window: 0, pending: 1, hash, write });
      add({ method: "wsbare", window: 16 * MiB, pending: 1, hash, write });
      const windows = full ? [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 16 * MiB, 0] : [256 * KiB, 16 * MiB, 0];
      for (const window of windows) {
        for (const pending of window === 0 ? [1] : full ? [1, 2] : [2])
          add({ method: "raw", window, pending, hash, write });
      }
      if (full) add({ method: "raw", window: 256 * KiB, pending: 1, hash, write, readAhead: 1 });
    }
  }
  return configs.flatMap((c) => [
    { ...c, target: "reused" as const },
    { ...c, target: "fresh" as const },
  ]);
}

function label(c: RunConfig): string {
  const size = (b: number) => (b === 0 ? "whole" : b >= MiB ? `${b / MiB}M` : `${b / KiB}K`);
  const parts: string[] = [c.method];
  if (c.method === "raw") parts.push(`W=${size(c.window)}`, `P=${c.pending}`);
  if (c.readAhead !== undefined) parts.push(`ra=${c.readAhead}`);
  parts.push(c.hash ? "xxh32" : "nohash", `write=${size(c.write)}`);
  return parts.join(" ");
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function runChild(args: string[], onLine: (line: string) => void): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let buffered = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      onLine(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
    }
  });
  return new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
}

async function orchestrate(): Promise<void> {
  const argv = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const quick = argv.includes("--quick");
  const repeats = option("--repeats", quick ? 1 : 3);
  const byteLength = option("--mb", 400) * 1e6;
  let port = 0;
  const server = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), "serve", String(byteLength)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  port = await new Promise<number>((resolve) => {
    server.stdout.on("data", (chunk: Buffer) => {
      const match = /PORT (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
  });
  const writesArg = argv[argv.indexOf("--writes") + 1];
  const writes =
    argv.includes("--writes") && writesArg
      ? writesArg.split(",").map((w) => Number(w) * KiB)
      : [64 * KiB, MiB, 4 * MiB];
  const only = argv.includes("--only") ? new RegExp(argv[argv.indexOf("--only") + 1] ?? "") : null;
  const configs = plan(quick, writes).filter((c) => !only || only.test(`${label(c)} | ${c.target}`));
  const results = new Map<string, RunResult[]>();
  const started = Date.now();
  for (let r = 0; r < repeats; r++) {
    // Alternate: each repeat runs every configuration once, in a rotated order.
    const order = configs.map((_, i) => configs[(i + r * 7) % configs.length] as RunConfig);
    for (const config of order) {
      const key = `${label(config)} | ${config.target}`;
      let result: RunResult | null = null;
      await runChild(["run", JSON.stringify({ ...config, port, byteLength })], (line) => {
        if (line.startsWith("RESULT ")) result = JSON.parse(line.slice(7)) as RunResult;
      });
      const list = results.get(key) ?? [];
      list.push(result ?? { mbps: 0, faults: 0, cpuSecondsPerGB: 0, ok: false });
      results.set(key, list);
      const last = list[list.length - 1] as RunResult;
      console.error(
        `[${r + 1}/${repeats}] ${key}: ${last.mbps.toFixed(0)} MB/s, ${last.faults} faults${last.ok ? "" : " FAILED"}`,
      );
    }
  }
  server.kill();
  const rows = [...results].map(([key, list]) => {
    const mbps = list.map((x) => x.mbps);
    const f = (n: number) => n.toFixed(0);
    return `| ${key} | ${f(median(mbps))} | ${f(Math.min(...mbps))}-${f(Math.max(...mbps))} | ${f(median(list.map((x) => x.faults)))} | ${median(list.map((x) => x.cpuSecondsPerGB)).toFixed(2)} | ${list.every((x) => x.ok) ? "yes" : "NO"} | ${list[0]?.copied ?? ""} |`;
  });
  const markdown = [
    `# probe-node-reader: ${byteLength / 1e6} MB, ${repeats} repeats, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    "",
    "| method | target | MB/s median | min-max | minor faults | client CPU s/GB | verified | copied B |",
    "|---|---|---:|---:|---:|---:|---|---:|",
    ...rows.map((row) => row.replace(/ \| (reused|fresh) \|/, " | $1 |")),
  ].join("\n");
  console.log(markdown);
  const dir = fileURLToPath(new URL("./results/tmp/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  writeFileSync(`${dir}probe-node-reader-${stamp}.md`, `${markdown}\n`);
  writeFileSync(`${dir}probe-node-reader-${stamp}.json`, JSON.stringify(Object.fromEntries(results), null, 1));
}
