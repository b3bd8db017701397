/**
 * Hostile peers at the front door: request targets that URL parsing refuses, sent as plain GETs
 * and as upgrades, against a server that owns its http server, one attached to an existing
 * server, and the demo (`npm start`, in a child process); and peers that reset the connection
 * right after an upgrade request. None of them may end the process, and the server keeps serving.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { get } from "node:http";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { fetchArray } from "../client/index.ts";
import { decodeMessage, type ErrorMessage } from "../shared/index.ts";
import { ServerChild } from "./test-helpers.ts";

/** Request targets that `new URL(target, base)` throws on. */
const BAD_TARGETS = ["//[", "http://a:99999/x"];
const UPGRADE_HEADERS =
  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/** Status line of the answer to a raw request, or "none" when none came within `timeoutMs`. */
function rawStatus(port: number, text: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data.length > 0 ? (data.split("\r\n")[0] ?? "") : "none");
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString("latin1");
      if (data.includes("\r\n\r\n")) done();
    });
    socket.on("error", done);
    socket.on("close", done);
  });
}

function plainGet(port: number, target: string): Promise<string> {
  return rawStatus(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
}

function upgrade(port: number, target: string, timeoutMs?: number): Promise<string> {
  return rawStatus(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${UPGRADE_HEADERS}\r\n`, timeoutMs);
}

/** Sends an upgrade request and resets the connection (TCP RST) right after it. */
function upgradeThenReset(port: number, target: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${UPGRADE_HEADERS}\r\n`);
      socket.resetAndDestroy();
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve());
  });
}

async function expectServing(url: string): Promise<void> {
  const result = await fetchArray(url, "arange", { params: { length: 3 }, transport: "http" });
  expect(Array.from(result.array as Float64Array)).toEqual([0, 1, 2]);
}

