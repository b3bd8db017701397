/**
 * Starts, kills and restarts backend processes (server/test-fixtures/balanced-server.ts) for the
 * load-balancer test and bench, and reads how many bytes each has written from /proc/<pid>/io
 * (wchar: every write(2)/writev(2), which is how libuv writes sockets), so a test can tell which
 * backend serves a stream, and how much, without asking the server.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BalancedServerConfig, BalancedServerReply } from "./balanced-server.ts";

const script = fileURLToPath(new URL("./balanced-server.ts", import.meta.url));

/** Longest a backend may take to generate its array and listen. */
const START_TIMEOUT_MS = 30_000;

/**
 * Bytes the process has written so far (wchar of /proc/<pid>/io), or null once it is gone.
 * @throws {Error} when /proc/<pid>/io exists but has no wchar line.
 */
export function writtenByteLength(pid: number): number | null {
  let io: string;
  try {
    io = readFileSync(`/proc/${pid}/io`, "utf8");
  } catch {
    return null;
  }
  const match = /^wchar:\s+(\d+)$/m.exec(io);
  if (!match) throw new Error(`Invalid /proc/${pid}/io: expected a wchar line, got ${JSON.stringify(io)}`);
  return Number(match[1]);
}

/** The state letter of /proc/<pid>/stat ("R", "S", "T" for stopped...), or "" once it is gone. */
function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2);
  } catch {
    return "";
  }
}

/** One backend process; {@link restart} brings it back on the same port after a kill. */
export class Backend {
  readonly #config: BalancedServerConfig;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #port = 0;

  private constructor(config: BalancedServerConfig) {
    this.#config = config;
  }

  /**
   * Starts a backend and resolves once it listens.
   * @throws {Error} when it exits or does not listen within 30 s.
   */
  static async start(config: BalancedServerConfig): Promise<Backend> {
    const backend = new Backend(config);
    await backend.#spawn(config.port);
    return backend;
  }

  get port(): number {
    return this.#port;
  }

  /** The live process's pid, or null after a kill. */
  get pid(): number | null {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? (this.#child.pid ?? null) : null;
  }

  /** Bytes the live process has written, or null when it is not running. */
  writtenByteLength(): number | null {
    const pid = this.pid;
    return pid === null ? null : writtenByteLength(pid);
  }

  /**
   * Crashes the backend at once, from a synchronous callback: SIGSTOP, then (once it has stopped,
   * so that no write is still under way) reads how many bytes it wrote in its life, then SIGKILL.
   * Its peers see what a crash looks like: the kernel closes its sockets, no goodbye.
   * Returns those bytes and a promise of the exit.
   * @throws {Error} when it is not running, or does not stop within 2 s.
   */
  crash(): { writtenByteLength: number; exited: Promise<void> } {
    const pid = this.pid;
    if (pid === null) throw new Error("Cannot crash a backend: expected a running process, got none");
    process.kill(pid, "SIGSTOP");
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (let waited = 0; processState(pid) !== "T"; waited++) {
      if (waited > 2000) throw new Error(`backend ${pid} did not stop within 2 s`);
      Atomics.wait(sleeper, 0, 0, 1); // a synchronous 1 ms sleep
    }
    const written = writtenByteLength(pid) as number;
    process.kill(pid, "SIGKILL");
    return { writtenByteLength: written, exited: this.#exited };
  }

  /** Sends `signal` (SIGKILL by default: a crash, no goodbye) and waits for the exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.pid !== null) this.#child?.kill(signal);
    await this.#exited;
  }

  /** Starts the backend again on its port when it is not running. */
  async restart(): Promise<void> {
    if (this.pid === null) await this.#spawn(this.#port);
  }

  /** Ends the process: closes its IPC channel (it closes its server and exits), SIGKILL after 3 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || this.pid === null) return;
    child.disconnect?.();
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await this.#exited;
    clearTimeout(timer);
  }

  async #spawn(port: number): Promise<void> {
    const child = spawn(process.execPath, ["--import", "tsx", script, JSON.stringify({ ...this.#config, port })], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    this.#port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`backend did not listen within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`backend exited (${code ?? signal}) before it listened`));
      });
      child.on("message", (reply: BalancedServerReply) => {
        if (reply.type !== "listening") return;
        clearTimeout(timer);
        resolve(reply.port);
      });
    });
  }
}

/**
 * Starts `count` backends with the same array, one after the other (each generates 8 bytes per
 * element; starting them together would only make them compete for the cores).
 * @throws what {@link Backend.start} throws; the backends already started are stopped first.
 */
export async function startBackends(count: number, config: Omit<BalancedServerConfig, "port">): Promise<Backend[]> {
  const backends: Backend[] = [];
  try {
    for (let i = 0; i < count; i++) backends.push(await Backend.start({ ...config, port: 0 }));
  } catch (err) {
    await Promise.all(backends.map((b) => b.stop()));
    throw err;
  }
  return backends;
}
