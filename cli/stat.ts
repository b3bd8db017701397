/**
 * `arraywire stat <url> <name>`: one array described without transferring it, from the server's
 * discovery endpoint (statArray: JSON over HTTP), as "key: value" lines or as JSON.
 */
import { statArray } from "../client/index.ts";
import { type CommandSpec, headerValues, jsonObjectValue, stringOption, urlValue } from "./args.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, type Command, EXIT_CODES_HELP } from "./command.ts";
import { EXIT_OK } from "./errors.ts";
import { shapeText, sizeOf } from "./ls.ts";

const statSpec: CommandSpec = {
  name: "stat",
  usage: "Usage: arraywire stat <url> <name> [--params json] [--json] [options]",
  positionals: ["url", "name"],
  options: { ...CLIENT_OPTIONS, json: { type: "boolean" }, params: { type: "string" } },
  help: `Usage: arraywire stat <url> <name> [--params json] [--json] [options]

Describe one array without transferring it: dtype, shape, size, meta, generation.

      --params <json>          describe the array the source makes for these params
      --json                   print the server's ArrayInfo as JSON
${CLIENT_OPTIONS_HELP}

${EXIT_CODES_HELP}`,
};

async function runStat(parsed: Parameters<Command["run"]>[0], context: Parameters<Command["run"]>[1]): Promise<number> {
  const { values, positionals } = parsed;
  const url = urlValue(positionals[0] as string);
  const name = positionals[1] as string;
  const headers = headerValues(values.header as string[] | undefined);
  const paramsText = stringOption(values, "params");
  const params = paramsText === undefined ? undefined : jsonObjectValue("params", paramsText);
  const info = await statArray(url, name, { headers, signal: context.signal, ...(params ? { params } : {}) });
  if (values.json === true) {
    context.output.out(`${JSON.stringify(info, null, 2)}\n`);
    return EXIT_OK;
  }
  const lines: [string, string][] = [
    ["name", info.name],
    ["kind", info.live ? "live" : info.kind],
    ["dtype", info.dtype ?? "-"],
    ["shape", shapeText(info)],
    ["size", info.byteLength === undefined ? "-" : `${info.byteLength} bytes (${sizeOf(info)})`],
    ["generation", String(info.generation)],
  ];
  if (info.maxLength !== undefined) lines.push(["maxLength", String(info.maxLength)]);
  if (info.closed !== undefined) lines.push(["closed", String(info.closed)]);
  if (info.meta != null) lines.push(["meta", JSON.stringify(info.meta)]);
  if (info.params !== undefined) lines.push(["params", JSON.stringify(info.params)]);
  context.output.out(`${lines.map(([k, v]) => `${`${k}:`.padEnd(12)}${v}`).join("\n")}\n`);
  return EXIT_OK;
}

/** `arraywire stat`. */
export const statCommand: Command = { spec: statSpec, run: runStat };