describe("request targets that do not parse", () => {
  let child: ServerChild | null = null;

  afterEach(async () => {
    await child?.kill();
    child = null;
  });

  it("get 400, as GETs and as upgrades, from a server that owns its http server", async () => {
    child = await ServerChild.start();
    for (const target of BAD_TARGETS) {
      const get = await plainGet(child.port, target);
      const up = await upgrade(child.port, target);
      console.log(`owned server: GET ${target} -> ${get}; upgrade ${target} -> ${up}`);
      expect(get, target).toMatch(/^HTTP\/1\.1 400 /);
      expect(up, target).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect(child.alive).toBe(true);
    await expectServing(child.url);
  });

  it("are left to the host app by a server attached to an existing http server", async () => {
    child = await ServerChild.start({ attached: true });
    for (const target of BAD_TARGETS) {
      const get = await plainGet(child.port, target);
      const up = await upgrade(child.port, target);
      console.log(`attached server: GET ${target} -> ${get}; upgrade ${target} -> ${up}`);
      // The host app's own answers (418) for what is not arraywire's.
      expect(get, target).toMatch(/^HTTP\/1\.1 418 /);
      expect(up, target).toMatch(/^HTTP\/1\.1 418 /);
    }
    expect(child.alive).toBe(true);
    await expectServing(child.url);
  });

  it("do not end the demo (npm start), which keeps serving", async () => {
    const demo = await startDemo();
    try {
      for (const target of BAD_TARGETS) {
        const get = await plainGet(demo.port, target);
        const up = await upgrade(demo.port, target);
        console.log(`demo: GET ${target} -> ${get}; upgrade ${target} -> ${up}`);
        expect(get, target).toMatch(/^HTTP\/1\.1 400 /);
        expect(up, target).toMatch(/^HTTP\/1\.1 400 /);
      }
      expect(demo.child.exitCode).toBeNull();
      const info = await fetch(`http://127.0.0.1:${demo.port}/api/info`);
      expect(info.status).toBe(200);
      await expectServing(`ws://127.0.0.1:${demo.port}/arraywire`);
    } finally {
      demo.child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("peers that reset right after an upgrade request", () => {
  const TRIES = 300;
  let child: ServerChild | null = null;

  afterEach(async () => {
    await child?.kill();
    child = null;
  });

  it.each(["/not-arraywire", "/arraywire"])(
    `cannot end a server that owns its http server (${TRIES} tries on %s)`,
    async (path) => {
      child = await ServerChild.start();
      const t0 = performance.now();
      for (let i = 0; i < TRIES && child.alive; i++) await upgradeThenReset(child.port, path);
      console.log(
        `reset after upgrade on ${path}: ${TRIES} tries in ${(performance.now() - t0).toFixed(0)} ms, server ${child.alive ? "alive" : "DEAD"}`,
      );
      expect(child.alive).toBe(true);
      await expectServing(child.url);
      expect((await child.stats()).stats.connectionCount).toBe(0);
    },
    30_000,
  );
});

describe("a DNS rebinding page (Host and Origin both attacker.example)", () => {
  const REBIND = "rebind.attacker.example";
  let child: ServerChild | null = null;

  afterEach(async () => {
    await child?.kill();
    child = null;
  });

  /** Status line, ERROR code (when the body is one) and body of a GET with a forged Host. */
  function rebindGet(port: number, target: string, host = `${REBIND}:${port}`) {
    return new Promise<{ status: number; code: string | null }>((resolve, reject) => {
      const req = get({ host: "127.0.0.1", port, path: target, headers: { host, origin: `http://${host}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          let code: string | null = null;
          try {
            code = (decodeMessage(body) as ErrorMessage).code;
          } catch {
            code = null;
          }
          resolve({ status: res.statusCode ?? 0, code });
        });
      });
      req.on("error", reject);
    });
  }

  function rebindUpgrade(port: number, host = `${REBIND}:${port}`): Promise<string> {
    return rawStatus(
      port,
      `GET /arraywire HTTP/1.1\r\nHost: ${host}\r\nOrigin: http://${host}\r\n${UPGRADE_HEADERS}\r\n`,
    );
  }

  it("gets 403 E_FORBIDDEN_HOST over HTTP and 403 at the upgrade; localhost names still pass", async () => {
    child = await ServerChild.start();
    const { port } = child;
    const stream = await rebindGet(port, "/arraywire?name=small");
    const probe = await rebindGet(port, "/arraywire?probe=1");
    const up = await rebindUpgrade(port);
    console.log(
      `rebinding Host on the server: GET ${stream.status} ${stream.code}; probe ${probe.status} ${probe.code}; upgrade ${up}`,
    );
    expect(stream).toEqual({ status: 403, code: "E_FORBIDDEN_HOST" });
    expect(probe).toEqual({ status: 403, code: "E_FORBIDDEN_HOST" });
    expect(up).toMatch(/^HTTP\/1\.1 403 /);
    expect(await rebindGet(port, "/arraywire?name=small", `localhost:${port}`)).toMatchObject({ status: 200 });
    expect(await rebindUpgrade(port, `localhost:${port}`)).toMatch(/^HTTP\/1\.1 101 /);
  });

  it("is refused by the demo too (it answered 200 and 101 before)", async () => {
    const demo = await startDemo();
    try {
      const stream = await rebindGet(demo.port, `/arraywire?name=arange&params=${encodeURIComponent('{"length":4}')}`);
      const up = await rebindUpgrade(demo.port);
      console.log(`rebinding Host on the demo: GET ${stream.status} ${stream.code}; upgrade ${up}`);
      expect(stream).toEqual({ status: 403, code: "E_FORBIDDEN_HOST" });
      expect(up).toMatch(/^HTTP\/1\.1 403 /);
    } finally {
      demo.child.kill("SIGKILL");
    }
  }, 60_000);
});

/** The demo in a child process on a free port. */
async function startDemo(): Promise<{ child: ChildProcess; port: number }> {
  const entry = fileURLToPath(new URL("./demo.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", DEMO_HMR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start within 30 s: ${stderr}`)), 30_000);
    let out = "";
    child.stdout?.on("data", (d) => {
      out += String(d);
      const match = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`demo exited (${code}) at startup: ${stderr}`)));
  });
  child.once("exit", (code, signal) => {
    if (signal !== "SIGKILL") console.log(`demo exited early (${code ?? signal}): ${stderr.slice(-2000)}`);
  });
  return { child, port };
}
