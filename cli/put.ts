/**
 * `arraywire put <url> <name> <file.npy>`: uploads an .npy file under `name` to a server that
 * takes uploads (`arraywire serve --uploads`), read from disk piece by piece as the upload goes
 * (cli/npy-input.ts), verified by the server's checksum before it takes it. SIGINT cancels the
 * upload: the server keeps nothing.
 */
import { uploadArray } from "../client/index.ts";
import type { JsonObject } from "../shared/index.ts";
import { type CommandSpec, headerValues, integerValue, jsonObjectValue, stringOption, urlValue } from "./args.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, type Command, EXIT_CODES_HELP } from "./command.ts";
import { CommandError, EXIT_OK, errorCode } from "./errors.ts";
import { openNpyInput } from "./npy-input.ts";
import { createProgress, progressMode } from "./progress.ts";

const spec: CommandSpec = {
  name: "put",
  usage: "Usage: arraywire put <url> <name> <file.npy> [options]",
  positionals: ["url", "name", "file.npy"],
  options: {
    ...CLIENT_OPTIONS,
    meta: { type: "string" },
    params: { type: "string" },
    retries: { type: "string" },
  },
  help: `Usage: arraywire put <url> <name> <file.npy> [options]

Upload the array in <file.npy> under <name> to the server at <url> (one that takes
uploads, such as "arraywire serve --uploads"). Little- and big-endian files of
numeric dtypes and bool (sent as uint8), C order. The server verifies a checksum
of every byte before it takes the array.

      --meta <json>            JSON the server keeps with the array
      --params <json>          JSON for the server's upload hook
      --retries <n>            reconnect and resume up to n times (default 5, 0 off)
${CLIENT_OPTIONS_HELP}

Prints "<name> <dtype> [<shape>] <bytes> xxh32:<checksum>" on stdout when done.

${EXIT_CODES_HELP}`,
};

function jsonOption(values: Record<string, unknown>, name: string): JsonObject | undefined {
  const text = stringOption(values, name);
  return text === undefined ? undefined : jsonObjectValue(name, text);
}

async function run(parsed: Parameters<Command["run"]>[0], context: Parameters<Command["run"]>[1]): Promise<number> {
  const { values, positionals } = parsed;
  const [urlText, name, path] = positionals as [string, string, string];
  const url = urlValue(urlText);
  const meta = jsonOption(values, "meta");
  const params = jsonOption(values, "params");
  const retries = integerValue("retries", stringOption(values, "retries") ?? "5", 100);
  const headers = headerValues(values.header as string[] | undefined);
  const quiet = values.quiet === true;

  const input = await openNpyInput(path);
  const label = `arraywire put ${name}`;
  const progress = createProgress(progressMode(quiet, context.progressStream), label, context.progressStream);
  let bytesPerSecond = 0;
  try {
    const result = await uploadArray(url, name, input.source, {
      headers,
      signal: context.signal,
      resume: retries > 0 ? { attempts: retries } : false,
      onProgress: (p) => {
        bytesPerSecond = p.bytesPerSecond;
        progress.update(p.sentByteLength, p.totalByteLength, p.bytesPerSecond);
      },
      ...(meta ? { meta } : {}),
      ...(params ? { params } : {}),
    });
    progress.finish(result.byteLength, result.byteLength, bytesPerSecond);
    const checksum = result.checksum.toString(16).padStart(8, "0");
    context.output.out(
      `${result.name} ${result.dtype} [${result.shape.join(", ")}] ${result.byteLength} ${result.checksumAlgorithm}:${checksum}\n`,
    );
    return EXIT_OK;
  } catch (err) {
    progress.stop();
    if (errorCode(err) === "E_UNEXPECTED_MESSAGE") {
      const message = `${(err as Error).message} (does the server take uploads? "arraywire serve --uploads" does)`;
      throw new CommandError("E_UNEXPECTED_MESSAGE", message, { cause: err });
    }
    throw err;
  } finally {
    await input.close();
  }
}

/** `arraywire put`. */
export const putCommand: Command = { spec, run };
