/**
 * Reproduction of the HTTP fairness problem the balanced load test showed (one or two of eight
 * Node HTTP clients at 3-6 MB/s for the whole run while the others got 70-120 MB/s; see
 * bench/README.md, "Fairness of eight HTTP clients"). Not part of CI; heavy (about 2 GB moved per
 * round): run it under `flock /tmp/aw-heavy.lock`.
 *
 *   npx tsx bench/fairness-repro.ts                          # arraywire ArrayServer, every reader
 *   npx tsx bench/fairness-repro.ts --server net             # a bare node:net server instead
 *   npx tsx bench/fairness-repro.ts --reader steady --rounds 5
 *   npx tsx bench/fairness-repro.ts --reader onread-64k --scratch-kib 256   # a larger onread buffer
 *   npx tsx bench/fairness-repro.ts --mib 8 --reader steady    # 8 MiB per connection (default 256)
 *
 * Each round: one server, and 8 raw HTTP/1.1 connections in this process, all started at once,
 * each receiving a 256 MB body into its own target (copy + XXH32 per chunk, as the reference
 * client does). Readers:
 * - "steady": copies and hashes in the socket's 'data' handler, never pauses the socket;
 * - "queued": what the client's node:http reader (nodeStreamReader, before client/http-node.ts) did: 'data' chunks go to a queue,
 *   the socket is paused above 4 MiB queued and resumed when the consumer (async reads of
 *   256 KiB windows, copied and hashed) brings it back under;
 * - "onread": `net.connect({ onread })` with the target as the read buffer (up to 4 MiB per
 *   read), hashed per read: the recv_into reader (client/node-socket-reader.ts);
 * - "onread-64k": `onread` with one 64 KiB buffer, copied into the target after each read (what
 *   a reader's small read-ahead scratch does while no window is pending).
 * "steady" and "queued" receive through Node's default 64 KiB read buffer.
 * Per connection it prints MB/s and, sampled from `ss -tin` when the first connection finished,
 * rcv_ssthresh (the most the receiver lets its window grow to) and rcv_space.
 *
 * On this machine (Linux 6.18, loopback, BBR) a few connections per round keep rcv_ssthresh at
 * the first value the 128 KiB initial receive buffer allows (about 95 kB) for their whole life,
 * while the others' receive autotuning grows theirs to 1-4 MB; their rate is that window per turn
 * of the busy event loop. See bench/README.md for the figures and what the client can do.
 */
import { spawnSync } from "node:child_process";
import { connect, createServer, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { ArrayServer } from "../server/index.ts";
import { Xxh32 } from "../shared/index.ts";

const MB = 1e6;
const CONNECTIONS = 8;
const QUEUE_BYTES = 4 * 1024 * 1024;
const WINDOW_BYTES = 256 * 1024;

type Reader = "steady" | "queued" | "onread" | "onread-64k";

/** rcv_ssthresh and rcv_space of every established client socket to `port`, by local port. */
function kernelState(port: number): Map<number, string> {
  const out = spawnSync("ss", ["-tinH", "state", "established", `( dport = :${port} )`], { encoding: "utf8" });
  const lines = out.stdout.split("\n");
  const states = new Map<number, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const local = Number((lines[i] ?? "").trim().split(/\s+/)[2]?.split(":").pop());
    const info = lines[i + 1] ?? "";
    const field = (key: string) => new RegExp(`(?:^|\\s)${key}:(\\S+)`).exec(info)?.[1] ?? "?";
    states.set(local, `rcv_ssthresh ${field("rcv_ssthresh").padStart(7)}, rcv_space ${field("rcv_space")}`);
  }
  return states;
}

