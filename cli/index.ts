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

/** Longest wait, after an interrupted command, for its connections to close cleanly. */
const INTERRUPT_GRACE_MS = 3000;

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
  // Interrupted, a cancelled upload's CANCEL and close frame may still wait behind payload bytes
  // on a slow link: exiting now would lose them (and unread bytes make the kernel reset the
  // connection), so the server would keep the upload for a resume. The process ends by itself once
  // its sockets closed, or after INTERRUPT_GRACE_MS.
  process.exitCode = code;
  process.stdout.write("", () => {
    if (!interrupted) process.exit(code);
    setTimeout(() => process.exit(code), INTERRUPT_GRACE_MS).unref();
  });
}

await runProcess();
