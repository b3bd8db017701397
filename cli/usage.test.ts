/**
 * The command line itself, through `main` (in process: no server needed) and one child process:
 * --help on every command (exit 0, on stdout), usage errors (exit 2, the usage line on stderr),
 * unknown commands and options, and the value checks that run before any I/O.
 */
import { describe, expect, it } from "vitest";
import type { CommandContext } from "./command.ts";
import { EXIT_OK, EXIT_USAGE } from "./errors.ts";
import { MAIN_HELP, main } from "./main.ts";
import { runCli } from "./test-helpers.ts";

async function runMain(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const context: CommandContext = {
    output: {
      out: (t) => {
        stdout += t;
      },
      err: (t) => {
        stderr += t;
      },
    },
    progressStream: { write: () => true },
    signal: new AbortController().signal,
    onForcedExit: () => () => {},
  };
  const code = await main(argv, context, () => false);
  return { code, stdout, stderr };
}

const URL_ = "ws://127.0.0.1:9/arraywire";

describe("arraywire usage", () => {
  it.each(["serve", "get", "put", "ls", "stat"])(
    "%s --help prints the command's usage and options on stdout, exit 0",
    async (name) => {
      const run = await runMain([name, "--help"]);
      expect(run.code).toBe(EXIT_OK);
      expect(run.stderr).toBe("");
      expect(run.stdout).toMatch(new RegExp(`^Usage: arraywire ${name} `));
      expect(run.stdout).toContain("-h, --help");
      expect(run.stdout).toContain("Exit codes: 0 done, 1 transfer or file failed");
      const short = await runMain([name, "-h"]);
      expect(short.stdout).toBe(run.stdout);
    },
  );

  it("prints the command list for --help (exit 0) and for no command (exit 2, on stderr)", async () => {
    const help = await runMain(["--help"]);
    expect(help).toEqual({ code: EXIT_OK, stdout: `${MAIN_HELP}\n`, stderr: "" });
    const none = await runMain([]);
    expect(none).toEqual({ code: EXIT_USAGE, stdout: "", stderr: `${MAIN_HELP}\n` });
  });

  it("exits 2 for an unknown command, naming it", async () => {
    const run = await runMain(["fetch", URL_]);
    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stderr).toMatch(/^arraywire: unknown command "fetch"\n/);
  });

  it.each([
    [["get", URL_], /missing <name>: expected 2 arguments, got 1/],
    [["get"], /missing <url> <name>: expected 2 arguments, got 0/],
    [["put", URL_, "x"], /missing <file\.npy>: expected 3 arguments, got 2/],
    [["ls", URL_, "extra"], /too many arguments: expected at most 1, got 2 \(extra\)/],
    [["get", URL_, "x", "--colour"], /Unknown option '--colour'/],
    [["get", URL_, "x", "-o"], /Option '-o, --output <value>' argument missing/],
    [["get", "ftp://host/x", "x"], /<url>: expected ws:, wss:, http: or https:, got "ftp:"/],
    [["get", "not a url", "x"], /<url>: expected a URL such as ws:\/\/127\.0\.0\.1:8080\/arraywire, got "not a url"/],
    [["get", URL_, "x", "--range", "5"], /--range: expected a:b/],
    [["get", URL_, "x", "--transport", "udp"], /--transport: expected auto, ws or http, got "udp"/],
    [["get", URL_, "x", "--params", "[1]"], /--params: expected a JSON object, got "\[1\]"/],
    [["get", URL_, "x", "--window", "lots"], /--window: expected a byte count such as 65536, 512M or 4G, got "lots"/],
    [["get", URL_, "x", "--window", "0"], /--window: expected at least 1 byte, got 0/],
    [["get", URL_, "x", "--retries=-1"], /--retries: expected an integer from 0 to 100, got "-1"/],
    [["get", URL_, "x", "--retries", "1.5"], /--retries: expected an integer from 0 to 100, got "1.5"/],
    [["get", URL_, "x", "-H", "no colon"], /--header: expected "Name: value", got "no colon"/],
    [["serve", "a.npy", "--port", "65536"], /--port: expected an integer from 0 to 65535, got "65536"/],
    [["serve", "a.npy", "b.npy", "--name", "x"], /--name: names one file or Zarr array; give a single path/],
    [["serve", "a.npy", "--max-upload-bytes", "1G"], /--max-upload-bytes: needs --uploads/],
  ])("exits 2 with the usage for %j", async (argv, message) => {
    const run = await runMain(argv as string[]);
    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
    const name = (argv as string[])[0] as string;
    expect(run.stderr).toContain(`Usage: arraywire ${name} `);
    expect(run.stderr).toContain(`Run "arraywire ${name} --help" for details.`);
  });

  it("exits 2 from the real process too, with the usage on stderr and nothing on stdout", async () => {
    const run = await runCli(["get", "ws://127.0.0.1:9/arraywire"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      'arraywire get: missing <name>: expected 2 arguments, got 1\nUsage: arraywire get <url> <name> [-o out.npy] [--range a:b] [options]\nRun "arraywire get --help" for details.\n',
    );
  });
});
