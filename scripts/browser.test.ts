/**
 * Which Chromium `npm test` and playwright.config.ts use, and how a fresh machine gets one: every
 * branch of scripts/browser.mjs driven with fake file checks and commands, so nothing is
 * installed or removed (the real /usr/bin/chromium stays where it is).
 */
import { describe, expect, it } from "vitest";
import {
  type ChromiumChoice,
  DEBIAN_CHROMIUM,
  ensureChromium,
  findChromium,
  isDebianLike,
  type RunOptions,
} from "./browser.mjs";

const PLAYWRIGHT = "/home/u/.cache/ms-playwright/chromium-1255/chrome-linux64/chrome";
const DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n';
const UBUNTU = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n';
const MINT = 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n';
const FEDORA = 'NAME="Fedora Linux"\nID=fedora\n';

/** A fake machine: the files present, and what each command does to them. */
function machine(options: {
  files?: string[];
  env?: Record<string, string>;
  playwrightInstalls?: boolean;
  aptInstalls?: boolean;
  aptUpdateFails?: boolean;
}) {
  const files = new Set(options.files ?? []);
  const commands: { line: string; options: RunOptions | undefined }[] = [];
  const log: string[] = [];
  const find = (): ChromiumChoice =>
    findChromium({ env: options.env ?? {}, playwrightPath: PLAYWRIGHT, exists: (path) => files.has(path) });
  const run = (command: string, args: string[], runOptions?: RunOptions): boolean => {
    const line = [command, ...args].join(" ");
    commands.push({ line, options: runOptions });
    if (line === "npx playwright install chromium") {
      if (options.playwrightInstalls) files.add(PLAYWRIGHT);
      return options.playwrightInstalls ?? false;
    }
    if (line === "apt-get update -qq") return !options.aptUpdateFails;
    if (line.startsWith("apt-get install")) {
      if (options.aptInstalls) files.add(DEBIAN_CHROMIUM);
      return options.aptInstalls ?? false;
    }
    throw new Error(`unexpected command ${line}`);
  };
  return { find, run, commands, log, logLine: (line: string) => log.push(line) };
}

function ensure(m: ReturnType<typeof machine>, isRoot: boolean, osRelease: string): ChromiumChoice {
  return ensureChromium({ find: m.find, run: m.run, isRoot, osRelease, log: m.logLine });
}

describe("findChromium", () => {
  it("prefers ARRAYWIRE_CHROMIUM over Debian's and Playwright's browsers", () => {
    const choice = findChromium({
      env: { ARRAYWIRE_CHROMIUM: "/opt/chrome/chrome" },
      playwrightPath: PLAYWRIGHT,
      exists: () => true,
    });
    expect(choice).toEqual({ source: "env", executablePath: "/opt/chrome/chrome" });
  });

  it("reports an ARRAYWIRE_CHROMIUM that does not exist instead of falling back", () => {
    const choice = findChromium({
      env: { ARRAYWIRE_CHROMIUM: "/opt/missing" },
      playwrightPath: PLAYWRIGHT,
      exists: (path) => path !== "/opt/missing",
    });
    expect(choice).toEqual({ source: "none", problem: "ARRAYWIRE_CHROMIUM is /opt/missing, which does not exist" });
  });

  it("takes Debian's /usr/bin/chromium before Playwright's build", () => {
    const choice = findChromium({ env: {}, playwrightPath: PLAYWRIGHT, exists: () => true });
    expect(choice).toEqual({ source: "system", executablePath: DEBIAN_CHROMIUM });
  });

  it("tries the system paths it is given, in order", () => {
    const present = new Set(["/usr/bin/chromium-b"]);
    const choice = findChromium({
      env: {},
      systemPaths: ["/usr/bin/chromium-a", "/usr/bin/chromium-b"],
      exists: (path) => present.has(path),
    });
    expect(choice).toEqual({ source: "system", executablePath: "/usr/bin/chromium-b" });
  });

  it("falls back to Playwright's build only when it is installed", () => {
    expect(findChromium({ env: {}, playwrightPath: PLAYWRIGHT, exists: (p) => p === PLAYWRIGHT })).toEqual({
      source: "playwright",
      executablePath: PLAYWRIGHT,
    });
    expect(findChromium({ env: {}, playwrightPath: PLAYWRIGHT, exists: () => false })).toEqual({
      source: "none",
      problem: "no Chromium found",
    });
    expect(findChromium({ env: {}, playwrightPath: null, exists: () => true }).source).toBe("system");
  });

  it("ignores an empty ARRAYWIRE_CHROMIUM", () => {
    expect(findChromium({ env: { ARRAYWIRE_CHROMIUM: "" }, exists: (p) => p === DEBIAN_CHROMIUM }).source).toBe(
      "system",
    );
  });
});

describe("isDebianLike", () => {
  it.each([
    ["Debian", DEBIAN, true],
    ["Ubuntu", UBUNTU, true],
    ["a derivative naming both in ID_LIKE", MINT, true],
    ["Fedora", FEDORA, false],
    ["no /etc/os-release", "", false],
    ["a name that only contains 'debian'", "ID=notdebian\n", false],
  ])("%s: %s", (_, text, expected) => {
    expect(isDebianLike(text)).toBe(expected);
  });
});

