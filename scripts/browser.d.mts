// Types of scripts/browser.mjs for its TypeScript importers (playwright.config.ts, browser.test.ts).

/** A browser to launch, or why there is none. "playwright": launch without an executablePath. */
export type ChromiumChoice =
  | { source: "env" | "system" | "playwright"; executablePath: string }
  | { source: "none"; problem: string };

export interface RunOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  quiet?: boolean;
}

export type RunCommand = (command: string, args: string[], options?: RunOptions) => boolean;

export const DEBIAN_CHROMIUM: string;
export function playwrightChromiumPath(): Promise<string | null>;
export function findChromium(options?: {
  env?: Record<string, string | undefined>;
  playwrightPath?: string | null;
  systemPaths?: string[];
  exists?: (path: string) => boolean;
}): ChromiumChoice;
export function isDebianLike(osRelease: string | null | undefined): boolean;
export function readOsRelease(): string;
export const runCommand: RunCommand;
export function ensureChromium(options: {
  find: () => ChromiumChoice;
  run: RunCommand;
  isRoot: boolean;
  osRelease: string;
  log: (line: string) => void;
}): ChromiumChoice;
