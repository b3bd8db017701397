#!/usr/bin/env node
/**
 * The `arraywire` command (package.json "bin": dist/cli/index.js, plain Node, no tsx): runs
 * cli/main.ts with the process's arguments, stdout and stderr. SIGINT aborts the running command
 * (which removes its partial output and exits 130); a second SIGINT exits at once, after the
 * registered synchronous cleanups (the .part file of a get).
 */
import type { CommandContext } from "./command.ts";
import { InterruptedError, type Output } from "./errors.ts";
import { main } from "./main.ts";

/** The process: real stdout / stderr, SIGINT wired to the context's signal. */
async function runProcess(): Promise<void> {
  const controller = new AbortController();
  const cleanups = new Set<() => void>();
  let interrupted = false;
  process.on("SIGINT", () => {
    if (!interrupted) {
      interrupted = true;
      controller.abort(new InterruptedError());
      return;
    }
    for (const cleanup of cleanups) cleanup();
    process.exit(130);
  });
  const output: Output = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
  const context: CommandContext = {
    output,
    progressStream: process.stderr,
    signal: controller.signal,
    onForcedExit(cleanup) {
      cleanups.add(cleanup);
      return () => cleanups.delete(cleanup);
    },
  };
  const code = await main(process.argv.slice(2), context, () => interrupted);
  // Let stdout drain (a pipe), then exit: sockets or timers a library left must not keep us.
  process.stdout.write("", () => process.exit(code));
}

await runProcess();
