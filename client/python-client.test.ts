/**
 * Runs the pure-Python client written from docs/PROTOCOL.md alone
 * (docs/examples/arraywire_client.py) against a real ArrayServer over both transports, and against
 * scripted fake servers for what a correct server never sends (a bad DATA, a text message, silence)
 * and for typed refusals. Skipped when python3 (3.11+) is not on the PATH.
 */
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { ArrayServer, arange, readToken, typedArraySource } from "../server/index.ts";
import {
  decodeMessage,
  encodeArrayHeader,
  encodeData,
  encodeEnd,
  encodeError,
  HTTP_CONTENT_TYPE,
  type Message,
} from "../shared/index.ts";

const CLIENT = fileURLToPath(new URL("../docs/examples/arraywire_client.py", import.meta.url));
const REFERENCE_LENGTH = 50_000_000;
const SMALL = [1, -2, 3, -4, 5, -6, 32767, -32768, 0, 9, 10, 11];
const TOKEN = "s3cret-token";

function findPython(): string | null {
  const probe = spawnSync("python3", ["-c", "import sys; print(sys.version_info >= (3, 11))"], { encoding: "utf8" });
  return probe.status === 0 && probe.stdout.trim() === "True" ? "python3" : null;
}

const python = findPython();
if (python === null) {
  console.warn("python-client.test.ts: skipped, python3 >= 3.11 is not available on the PATH");
}

interface Run {
  code: number;
  out: Record<string, unknown>;
  stats: Record<string, unknown> | null;
  wallMs: number;
}

/** Runs the client asynchronously: the server lives in this process and must keep serving. */
function runClient(args: string[], interpreter = python ?? "python3"): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(interpreter, [CLIENT, ...args], { timeout: 50_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      const line = stdout.trim().split("\n").pop() ?? "";
      let out: Record<string, unknown>;
      try {
        out = JSON.parse(line) as Record<string, unknown>;
      } catch {
        reject(new Error(`client printed no JSON (exit ${code}): ${stdout}\n${stderr}`));
        return;
      }
      const statsLine = stderr.split("\n").find((l) => l.startsWith('{"stats"'));
      const stats = statsLine ? ((JSON.parse(statsLine) as { stats: Record<string, unknown> }).stats ?? null) : null;
      resolve({ code, out, stats, wallMs: performance.now() - started });
    });
  });
}

/** int16 [4] = [10, -20, 30, -40], the array every fake server below serves on stream 1. */
const FAKE_VALUES = [10, -20, 30, -40];
const FAKE_BYTES = new Uint8Array(new Int16Array(FAKE_VALUES).buffer);
const FAKE_HEADER = encodeArrayHeader({
  streamId: 1,
  dtype: "int16",
  shape: [4],
  totalByteLength: 8,
  rangeByteStart: 0,
  rangeByteEnd: 8,
  firstByteOffset: 0,
  generation: 1,
  checksumAlgorithm: "none",
  name: "fake",
  meta: null,
});
const FAKE_DATA = encodeData(1, 0, 8);
const FAKE_END = encodeEnd({ streamId: 1, byteLength: 8, checksumAlgorithm: "none", checksum: 0 });

/** What a scripted WebSocket server saw from the client. */
interface FakeLog {
  received: Message[];
  closeCode: number | null;
}

/**
 * A WebSocket server that answers the client's first message with `script` (binary messages, or
 * strings sent as text messages), then waits. Records what the client sends and how it closes.
 */
