/**
 * A description of the machine and software versions for the report: CPU model (from
 * /proc/cpuinfo), cores, RAM, OS, transparent huge pages mode, Node, Chromium, Python (and numpy),
 * ws, Playwright and apache-arrow versions.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { chromiumPath } from "./chromium.ts";
import { pythonPath } from "./runners.ts";

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

/**
 * The selected mode of /sys/kernel/mm/transparent_hugepage/`file`: "enabled" (always, madvise,
 * never) and "defrag" (whether a fault in a madvised region stalls to compact memory).
 */
function transparentHugePages(file: "enabled" | "defrag"): string {
  try {
    const modes = readFileSync(`/sys/kernel/mm/transparent_hugepage/${file}`, "utf8");
    return /\[(\w+)\]/.exec(modes)?.[1] ?? modes.trim();
  } catch {
    return "unknown";
  }
}

/** "/usr/bin/python3 3.11.2, numpy 1.24.2, xxhash 3.2.0" (or "... absent"), from the interpreter the Python rows use. */
function pythonVersion(): string {
  try {
    const script = [
      "import sys",
      "def version(name):",
      " try:",
      "  m = __import__(name)",
      "  return name + ' ' + str(getattr(m, '__version__', None) or getattr(m, 'VERSION', '?'))",
      " except ImportError:",
      "  return name + ' absent'",
      "print(sys.executable + ' ' + sys.version.split()[0] + ', ' + version('numpy') + ', ' + version('xxhash'))",
    ].join("\n");
    return execFileSync(pythonPath(), ["-c", script], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unavailable";
  }
}

/** The machine block of latest.json / latest.md. */
export function describeMachine(): Record<string, string | number> {
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    os: `Linux ${release()}`,
    transparentHugePages: transparentHugePages("enabled"),
    transparentHugePagesDefrag: transparentHugePages("defrag"),
    node: process.version,
    chromium: chromiumVersion(),
    python: pythonVersion(),
    ws: packageVersion("ws"),
    playwright: packageVersion("playwright-core"),
    arrow: packageVersion("apache-arrow"),
  };
}
