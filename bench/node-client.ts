/**
 * One measured Node transfer, in its own process (args: NodeClientArgs JSON in argv[2]); prints a
 * RunReport line prefixed with REPORT_PREFIX. A fresh process per run gives a clean RSS baseline
 * and a peak (VmHWM) that belongs to this transfer alone.
 *
 * Target kinds: "fresh" is the first transfer of a new process into memory the method allocates
 * (first-touch page faults happen during the transfer); "reused" is a repeat transfer: the target
 * is allocated and touched (fill(-1)), one untimed transfer runs into it, then the timed one.
 * The report carries the minor page faults of the timed transfer (process.resourceUsage()).
 * "many": `clientCount` concurrent fetchArray calls on one array, into one shared target that is
 * allocated and touched first (every client writes the same bytes to the same places, so the
 * result is still checked element by element; each client's stream is also checked by its own
 * XXH32, the library default): one target per client would need 20 GB at 50 x 400 MB.
 */
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { WebSocket } from "ws";
import { defaultTransport, fetchArray } from "../client/index.ts";
import { arrayName, type NodeClientArgs, REPORT_PREFIX, type RunReport } from "./messages.ts";
import { recvInto } from "./recv-into.ts";

/** VmRSS and VmHWM of this process, in bytes. */
function memoryStatus(): { rss: number; hwm: number } {
  const status = readFileSync("/proc/self/status", "utf8");
  const kB = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kB("VmRSS"), hwm: kB("VmHWM") };
}

/** True when a[i] === i for every element (the server's arrays are 0..n-1). */
function verifyArange(array: Float64Array, elementCount: number): boolean {
  if (array.length !== elementCount) return false;
  for (let i = 0; i < elementCount; i++) if (array[i] !== i) return false;
  return true;
}

/** Raw TCP: send `<n>\n`, read u64 LE byteLength, copy every 'data' chunk into the target. */
function fetchTcp(port: number, elementCount: number, into: Float64Array | undefined): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", noDelay: true });
    let target: Uint8Array | null = into ? new Uint8Array(into.buffer, into.byteOffset, into.byteLength) : null;
    let header = Buffer.alloc(0);
    let byteLength = -1;
    let offset = 0;
    socket.on("connect", () => socket.write(`${elementCount}\n`));
    socket.on("data", (chunk: Buffer) => {
      let data = chunk;
      if (byteLength < 0) {
        header = Buffer.concat([header, chunk]);
        if (header.byteLength < 8) return;
        byteLength = Number(header.readBigUInt64LE(0));
        data = header.subarray(8);
        target ??= new Uint8Array(byteLength);
      }
      (target as Uint8Array).set(data, offset);
      offset += data.byteLength;
      if (offset === byteLength) {
        socket.destroy();
        const bytes = target as Uint8Array;
        resolve(new Float64Array(bytes.buffer, bytes.byteOffset, byteLength / 8));
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`TCP stream ended early: ${offset} of ${byteLength} bytes`)));
  });
}

/** One WebSocket message holding the whole array (maxPayload raised to the 32-bit limit ws allows). */
function fetchWsOne(port: number, elementCount: number, into: Float64Array | undefined): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/wsone?n=${elementCount}`, {
      maxPayload: 2 ** 31 - 1,
      perMessageDeflate: false,
    });
    ws.on("message", (data: Buffer) => {
      ws.close();
      if (into) {
        new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(data);
        resolve(into);
      } else if (data.byteOffset % 8 === 0) {
        resolve(new Float64Array(data.buffer, data.byteOffset, data.byteLength / 8)); // the message is the target
      } else {
        const copy = new Float64Array(data.byteLength / 8);
        new Uint8Array(copy.buffer).set(data);
        resolve(copy);
      }
    });
    ws.on("error", reject);
    ws.on("close", (code) => reject(new Error(`ws closed with ${code} before the message`)));
  });
}

/** JSON numbers over HTTP (undici fetch), parsed and copied into a Float64Array. */
async function fetchJson(port: number, elementCount: number, into: Float64Array | undefined): Promise<Float64Array> {
  const response = await fetch(`http://127.0.0.1:${port}/json?n=${elementCount}`);
  const numbers = (await response.json()) as number[];
  const target = into ?? new Float64Array(numbers.length);
  target.set(numbers);
  return target;
}