async function startServer(
  kind: "arraywire" | "net",
): Promise<{ port: number; path: string; close: () => Promise<void> }> {
  const data = new Uint8Array(BYTES);
  if (kind === "arraywire") {
    const server = new ArrayServer({ port: 0, log: () => {}, maxConnectionsPerIp: 64 });
    server.publish("r", data, { version: "repro" });
    const { port } = await server.listen();
    return { port, path: "/arraywire?name=r", close: () => server.close() };
  }
  // A bare server: the request is ignored, the body is 1 MiB views written with drain backpressure.
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", async () => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BYTES}\r\n\r\n`);
      for (let offset = 0; offset < BYTES && !socket.destroyed; offset += 1 << 20) {
        if (!socket.write(data.subarray(offset, offset + (1 << 20)))) {
          await new Promise((r) => socket.once("drain", r));
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { port, path: "/", close: () => new Promise((r) => server.close(() => r())) };
}

/** One connection: resolves with its MB/s once the whole body (head included) arrived. */
function receive(port: number, path: string, reader: Reader, onLocalPort: (p: number) => void): Promise<number> {
  const target = new Uint8Array(BYTES + 4096);
  const hash = new Xxh32();
  return new Promise((resolve, reject) => {
    let written = 0;
    let socket: Socket | null = null;
    const startedAt = performance.now();
    const finish = () => {
      socket?.destroy();
      resolve(written / MB / ((performance.now() - startedAt) / 1000));
    };
    // "onread": the kernel copies straight into the target, each read offered up to 4 MiB of it
    // (what client/node-socket-reader.ts, the recv_into reader, does).
    // "onread-64k": the same, but every read lands in one 64 KiB scratch and is copied from there.
    const scratch = new Uint8Array(scratchKiB * 1024);
    const onread =
      reader === "onread"
        ? {
            buffer: () => target.subarray(written, Math.min(target.byteLength, written + 4 * 1024 * 1024)),
            callback: (n: number) => {
              hash.update(target.subarray(written, written + n));
              written += n;
              if (written >= BYTES) finish();
              return true;
            },
          }
        : reader === "onread-64k"
          ? {
              buffer: scratch,
              callback: (n: number) => {
                take(scratch.subarray(0, n));
                if (written >= BYTES) finish();
                return true;
              },
            }
          : undefined;
    const s = connect({ port, host: "127.0.0.1", onread });
    socket = s;
    const take = (chunk: Uint8Array) => {
      const n = Math.min(chunk.byteLength, target.byteLength - written);
      target.set(chunk.subarray(0, n), written);
      hash.update(target.subarray(written, written + n));
      written += n;
    };
    s.on("connect", () => {
      onLocalPort(s.localPort as number);
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    s.on("error", reject);
    if (reader === "onread" || reader === "onread-64k") return;
    if (reader === "steady") {
      s.on("data", (chunk: Buffer) => {
        take(chunk);
        if (written >= BYTES) finish();
      });
      return;
    }
    // "queued": the nodeStreamReader pattern, with its consumer.
    const queue: Uint8Array[] = [];
    let queued = 0;
    let wake: (() => void) | null = null;
    s.on("data", (chunk: Buffer) => {
      queue.push(chunk);
      queued += chunk.byteLength;
      if (queued > QUEUE_BYTES) s.pause();
      wake?.();
    });
    void (async () => {
      while (written < BYTES) {
        while (queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = null;
        let n = 0;
        while (queue.length > 0 && n < WINDOW_BYTES) {
          const chunk = queue[0] as Uint8Array;
          const part = Math.min(chunk.byteLength, WINDOW_BYTES - n);
          take(chunk.subarray(0, part));
          n += part;
          if (part === chunk.byteLength) queue.shift();
          else queue[0] = chunk.subarray(part);
          queued -= part;
        }
        if (queued <= QUEUE_BYTES && s.isPaused()) s.resume();
        await Promise.resolve(); // an async read per window, as the reference client's loop
      }
      finish();
    })();
  });
}

const { values } = parseArgs({
  options: {
    server: { type: "string", default: "arraywire" },
    reader: { type: "string", default: "all" },
    rounds: { type: "string", default: "3" },
    "scratch-kib": { type: "string", default: "64" },
    mib: { type: "string", default: "256" },
  },
});
const kind = values.server === "net" ? "net" : "arraywire";
const readers: Reader[] =
  values.reader === "all" ? ["steady", "queued", "onread", "onread-64k"] : [values.reader as Reader];
const rounds = Math.max(1, Math.min(10, Number(values.rounds) || 3));
/** Body size per connection, MiB (1..1024). */
const BYTES = Math.max(1, Math.min(1024, Number(values.mib) || 256)) * 1024 * 1024;
/** Size of the "onread-64k" reader's buffer (the name says its default). */
const scratchKiB = Math.max(4, Math.min(65_536, Number(values["scratch-kib"]) || 64));
const server = await startServer(kind);
try {
  console.log(`server: ${kind}; ${CONNECTIONS} connections at once, ${BYTES / MB} MB each, copy + XXH32 per chunk`);
  for (const reader of readers) {
    for (let round = 0; round < rounds; round++) {
      const ports: number[] = [];
      let states = new Map<number, string>();
      const rates = await Promise.all(
        Array.from({ length: CONNECTIONS }, (_, i) =>
          receive(server.port, server.path, reader, (p) => {
            ports[i] = p;
          }).then((rate) => {
            if (states.size === 0) states = kernelState(server.port); // once, while the others still run
            return rate;
          }),
        ),
      );
      const sorted = [...rates].sort((a, b) => a - b);
      console.log(
        `${reader} round ${round + 1}: MB/s min ${sorted[0]?.toFixed(1)}, median ${sorted[CONNECTIONS >> 1]?.toFixed(1)}, max ${sorted.at(-1)?.toFixed(1)}`,
      );
      rates.forEach((rate, i) => {
        const state = states.get(ports[i] as number) ?? "finished first";
        console.log(`  connection ${i}: ${rate.toFixed(1).padStart(6)} MB/s; ${state}`);
      });
    }
  }
} finally {
  await server.close();
}
