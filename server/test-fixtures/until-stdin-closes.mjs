#!/usr/bin/env node
// Runs `argv[2..]` in its own process group until this process's stdin closes, then ends that
// group: SIGTERM (nginx's and HAProxy's fast shutdown), SIGKILL after 3 s. The parent holds the
// other end of stdin, so the proxy goes away with the parent even when the parent is killed
// (a Ctrl+C'd or crashed test run cannot leave nginx listening). Exits with the child's code.
import { spawn } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: until-stdin-closes.mjs <command> [args...]");
  process.exit(2);
}
const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"], detached: true });

function signalGroup(signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  signalGroup("SIGTERM");
  setTimeout(() => signalGroup("SIGKILL"), 3000).unref();
}

process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.on("error", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
child.on("error", (err) => {
  console.error(`until-stdin-closes: ${command}: ${err.message}`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  signalGroup("SIGKILL"); // workers the master left behind, if any
  process.exit(code ?? (signal ? 128 : 1));
});
