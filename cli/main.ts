/**
 * `arraywire`'s dispatch: the commands by name, the top-level help and version, and the mapping
 * of every failure to its exit code (cli/errors.ts). cli/index.ts runs it in the process.
 */
import { readFileSync } from "node:fs";
import { parseCommandLine } from "./args.ts";
import type { Command, CommandContext } from "./command.ts";
import { EXIT_OK, EXIT_USAGE, reportError } from "./errors.ts";
import { getCommand } from "./get.ts";
import { lsCommand } from "./ls.ts";
import { putCommand } from "./put.ts";
import { serveCommand } from "./serve.ts";
import { statCommand } from "./stat.ts";

/** Every command, by name. */
const COMMANDS: Readonly<Record<string, Command>> = {
  serve: serveCommand,
  get: getCommand,
  put: putCommand,
  ls: lsCommand,
  stat: statCommand,
};

/** `arraywire --help`. */
export const MAIN_HELP = `Usage: arraywire <command> [options]

Stream large numeric arrays between .npy files and arraywire servers.

Commands:
  serve <file.npy | zarr dir | directory>...   serve arrays until Ctrl-C
  get <url> <name> [-o out.npy] [--range a:b]  fetch an array into a .npy file
  put <url> <name> <file.npy>                  upload a .npy file
  ls <url>                                     list what a server publishes
  stat <url> <name>                            describe one array

Run "arraywire <command> --help" for a command's options.
<url> is the server's endpoint, e.g. ws://127.0.0.1:8080/arraywire (http:// works too).

Exit codes: 0 done, 1 transfer or file failed (the error code is printed),
2 usage error, 130 interrupted (SIGINT).`;

/** The package's version: package.json is one level up from cli/, two from dist/cli/. */
function packageVersion(): string {
  for (const path of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "arraywire" && pkg.version) return pkg.version;
    } catch {
      // Not there (the other layout): try the next.
    }
  }
  return "unknown";
}

/**
 * Runs `arraywire` with `argv` (the arguments after the program) and resolves with the exit code.
 * Never throws: every failure is told on `context.output` and mapped to its exit code.
 */
export async function main(
  argv: readonly string[],
  context: CommandContext,
  interrupted: () => boolean,
): Promise<number> {
  const [name, ...rest] = argv;
  const { output } = context;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    (name === undefined ? output.err : output.out)(`${MAIN_HELP}\n`);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === "-v" || name === "--version") {
    output.out(`${packageVersion()}\n`);
    return EXIT_OK;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    output.err(`arraywire: unknown command ${JSON.stringify(name)}\n\n${MAIN_HELP}\n`);
    return EXIT_USAGE;
  }
  try {
    const parsed = parseCommandLine(command.spec, rest);
    if (parsed.help) {
      output.out(`${command.spec.help}\n`);
      return EXIT_OK;
    }
    return await command.run(parsed, context);
  } catch (err) {
    return reportError(
      command.spec.name,
      err,
      command.spec.usage,
      output,
      interrupted() && !(err instanceof Error && err.name === "UsageError"),
    );
  }
}
