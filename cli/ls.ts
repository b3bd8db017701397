/**
 * `arraywire ls <url>` and `arraywire stat <url> <name>`: what a server publishes, from its
 * discovery endpoint (listArrays, statArray: JSON over HTTP), as a table or as JSON.
 */
import { type ArrayInfo, listArrays, statArray } from "../client/index.ts";
import { type CommandSpec, headerValues, jsonObjectValue, stringOption, urlValue } from "./args.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, type Command, EXIT_CODES_HELP } from "./command.ts";
import { EXIT_OK } from "./errors.ts";
import { sizeText } from "./progress.ts";

const lsSpec: CommandSpec = {
  name: "ls",
  usage: "Usage: arraywire ls <url> [--json] [options]",
  positionals: ["url"],
  options: { ...CLIENT_OPTIONS, json: { type: "boolean" } },
  help: `Usage: arraywire ls <url> [--json] [options]

List what the server at <url> publishes: one line per name with its kind, dtype,
shape and size ("-" where a source only says them once opened: see "stat").

      --json                   print the listing as JSON (the server's ArrayInfo list)
${CLIENT_OPTIONS_HELP}

${EXIT_CODES_HELP}`,
};

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

function shapeText(info: ArrayInfo): string {
  return info.shape === undefined ? "-" : `[${info.shape.join(", ")}]`;
}

function sizeOf(info: ArrayInfo): string {
  return info.byteLength === undefined ? "-" : sizeText(info.byteLength);
}

/** The listing as aligned columns: NAME KIND DTYPE SHAPE SIZE. */
export function formatTable(arrays: readonly ArrayInfo[]): string {
  const rows = [
    ["NAME", "KIND", "DTYPE", "SHAPE", "SIZE"],
    ...arrays.map((a) => [a.name, a.live ? "live" : a.kind, a.dtype ?? "-", shapeText(a), sizeOf(a)]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  "))
    .join("\n");
}

async function runLs(parsed: Parameters<Command["run"]>[0], context: Parameters<Command["run"]>[1]): Promise<number> {
  const { values, positionals } = parsed;
  const url = urlValue(positionals[0] as string);
  const headers = headerValues(values.header as string[] | undefined);
  const arrays = await listArrays(url, { headers, signal: context.signal });
  if (values.json === true) context.output.out(`${JSON.stringify({ arrays }, null, 2)}\n`);
  else if (arrays.length === 0) context.output.out("(nothing published)\n");
  else context.output.out(`${formatTable(arrays)}\n`);
  return EXIT_OK;
}

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

/** `arraywire ls`. */
export const lsCommand: Command = { spec: lsSpec, run: runLs };
/** `arraywire stat`. */
export const statCommand: Command = { spec: statSpec, run: runStat };