/** Bytes of a Float64Array's own window. */
function bytesOf(array: Float64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Runs the transfer(s) of `args` into `targets` (undefined: the method allocates). */
async function transfer(
  args: NodeClientArgs,
  targets: (Float64Array | undefined)[],
  detail: Record<string, number | string>,
): Promise<Float64Array[]> {
  const { elementCount, httpPort } = args;
  const url = `ws://127.0.0.1:${httpPort}/arraywire`;
  const name = args.name ?? arrayName(elementCount);
  const into = targets[0];
  const options = {
    into,
    verify: args.verify,
    chunkByteLength: args.chunkByteLength,
    creditByteLength: args.creditByteLength,
  };
  switch (args.method) {
    case "arraywire":
      detail.transport = defaultTransport();
      return [(await fetchArray(url, name, options)).array as Float64Array];
    case "arraywire-ws":
      return [(await fetchArray(url, name, { transport: "ws", ...options })).array as Float64Array];
    case "arraywire-http":
      return [(await fetchArray(url, name, { transport: "http", ...options })).array as Float64Array];
    case "many":
      return manyClients(url, name, targets, detail);
    case "recv-into": {
      const bytes = await recvInto({
        port: args.tcpPort,
        elementCount,
        writeByteLength: args.writeByteLength ?? 4 * 1024 * 1024,
        windowByteLength: args.windowByteLength ?? 0,
        into: into && bytesOf(into),
      });
      return [new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8)];
    }
    case "tcp":
      return [await fetchTcp(args.tcpPort, elementCount, into)];
    case "ws-one":
      return [await fetchWsOne(httpPort, elementCount, into)];
    case "json":
      return [await fetchJson(httpPort, elementCount, into)];
    case "python":
      throw new Error("python runs in bench/recv_into_client.py, not here");
  }
}

/** The many-clients run: every client at once into the one shared target; per-client times into `detail`. */
async function manyClients(
  url: string,
  name: string,
  targets: (Float64Array | undefined)[],
  detail: Record<string, number | string>,
): Promise<Float64Array[]> {
  const started = performance.now();
  const times: number[] = [];
  const arrays = await Promise.all(
    targets.map(async (into) => {
      const { array } = await fetchArray(url, name, { into });
      times.push(performance.now() - started);
      if (array !== into) throw new Error("many clients: fetchArray did not fill the target it was given");
      return array as Float64Array;
    }),
  );
  times.sort((a, b) => a - b);
  detail.transport = defaultTransport();
  detail.clientMsMin = Math.round(times[0] ?? 0);
  detail.clientMsMedian = Math.round(times[times.length >> 1] ?? 0);
  detail.clientMsMax = Math.round(times[times.length - 1] ?? 0);
  return arrays;
}

async function main(args: NodeClientArgs): Promise<RunReport> {
  const baseline = memoryStatus();
  const { elementCount } = args;
  const many = args.method === "many";
  const clientCount = many ? (args.clientCount ?? 10) : 1;
  const detail: Record<string, number | string> = {};
  const shared = many ? new Float64Array(elementCount).fill(-1) : undefined;
  const targets: (Float64Array | undefined)[] = [];
  for (let c = 0; c < clientCount; c++) {
    targets.push(shared ?? (args.target === "reused" ? new Float64Array(elementCount).fill(-1) : undefined));
  }
  if (args.target === "reused" && !many) {
    // Reused means a repeat transfer: one untimed transfer into the same target first (warm JIT
    // and allocator, touched target), then the target is reset so the check sees only the timed one.
    await transfer(args, targets, {});
    for (const target of targets) target?.fill(-1);
  }
  const faultsBefore = process.resourceUsage().minorPageFault;
  const started = performance.now();
  const results = await transfer(args, targets, detail);
  const ms = performance.now() - started;
  const minorFaults = process.resourceUsage().minorPageFault - faultsBefore;
  const peak = memoryStatus();
  const unique = [...new Set(results)];
  return {
    ok: true,
    run: args.run,
    byteLength: elementCount * 8 * clientCount,
    ms,
    verified: results.length === clientCount && unique.every((array) => verifyArange(array, elementCount)),
    rssBaselineBytes: baseline.rss,
    rssPeakBytes: peak.hwm,
    minorFaults,
    detail,
  };
}
const args = JSON.parse(process.argv[2] ?? "{}") as NodeClientArgs;
try {
  const report = await main(args);
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
  process.exit(0);
} catch (err) {
  const report: RunReport = { ok: false, run: args.run, byteLength: 0, ms: 0, verified: false, error: String(err) };
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
  process.exit(1);
}
