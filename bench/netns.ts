/**
 * A shaped link on this machine, for the compression test and bench (issue 12): a network
 * namespace holding one end of a veth pair, the other end in the caller's namespace, and `tc`
 * (tbf; this kernel has no netem) rate-limiting the namespace side's egress, i.e. what a server
 * in the namespace sends to a client outside it. Needs root and `ip`/`tc`; {@link netnsProblem}
 * says why not otherwise. Everything made is named after the process id, and
 * {@link ShapedLink.destroy} removes it (deleting the namespace deletes both veth ends).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";

/** Why a shaped link cannot be made here, or null when it can (root, ip netns, tc tbf). */
export function netnsProblem(): string | null {
  if (process.platform !== "linux") return `needs Linux network namespaces, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return "needs root (ip netns add, tc qdisc)";
  for (const [tool, args] of [
    ["ip", ["netns", "list"]],
    ["tc", ["-V"]],
  ] as const) {
    try {
      execFileSync(tool, args, { stdio: "ignore", timeout: 5000 });
    } catch (err) {
      return `${tool} ${args.join(" ")} failed: ${(err as Error).message.split("\n")[0]}`;
    }
  }
  return null;
}

function run(args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
}

/** Burst of the token bucket: 4 ms of the rate plus 64 KiB (enough for TSO segments). */
function burstFor(bitsPerSecond: number): number {
  return Math.round(bitsPerSecond / 8 / 250 + 65536);
}

/** A namespace + veth pair + rate limit (see the module comment). */
export class ShapedLink {
  readonly namespace: string;
  /** The namespace side's address: where a server in the namespace listens. */
  readonly serverAddress: string;
  /** The caller's side's address. */
  readonly clientAddress: string;
  readonly #inside: string;
  readonly #outside: string;
  #destroyed = false;

  private constructor(tag: string) {
    const id = process.pid % 100_000;
    this.namespace = `aw-${tag}-${id}`;
    this.#inside = `aw${id}s`;
    this.#outside = `aw${id}c`;
    const subnet = 10 + (id % 200);
    this.serverAddress = `10.214.${subnet}.1`;
    this.clientAddress = `10.214.${subnet}.2`;
  }

  /**
   * Makes the namespace and the pair, unshaped. On failure removes what it made, then throws.
   * @throws {Error} what `ip` reports.
   */
  static create(tag = "link"): ShapedLink {
    const link = new ShapedLink(tag);
    try {
      run(["netns", "add", link.namespace]);
      run(["link", "add", link.#inside, "type", "veth", "peer", "name", link.#outside]);
      run(["link", "set", link.#inside, "netns", link.namespace]);
      run(["-n", link.namespace, "addr", "add", `${link.serverAddress}/24`, "dev", link.#inside]);
      run(["addr", "add", `${link.clientAddress}/24`, "dev", link.#outside]);
      run(["-n", link.namespace, "link", "set", "lo", "up"]);
      run(["-n", link.namespace, "link", "set", link.#inside, "up"]);
      run(["link", "set", link.#outside, "up"]);
    } catch (err) {
      link.destroy();
      throw err;
    }
    return link;
  }

  /** Limits what the namespace sends to `bitsPerSecond` (tbf), or removes the limit (null). */
  shape(bitsPerSecond: number | null): void {
    const tc = (args: string[], quiet = false) => {
      try {
        execFileSync("ip", ["netns", "exec", this.namespace, "tc", ...args], { stdio: "ignore", timeout: 10_000 });
      } catch (err) {
        if (!quiet) throw err;
      }
    };
    tc(["qdisc", "del", "dev", this.#inside, "root"], true);
    if (bitsPerSecond === null) return;
    tc([
      "qdisc",
      "add",
      "dev",
      this.#inside,
      "root",
      "tbf",
      "rate",
      `${bitsPerSecond}bit`,
      "burst",
      String(burstFor(bitsPerSecond)),
      "latency",
      "50ms",
    ]);
  }

  /** Bytes the namespace side has sent (its veth's TX counter, from /sys). */
  sentByteLength(): number {
    const out = execFileSync(
      "ip",
      ["netns", "exec", this.namespace, "cat", `/sys/class/net/${this.#inside}/statistics/tx_bytes`],
      {
        encoding: "utf8",
        timeout: 5000,
      },
    );
    return Number(out.trim());
  }

  /** Starts `command args` inside the namespace. */
  spawn(command: string, args: string[]): ChildProcess {
    return spawn("ip", ["netns", "exec", this.namespace, command, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  }

  /** Removes the namespace (and so both veth ends) and the outside end if still there. Idempotent; never throws. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const args of [
      ["netns", "del", this.namespace],
      ["link", "del", this.#outside],
    ]) {
      try {
        run(args);
      } catch {
        // Not there (never made, or gone with the namespace).
      }
    }
  }

  /** True while the namespace exists (for the test's cleanup check). */
  exists(): boolean {
    const list = execFileSync("ip", ["netns", "list"], { encoding: "utf8", timeout: 5000 });
    return list.split("\n").some((line) => line.split(" ")[0] === this.namespace);
  }
}
