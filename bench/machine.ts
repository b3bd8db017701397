/**
 * A description of the machine and software versions for the report: CPU model (from
 * /proc/cpuinfo), cores, RAM, OS, Node, Chromium, ws, Playwright and apache-arrow versions.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { chromiumPath } from "./chromium.ts";

/** The installed version, read from the repo's node_modules (some packages do not export package.json). */
function packageVersion(name: string): string {
  try {
    const path = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function cpuModel(): string {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    return /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown";
  } catch {
    return cpus()[0]?.model ?? "unknown";
  }
}

function chromiumVersion(): string {
  try {
    const out = execFileSync(chromiumPath(), ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return /[\d.]+/.exec(out)?.[0] ?? out.trim();
  } catch {
    return "unknown";
  }
}

/** The machine block of latest.json / latest.md. */
export function describeMachine(): Record<string, string | number> {
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    os: `Linux ${release()}`,
    node: process.version,
    chromium: chromiumVersion(),
    ws: packageVersion("ws"),
    playwright: packageVersion("playwright-core"),
    arrow: packageVersion("apache-arrow"),
  };
}