describe("ensureChromium", () => {
  it("installs nothing when a browser is already there", () => {
    const m = machine({ files: [DEBIAN_CHROMIUM] });
    expect(ensure(m, true, DEBIAN)).toEqual({ source: "system", executablePath: DEBIAN_CHROMIUM });
    expect(m.commands).toEqual([]);
    expect(m.log).toEqual([]);
  });

  it("installs nothing when ARRAYWIRE_CHROMIUM names a missing file, and says so", () => {
    const m = machine({ env: { ARRAYWIRE_CHROMIUM: "/opt/missing" } });
    expect(ensure(m, true, DEBIAN)).toMatchObject({ source: "none", problem: /^ARRAYWIRE_CHROMIUM is \/opt\/missing/ });
    expect(m.commands).toEqual([]);
  });

  it("tries Playwright's download first and uses it when it works, even as root on Debian", () => {
    const m = machine({ playwrightInstalls: true });
    expect(ensure(m, true, DEBIAN)).toEqual({ source: "playwright", executablePath: PLAYWRIGHT });
    expect(m.commands.map((c) => c.line)).toEqual(["npx playwright install chromium"]);
    expect(m.commands[0]?.options?.timeoutMs).toBeGreaterThan(0);
  });

  it("installs Debian's chromium with apt-get when Playwright cannot download, as root on Debian", () => {
    const m = machine({ aptInstalls: true });
    expect(ensure(m, true, DEBIAN)).toEqual({ source: "system", executablePath: DEBIAN_CHROMIUM });
    expect(m.commands.map((c) => c.line)).toEqual([
      "npx playwright install chromium",
      "apt-get update -qq",
      "apt-get install -y -qq --no-install-recommends chromium",
    ]);
    for (const { options } of m.commands.slice(1)) {
      expect(options?.env).toEqual({ DEBIAN_FRONTEND: "noninteractive" });
      expect(options?.quiet).toBe(true);
    }
    // One clear line says what is being installed, and how.
    expect(m.log.filter((line) => line.includes("apt-get"))).toEqual([
      "arraywire: Playwright could not install its browser; installing Debian's chromium with apt-get (apt-get update, then apt-get install -y chromium)",
    ]);
  });

  it("uses apt-get on Ubuntu too", () => {
    const m = machine({ aptInstalls: true });
    expect(ensure(m, true, UBUNTU).source).toBe("system");
    expect(m.commands.map((c) => c.line)).toContain("apt-get update -qq");
  });

  it("goes on to apt-get when Playwright says it installed but no browser appeared", () => {
    const m = machine({ aptInstalls: true });
    const lying = (command: string, args: string[], options?: RunOptions): boolean => {
      if (command !== "npx") return m.run(command, args, options);
      m.commands.push({ line: [command, ...args].join(" "), options });
      return true;
    };
    const choice = ensureChromium({ find: m.find, run: lying, isRoot: true, osRelease: DEBIAN, log: m.logLine });
    expect(choice).toEqual({ source: "system", executablePath: DEBIAN_CHROMIUM });
    expect(m.commands.map((c) => c.line)).toContain("apt-get update -qq");
  });

  it("does not run apt-get install when apt-get update fails, and reports one line", () => {
    const m = machine({ aptUpdateFails: true, aptInstalls: true });
    const choice = ensure(m, true, DEBIAN);
    expect(choice).toEqual({
      source: "none",
      problem: "apt-get could not install chromium; install it (apt-get install chromium) or set ARRAYWIRE_CHROMIUM",
    });
    expect(m.commands.map((c) => c.line)).toEqual(["npx playwright install chromium", "apt-get update -qq"]);
  });

  it("reports a browser still missing after apt-get succeeded", () => {
    const m = machine({});
    const run = (command: string, args: string[], options?: RunOptions) =>
      command === "apt-get" ? true : m.run(command, args, options);
    const choice = ensureChromium({ find: m.find, run, isRoot: true, osRelease: DEBIAN, log: m.logLine });
    expect(choice).toMatchObject({ source: "none", problem: /still missing; set ARRAYWIRE_CHROMIUM/ });
  });

  it("never runs apt-get without root, and says what to install", () => {
    const m = machine({ aptInstalls: true });
    const choice = ensure(m, false, DEBIAN);
    expect(m.commands.map((c) => c.line)).toEqual(["npx playwright install chromium"]);
    expect(choice).toEqual({
      source: "none",
      problem:
        "no Chromium for the e2e tests: run `apt-get install chromium` as root (or `npx playwright install chromium` where downloads work), or set ARRAYWIRE_CHROMIUM to a Chromium binary",
    });
    if (choice.source === "none") expect(choice.problem).not.toContain("\n");
  });

  it("never runs apt-get off Debian and Ubuntu, even as root", () => {
    const m = machine({ aptInstalls: true });
    const choice = ensure(m, true, FEDORA);
    expect(m.commands.map((c) => c.line)).toEqual(["npx playwright install chromium"]);
    expect(choice).toMatchObject({
      source: "none",
      problem:
        "no Chromium for the e2e tests: run `npx playwright install chromium` where downloads work, or set ARRAYWIRE_CHROMIUM to a Chromium binary",
    });
  });
});
