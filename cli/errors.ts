/**
 * Exit codes of the `arraywire` command and how a failure is told: one line on stderr,
 * "arraywire <command>: <CODE>: <message>", with the code a script can grep for (a StreamError's
 * wire code such as E_UNKNOWN_NAME, an NpyError's E_NPY_..., a file system errno such as ENOENT).
 *
 * | code | meaning                                                                   |
 * |    0 | done                                                                      |
 * |    1 | the transfer, the server or a file failed (the code is printed)           |
 * |    2 | usage: unknown option, missing or malformed argument (usage is printed)   |
 * |  130 | interrupted (SIGINT): partial output removed, uploads cancelled           |
 */

/** The command finished. */
export const EXIT_OK = 0;
/** The transfer, the server or a local file failed. */
export const EXIT_FAILURE = 1;
/** The command line was wrong. */
export const EXIT_USAGE = 2;
/** SIGINT (128 + 2, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/** A command line the command cannot run: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "E_USAGE";
}

/** The command was interrupted (SIGINT): exit code 130. */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  readonly code = "E_INTERRUPTED";
  constructor() {
    super("interrupted");
  }
}

/** A failure of the command itself (a local check), with a code like the library's. */
export class CommandError extends Error {
  override readonly name = "CommandError";
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The stable code of an error: its `code` when it is a string (StreamError, NpyError, errno),
 * else none. A server's own code (StreamError E_REMOTE) is told as it was sent: "E_REMOTE
 * (E_QUOTA)".
 */
export function errorCode(err: unknown): string | null {
  const { code, remoteCode } = (err ?? {}) as { code?: unknown; remoteCode?: unknown };
  if (typeof code !== "string" || code.length === 0) return null;
  return code === "E_REMOTE" && typeof remoteCode === "string" ? `${code} (${remoteCode})` : code;
}

/** Where a command's messages go: stderr in the real command, a buffer in tests. */
export interface Output {
  /** Data (listings, URLs): stdout. */
  out(text: string): void;
  /** Messages and progress: stderr. */
  err(text: string): void;
}

/**
 * Tells `err` on `output.err` and returns the exit code for it: 2 for a UsageError (and the
 * TypeError / RangeError the library throws, before any I/O, for a value it refuses), 130 once
 * interrupted, 1 for everything else.
 */
export function reportError(
  command: string,
  err: unknown,
  usage: string,
  output: Output,
  interrupted: boolean,
): number {
  const prefix = `arraywire ${command}`;
  if (interrupted || err instanceof InterruptedError) {
    output.err(`${prefix}: interrupted\n`);
    return EXIT_INTERRUPTED;
  }
  if (err instanceof UsageError || err instanceof TypeError || err instanceof RangeError) {
    output.err(`${prefix}: ${(err as Error).message}\n${usage}\nRun "arraywire ${command} --help" for details.\n`);
    return EXIT_USAGE;
  }
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  output.err(`${prefix}: ${code !== null && !message.startsWith(code) ? `${code}: ` : ""}${message}\n`);
  return EXIT_FAILURE;
}
