/**
 * Runs the link server inside a {@link ShapedLink} and fetches across it with the real Node
 * client: what the shaped-link test and the `--link` bench share.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ArrayClient } from "../client/index.ts";
import type { TypedArray } from "../shared/index.ts";
import type { ShapedLink } from "./netns.ts";

const SERVER_SCRIPT = fileURLToPath(new URL("./link-server.ts", import.meta.url));

/** The link server running in the namespace. */
export interface LinkServer {
  url: string;
  child: ChildProcess;
  /** Closes its stdin (it exits) and waits up to 10 s, then kills it. */
  stop(): Promise<void>;
}

/**
 * Starts bench/link-server.ts in the link's namespace with `names` of `elements` elements.
 * @throws {Error} when it does not print its port within 120 s (generating 10M-element datasets takes a while).
 */
export async function startLinkServer(
  link: ShapedLink,
  elements: number,
  names: readonly string[],
): Promise<LinkServer> {
  const child = link.spawn(process.execPath, [
    "--import",
    "tsx",
    SERVER_SCRIPT,
    link.serverAddress,
    String(elements),
    ...names,
  ]);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    child.stdin?.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("link server did not start within 120 s")), 120_000);
      child.once("exit", (code) => reject(new Error(`link server exited (${code}) at startup`)));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", (line) => {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      });
    });
    return { url: `ws://${link.serverAddress}:${port}/arraywire`, child, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One transfer across the link. */
export interface LinkTransfer {
  array: TypedArray;
  /** Array bytes received. */
  rawByteLength: number;
  /** Bytes the namespace's veth sent during the transfer (TCP/IP and WebSocket framing included). */
  wireByteLength: number;
  ms: number;
  /** Effective MB/s of array bytes (1e6 bytes per MB). */
  mbps: number;
}

/**
 * Fetches `name` across the link (connect included in the time: a real client's cost), with
 * the client's checksum check on (the library default).
 */
export async function fetchAcross(
  link: ShapedLink,
  server: LinkServer,
  name: string,
  compression: "off" | "auto",
): Promise<LinkTransfer> {
  const sentBefore = link.sentByteLength();
  const started = performance.now();
  const client = await ArrayClient.connect(server.url, { compression });
  try {
    const { array } = await client.fetch(name, { idleTimeoutMs: 60_000 });
    const ms = performance.now() - started;
    const wireByteLength = link.sentByteLength() - sentBefore;
    return { array, rawByteLength: array.byteLength, wireByteLength, ms, mbps: array.byteLength / 1e6 / (ms / 1000) };
  } finally {
    client.close();
  }
}