async function fakeWebSocketServer(
  script: (Uint8Array | string)[],
): Promise<{ url: string; log: FakeLog; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const log: FakeLog = { received: [], closeCode: null };
  const closed = new Promise<void>((resolve) => {
    wss.on("connection", (ws: WebSocket) => {
      ws.on("message", (data: Buffer) => {
        log.received.push(decodeMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
        if (log.received.length === 1) for (const message of script) ws.send(message);
      });
      ws.on("close", (code) => {
        log.closeCode = code;
        resolve();
      });
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/arraywire`,
    log,
    close: async () => {
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/**
 * An HTTP server whose every GET answers `status` with an arraywire ERROR body of `code`
 * (streamId 1), and whose every upgrade is refused with the bare `status`: a server that refuses
 * the way PROTOCOL.md section 2.4 says, whatever the reason.
 */
async function refusingServer(
  status: number,
  code: string,
): Promise<{ url: string; probes: string[]; server: Server }> {
  const probes: string[] = [];
  const server = createServer((req, res) => {
    probes.push(req.url ?? "");
    const body = encodeError(1, code, `refused: ${code}`);
    res.writeHead(status, {
      "content-type": HTTP_CONTENT_TYPE,
      "content-length": body.byteLength,
      "cache-control": "no-store",
    });
    res.end(body);
  });
  server.on("upgrade", (_req: IncomingMessage, socket: Duplex) => {
    socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/arraywire`, probes, server };
}

describe.skipIf(python === null)("Python client written from PROTOCOL.md", () => {
  let server: ArrayServer;
  let guarded: ArrayServer;
  let referenceSha256 = "";

  beforeAll(async () => {
    server = new ArrayServer({ port: 0 });
    await server.listen();
    const reference = new Float64Array(REFERENCE_LENGTH);
    for (let i = 0; i < REFERENCE_LENGTH; i++) reference[i] = i;
    referenceSha256 = createHash("sha256")
      .update(new Uint8Array(reference.buffer, reference.byteOffset, reference.byteLength))
      .digest("hex");
    server.publish("reference", reference);
    server.publish("small", new Int16Array(SMALL), { shape: [3, 4] });
    server.publish("arange", arange());
    guarded = new ArrayServer({ port: 0, authenticate: (req) => readToken(req) === TOKEN });
    await guarded.listen();
    guarded.publish("small", new Int16Array(SMALL), { shape: [3, 4] });
  });

  afterAll(async () => {
    await server?.close();
    await guarded?.close();
  });

  it("passes its self-test (doc check values, the §13 worked example, no-checksum and bad-DATA codecs)", async () => {
    const run = await runClient(["--self-test"]);
    expect(run).toMatchObject({ code: 0, out: { selfTest: "ok" } });
  });

  for (const transport of ["http", "ws"] as const) {
    it(`receives the 400 MB reference array over ${transport}, byte-identical`, async () => {
      const run = await runClient([
        server.url,
        "reference",
        "--transport",
        transport,
        "--checksum",
        "none",
        "--sha256",
        "--stats",
      ]);
      expect(run.code).toBe(0);
      expect(run.out).toEqual({
        dtype: "float64",
        shape: [REFERENCE_LENGTH],
        byteLength: REFERENCE_LENGTH * 8,
        sha256: referenceSha256,
        first: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        last: REFERENCE_LENGTH - 1,
      });
      const seconds = Number(run.stats?.bodySeconds);
      console.log(
        `python ${transport}: 400 MB body in ${seconds.toFixed(3)} s = ${((REFERENCE_LENGTH * 8) / 1e6 / seconds).toFixed(0)} MB/s; ` +
          `request to END ${Number(run.stats?.totalSeconds).toFixed(3)} s; process wall ${(run.wallMs / 1000).toFixed(2)} s`,
      );
    });
  }

  // python3-zstandard comes from apt: Debian's own python3 has it when the PATH's (pyenv) has not.
  const zstdPython = ["python3", "/usr/bin/python3"].find(
    (p) => spawnSync(p, ["-c", "import sys, zstandard; assert sys.version_info >= (3, 11)"]).status === 0,
  );
  if (zstdPython === undefined)
    console.warn("python-client.test.ts: --compress case skipped, no python3 with zstandard");
  it.skipIf(zstdPython === undefined)(
    "decodes compressed chunks with --compress (python3-zstandard): a range in the middle, byte-identical, checksum checked",
    async () => {
      // 1 M smooth float64 in 256 KiB chunks: the server sends them shuffled+zstd (DATA_ENCODED).
      const smooth = Float64Array.from({ length: 1_000_000 }, (_, i) => Math.sin(i / 300) * 50 + 7);
      server.publish("smooth", smooth);
      const range: [number, number] = [111_111, 888_889];
      const expected = createHash("sha256")
        .update(new Uint8Array(smooth.buffer, range[0] * 8, (range[1] - range[0]) * 8))
        .digest("hex");
      const args = [server.url, "smooth", "--transport", "ws", "--range", range.join(":"), "--sha256"];
      for (const checksum of ["xxh32", "crc32c"]) {
        const run = await runClient(
          [...args, ...["--compress", "--checksum", checksum, "--chunk-bytes", String(256 * 1024), "--stats"]],
          zstdPython,
        );
        expect(run.code, JSON.stringify(run.out)).toBe(0);
        expect(run.out).toMatchObject({ dtype: "float64", byteLength: (range[1] - range[0]) * 8, sha256: expected });
        expect(Number(run.stats?.encodedChunks)).toBeGreaterThan(10); // ~24 chunks, all compressed
      }
      // Without --compress nothing is offered and the same bytes arrive raw.
      const plain = await runClient([...args, "--stats"], zstdPython);
      expect(plain.out).toMatchObject({ sha256: expected });
      expect(plain.stats?.encodedChunks).toBe(0);
    },
  );

  for (const transport of ["http", "ws"] as const) {
    for (const checksum of ["xxh32", "crc32c", "none"] as const) {
      it(`receives a small int16 2-d array over ${transport} with checksum ${checksum}`, async () => {
        const run = await runClient([server.url, "small", "--transport", transport, "--checksum", checksum]);
        expect(run.code).toBe(0);
        expect(run.out).toEqual({
          dtype: "int16",
          shape: [3, 4],
          byteLength: 24,
          first: SMALL.slice(0, 10),
          last: SMALL[SMALL.length - 1],
        });
      });
    }
  }

  for (const transport of ["http", "ws"] as const) {
    it(`fetches a range of the arange source with params over ${transport}`, async () => {
      const params = JSON.stringify({ length: 100_000, dtype: "int32", start: 5, step: 2, shape: [100, 1000] });
      const run = await runClient([
        server.url,
        "arange",
        "--transport",
        transport,
        "--params",
        params,
        "--range",
        "1000:91000",
        "--checksum",
        "xxh32",
      ]);
      expect(run.code).toBe(0);
      expect(run.out).toEqual({
        dtype: "int32",
        shape: [90_000], // a range: the flattened elements, not the source's [100, 1000]
        byteLength: 360_000,
        first: Array.from({ length: 10 }, (_, i) => 5 + 2 * (1000 + i)),
        last: 5 + 2 * 90_999,
      });
    });
  }

  for (const transport of ["http", "ws"] as const) {
    it(`reports E_UNKNOWN_NAME over ${transport} and exits non-zero`, async () => {
      const run = await runClient([server.url, "no-such-array", "--transport", transport]);
      expect(run.code).not.toBe(0);
      expect(run.out.error).toBe("E_UNKNOWN_NAME");
      expect(typeof run.out.message).toBe("string");
    });
  }

  it("reports E_BAD_RANGE for a WebSocket range whose end is before its start (decoder check R7)", async () => {
    const run = await runClient([server.url, "small", "--transport", "ws", "--range", "5:3"]);
    expect(run).toMatchObject({ code: 1, out: { error: "E_BAD_RANGE" } });
  });

  for (const transport of ["http", "ws"] as const) {
    it(`refuses a negative element range over ${transport} with E_BAD_RANGE before asking`, async () => {
      const run = await runClient([server.url, "small", "--transport", transport, "--range=-1:3"]);
      expect(run).toMatchObject({ code: 1, out: { error: "E_BAD_RANGE" } });
    });
  }

  for (const transport of ["http", "ws"] as const) {
    it(`reports E_BAD_RANGE over ${transport} for a range past the array's end, and for [11, 13)`, async () => {
      for (const range of ["0:13", "11:13"]) {
        const run = await runClient([server.url, "small", "--transport", transport, "--range", range]);
        expect(run, range).toMatchObject({ code: 1, out: { error: "E_BAD_RANGE" } });
      }
      const fits = await runClient([server.url, "small", "--transport", transport, "--range", "11:12"]);
      expect(fits).toMatchObject({ code: 0, out: { shape: [1], last: SMALL[11] } });
    });
  }

  it("reports E_BAD_RANGE over http for a range whose end is before its start", async () => {
    const run = await runClient([server.url, "small", "--transport", "http", "--range", "5:3"]);
    expect(run).toMatchObject({ code: 1, out: { error: "E_BAD_RANGE" } });
  });

  for (const transport of ["http", "ws"] as const) {
    it(`sends its --header on the ${transport} request, which an authenticate hook accepts`, async () => {
      const run = await runClient([
        guarded.url,
        "small",
        "--transport",
        transport,
        "--header",
        `Authorization: Bearer ${TOKEN}`,
      ]);
      expect(run).toMatchObject({ code: 0, out: { dtype: "int16", shape: [3, 4] } });
    });
  }

  for (const transport of ["http", "ws"] as const) {
    it(`reports E_UNAUTHORIZED over ${transport} without the token, from the reference server`, async () => {
      const run = await runClient([guarded.url, "small", "--transport", transport]);
      expect(run).toMatchObject({ code: 1, out: { error: "E_UNAUTHORIZED" } });
    });
  }

  for (const transport of ["http", "ws"] as const) {
    it(`reports E_FORBIDDEN_HOST over ${transport} for a Host the server does not answer to`, async () => {
      const run = await runClient([
        server.url,
        "small",
        "--transport",
        transport,
        "--header",
        "Host: rebind.attacker.example",
      ]);
      expect(run).toMatchObject({ code: 1, out: { error: "E_FORBIDDEN_HOST" } });
    });
  }

  for (const transport of ["http", "ws"] as const) {
    it(`reports E_BUSY over ${transport} when the server's source budget is spent`, async () => {
      const busy = new ArrayServer({ port: 0, maxSourceBytes: 1024 });
      await busy.listen();
      // A source that builds its array in memory reserves it first; over the budget, E_BUSY.
      busy.publish("built", {
        open(_params, context) {
          context.reserve(8_000_000);
          return typedArraySource(new Float64Array(1_000_000));
        },
      });
      try {
        const run = await runClient([busy.url, "built", "--transport", transport]);
        expect(run).toMatchObject({ code: 1, out: { error: "E_BUSY" } });
      } finally {
        await busy.close();
      }
    });
  }

  describe("against scripted servers", () => {
    it("skips the payload of a bad DATA for another stream instead of reading it as a control message", async () => {
      // The payload looks like an ERROR for our stream: a client that read it as a control message
      // would report E_READ_AS_CONTROL instead of the array.
      const decoy = encodeError(1, "E_READ_AS_CONTROL", "a payload was read as a control message");
      const badData = encodeData(2, 0, decoy.byteLength);
      new DataView(badData.buffer).setUint32(20, 0x00200000, true); // byteOffset 2^53: fails D5
      const fake = await fakeWebSocketServer([FAKE_HEADER, badData, decoy, FAKE_DATA, FAKE_BYTES, FAKE_END]);
      try {
        const run = await runClient([fake.url, "fake", "--transport", "ws", "--checksum", "none"]);
        expect(run).toMatchObject({ code: 0, out: { dtype: "int16", shape: [4], first: FAKE_VALUES } });
      } finally {
        await fake.close();
      }
      expect(fake.log.closeCode).toBe(1000);
    });

    it("fails its stream on a bad DATA of its own, skips the payload, cancels and closes with 4002", async () => {
      const badData = encodeData(1, 0, 8);
      badData[6] = 1; // a reserved byte: fails D2
      const decoy = encodeEnd({ streamId: 1, byteLength: 8, checksumAlgorithm: "none", checksum: 0 });
      const fake = await fakeWebSocketServer([FAKE_HEADER, badData, decoy]);
      try {
        const run = await runClient([fake.url, "fake", "--transport", "ws", "--checksum", "none"]);
        expect(run).toMatchObject({ code: 1, out: { error: "E_PROTOCOL" } });
        expect(String(run.out.message)).toMatch(/E_RESERVED/);
      } finally {
        await fake.close();
      }
      expect(fake.log.received.map((m) => m.type)).toEqual(["REQUEST", "CANCEL"]);
      expect(fake.log.closeCode).toBe(4002);
    });

    it("fails on a text message with E_PROTOCOL and closes with 4002, not 1003", async () => {
      const fake = await fakeWebSocketServer([FAKE_HEADER, "not binary"]);
      try {
        const run = await runClient([fake.url, "fake", "--transport", "ws"]);
        expect(run).toMatchObject({ code: 1, out: { error: "E_PROTOCOL" } });
        expect(String(run.out.message)).toMatch(/E_TEXT_FRAME/);
      } finally {
        await fake.close();
      }
      expect(fake.log.closeCode).toBe(4002);
    });

    it("fails with E_TIMEOUT when the server goes silent for --timeout seconds", async () => {
      const fake = await fakeWebSocketServer([FAKE_HEADER]);
      try {
        const run = await runClient([fake.url, "fake", "--transport", "ws", "--checksum", "none", "--timeout", "1"]);
        expect(run).toMatchObject({ code: 1, out: { error: "E_TIMEOUT" } });
        // Generous: one second of silence plus Python's start-up, far below the 50 s kill.
        expect(run.wallMs).toBeLessThan(15_000);
      } finally {
        await fake.close();
      }
    });

    for (const [status, code] of [
      [401, "E_UNAUTHORIZED"],
      [403, "E_FORBIDDEN_HOST"],
      [503, "E_BUSY"],
    ] as const) {
      it(`reports a ${status} ${code} refusal body over http, and learns it over ws with a probe`, async () => {
        const fake = await refusingServer(status, code);
        try {
          const overHttp = await runClient([fake.url, "small", "--transport", "http"]);
          expect(overHttp).toMatchObject({ code: 1, out: { error: code, message: `refused: ${code}` } });
          const overWs = await runClient([fake.url, "small", "--transport", "ws"]);
          expect(overWs).toMatchObject({ code: 1, out: { error: code } });
          // The probe is a GET on the same path without a name.
          expect(fake.probes.at(-1)).toBe("/arraywire");
        } finally {
          await new Promise<void>((resolve) => fake.server.close(() => resolve()));
        }
      });
    }

    it("reports E_HTTP_STATUS when the upgrade is refused but the probe passes (400 E_BAD_REQUEST)", async () => {
      const fake = await refusingServer(400, "E_BAD_REQUEST");
      try {
        const run = await runClient([fake.url, "small", "--transport", "ws"]);
        expect(run).toMatchObject({ code: 1, out: { error: "E_HTTP_STATUS" } });
        expect(String(run.out.message)).toMatch(/400/);
      } finally {
        await new Promise<void>((resolve) => fake.server.close(() => resolve()));
      }
    });
  });
});
