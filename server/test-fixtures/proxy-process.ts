/**
 * Runs a real nginx or HAProxy for a test or bench: the configuration of docs/DEPLOY.md
 * (proxy-config.ts) written to a temp directory with the proxy's own pid file, logs and temp
 * paths, started in the foreground on a loopback port through until-stdin-closes.mjs (so it
 * ends with its parent, whatever happens), and stopped with its directory removed.
 * Never the system's /etc/nginx, /etc/haproxy or port 80.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deployBlock, haproxyConfig, nginxConfig, type ProxyAddresses, type ProxyKind } from "./proxy-config.ts";

const guard = fileURLToPath(new URL("./until-stdin-closes.mjs", import.meta.url));

/** Longest a proxy may take to accept connections. */
const START_TIMEOUT_MS = 10_000;

/**
 * The absolute path of `name` on the PATH or in the sbin directories (Debian installs nginx and
 * haproxy in /usr/sbin, which a non-root PATH often lacks), or null.
 */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not here.
    }
  }
  return null;
}

/** The proxy's version line (`nginx version: nginx/1.22.1`), for reports. */
export function proxyVersion(kind: ProxyKind): string {
  const path = findExecutable(kind);
  if (!path) return "not installed";
  const r = spawnSync(path, ["-v"], { encoding: "utf8" });
  return `${r.stdout}${r.stderr}`.split("\n")[0]?.trim() ?? "unknown";
}

/** A free loopback port (bound and released at once: another process could take it meanwhile). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A running proxy. */
export class ProxyProcess {
  readonly kind: ProxyKind;
  readonly port: number;
  /** The temp directory holding its configuration, pid file and logs. */
  readonly dir: string;
  readonly #guard: ChildProcess;
  readonly #exited: Promise<number | null>;

  private constructor(kind: ProxyKind, port: number, dir: string, child: ChildProcess, exited: Promise<number | null>) {
    this.kind = kind;
    this.port = port;
    this.dir = dir;
    this.#guard = child;
    this.#exited = exited;
  }

  /** The arraywire endpoint through the proxy. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}/arraywire`;
  }

  /**
   * Writes the DEPLOY.md configuration for `kind` with `addresses` to a new temp directory and
   * starts the proxy on it; resolves once it accepts connections.
   * @throws {Error} when the proxy is not installed, refuses the configuration or does not listen
   *   within 10 s (with its log); the directory is removed then.
   */
  static async start(kind: ProxyKind, addresses: ProxyAddresses): Promise<ProxyProcess> {
    const executable = findExecutable(kind);
    if (!executable) throw new Error(`${kind} is not installed (apt-get install -y ${kind})`);
    const dir = mkdtempSync(join(tmpdir(), `arraywire-${kind}-`));
    // nginx started as root runs its workers as nobody, which must reach the temp paths in here.
    chmodSync(dir, 0o755);
    const configPath = join(dir, `${kind}.conf`);
    const block = deployBlock(kind);
    let args: string[];
    if (kind === "nginx") {
      writeFileSync(configPath, nginxConfig(block, addresses, dir));
      // -e: the error log before the configuration is read (else /var/log/nginx/error.log).
      args = ["-p", dir, "-c", configPath, "-e", join(dir, "error.log"), "-g", "daemon off;"];
    } else {
      writeFileSync(configPath, haproxyConfig(block, addresses));
      args = ["-f", configPath, "-db"];
    }
    const child = spawn(process.execPath, [guard, executable, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    child.stdin?.on("error", () => {}); // the guard may be gone already when stop() closes its stdin
    let output = "";
    const keep = (data: Buffer) => {
      if (output.length < 16_384) output += data.toString("utf8");
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (!gone && !(await canConnect(addresses.listenPort))) {
      if (performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const proxy = new ProxyProcess(kind, addresses.listenPort, dir, child, exited);
    if (gone || !(await canConnect(addresses.listenPort))) {
      const log = `${output}${proxy.errorLog()}`.trim();
      await proxy.stop();
      throw new Error(`${kind} did not start on 127.0.0.1:${addresses.listenPort}: ${log || "(no output)"}`);
    }
    return proxy;
  }

  /** The proxy's error log (nginx), or "" when there is none. */
  errorLog(): string {
    const path = join(this.dir, "error.log");
    return existsSync(path) ? readFileSync(path, "utf8") : "";
  }

  /** Ends the proxy (closing the guard's stdin), waits for it, and removes its directory. */
  async stop(): Promise<void> {
    this.#guard.stdin?.end();
    const timer = setTimeout(() => this.#guard.kill("SIGKILL"), 6000);
    await this.#exited;
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
