/**
 * What every command is (its command-line spec and its run function) and what it runs with: where
 * its output goes, the signal SIGINT aborts, and a hook for the last cleanup when a second SIGINT
 * forces the process out.
 */
import type { CommandSpec, OptionSpec, Parsed } from "./args.ts";
import type { Output } from "./errors.ts";
import type { ProgressStream } from "./progress.ts";

/** What a command runs with. */
export interface CommandContext {
  readonly output: Output;
  /** Where progress goes (process.stderr: its isTTY picks bar or lines). */
  readonly progressStream: ProgressStream;
  /** Aborted (with an InterruptedError) on the first SIGINT. */
  readonly signal: AbortSignal;
  /** Registers a synchronous cleanup for a forced exit (a second SIGINT); returns its remover. */
  onForcedExit(cleanup: () => void): () => void;
}

/** One command of `arraywire`. */
export interface Command {
  readonly spec: CommandSpec;
  /**
   * Runs the parsed command line and resolves with the exit code.
   * @throws a UsageError (exit 2), an InterruptedError (130) or the failure (1).
   */
  run(parsed: Extract<Parsed, { help: false }>, context: CommandContext): Promise<number>;
}

/** The options of every command that talks to a server. */
export const CLIENT_OPTIONS = {
  header: { type: "string", short: "H", multiple: true },
  quiet: { type: "boolean", short: "q" },
} as const satisfies OptionSpec;

/** Their --help lines. */
export const CLIENT_OPTIONS_HELP = `  -H, --header <"Name: value">  extra HTTP header, e.g. a token (repeatable)
  -q, --quiet                  no progress or summary on stderr
  -h, --help                   show this help`;

/** The exit codes, as every --help ends. */
export const EXIT_CODES_HELP = `Exit codes: 0 done, 1 transfer or file failed (the error code is printed),
2 usage error, 130 interrupted (SIGINT).`;
