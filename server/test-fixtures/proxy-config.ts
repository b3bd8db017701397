/**
 * The proxy configurations the tests and benches run are the ones docs/DEPLOY.md shows: each
 * fenced block after a `<!-- tested: nginx -->` or `<!-- tested: haproxy -->` line is read from
 * the document, its example addresses (`listen 8080`, `bind :8080`, the upstream servers on
 * 127.0.0.1:9001..9003) are replaced with the test's loopback ports, and nginx's block is wrapped
 * in a main configuration that keeps every file (pid, logs, temp paths) in the test's own
 * directory. A document edit that breaks the configuration breaks the test.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Which proxy a block configures. */
export type ProxyKind = "nginx" | "haproxy";

const DEPLOY_MD = new URL("../../docs/DEPLOY.md", import.meta.url);

/**
 * The fenced block that follows `<!-- tested: <kind> -->` in docs/DEPLOY.md (or in `markdown`).
 * @throws {Error} when there is not exactly one such block.
 */
export function deployBlock(kind: ProxyKind, markdown = readFileSync(DEPLOY_MD, "utf8")): string {
  const pattern = new RegExp(`<!-- tested: ${kind} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\`\\n`, "g");
  const blocks = [...markdown.matchAll(pattern)].map((m) => m[1] as string);
  if (blocks.length !== 1) {
    throw new Error(`Invalid docs/DEPLOY.md: expected one block marked "tested: ${kind}", got ${blocks.length}`);
  }
  return blocks[0] as string;
}

/** Where a configuration points. */
export interface ProxyAddresses {
  /** Port the proxy listens on, on 127.0.0.1. */
  listenPort: number;
  /** Ports of the backends, on 127.0.0.1, in order. */
  backendPorts: number[];
  /**
   * Directives whose value to replace, e.g. `{ proxy_read_timeout: "2s" }` (nginx) or
   * `{ "timeout tunnel": "2s" }` (HAProxy). Each must appear in the block exactly once.
   */
  overrides?: Record<string, string>;
}

/** Replaces the single line matching `pattern` with `replacement`; throws unless exactly one matches. */
function replaceOne(text: string, pattern: RegExp, replacement: string, what: string): string {
  const count = [...text.matchAll(new RegExp(pattern.source, "gm"))].length;
  if (count !== 1) throw new Error(`Invalid proxy block: expected one ${what}, got ${count}`);
  return text.replace(new RegExp(pattern.source, "m"), replacement);
}

/**
 * Replaces the block of server lines that match `pattern` (whose group 1 is the indent, group 2
 * the name prefix, group 3 the rest of the line after the port) with one line per port.
 */
function replaceServers(
  text: string,
  pattern: RegExp,
  line: (indent: string, prefix: string, port: number, index: number, rest: string) => string,
  ports: number[],
): string {
  const lines = text.split("\n");
  const first = lines.findIndex((l) => pattern.test(l));
  if (first < 0 || ports.length === 0) {
    throw new Error(`Invalid proxy block: expected example servers and backend ports, got none`);
  }
  const m = pattern.exec(lines[first] as string) as RegExpExecArray;
  let count = 0;
  while (first + count < lines.length && pattern.test(lines[first + count] as string)) count++;
  const [, indent = "", prefix = "", rest = ""] = m;
  lines.splice(first, count, ...ports.map((port, i) => line(indent, prefix, port, i, rest)));
  return lines.join("\n");
}

function applyOverrides(text: string, overrides: Record<string, string> = {}): string {
  let out = text;
  for (const [directive, value] of Object.entries(overrides)) {
    const escaped = directive.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    out = replaceOne(out, new RegExp(`^(\\s*${escaped})\\s+[^;\\n]+(;?)$`), `$1 ${value}$2`, `"${directive}" line`);
  }
  return out;
}

/**
 * nginx's main configuration around the DEPLOY.md block: one worker, and every file the block
 * would otherwise put under /var (pid, logs, temp paths) in `dir`.
 * @throws {Error} when the block's example addresses are not where this expects them.
 */
export function nginxConfig(block: string, addresses: ProxyAddresses, dir: string): string {
  let site = replaceOne(block, /^(\s*)listen 8080;$/, `$1listen 127.0.0.1:${addresses.listenPort};`, "listen 8080");
  site = replaceServers(
    site,
    /^(\s*)(server) 127\.0\.0\.1:900\d(.*)$/,
    (indent, _prefix, port, _i, rest) => `${indent}server 127.0.0.1:${port}${rest}`,
    addresses.backendPorts,
  );
  site = applyOverrides(site, addresses.overrides);
  const path = (name: string) => join(dir, name);
  return [
    "# Written by server/test-fixtures/proxy-config.ts around the tested block of docs/DEPLOY.md.",
    "worker_processes 1;",
    `pid ${path("nginx.pid")};`,
    `error_log ${path("error.log")} notice;`,
    "events { worker_connections 1024; }",
    "http {",
    `    access_log ${path("access.log")};`,
    `    client_body_temp_path ${path("client_body_temp")};`,
    `    proxy_temp_path ${path("proxy_temp")};`,
    `    fastcgi_temp_path ${path("fastcgi_temp")};`,
    `    uwsgi_temp_path ${path("uwsgi_temp")};`,
    `    scgi_temp_path ${path("scgi_temp")};`,
    "",
    site,
    "}",
    "",
  ].join("\n");
}

/**
 * HAProxy's configuration: the DEPLOY.md block with the test's addresses.
 * @throws {Error} when the block's example addresses are not where this expects them.
 */
export function haproxyConfig(block: string, addresses: ProxyAddresses): string {
  let cfg = replaceOne(block, /^(\s*)bind :8080$/, `$1bind 127.0.0.1:${addresses.listenPort}`, "bind :8080");
  cfg = replaceServers(
    cfg,
    /^(\s*)(server) s\d 127\.0\.0\.1:900\d(.*)$/,
    (indent, _prefix, port, i, rest) => `${indent}server s${i + 1} 127.0.0.1:${port}${rest}`,
    addresses.backendPorts,
  );
  return `${applyOverrides(cfg, addresses.overrides)}\n`;
}
