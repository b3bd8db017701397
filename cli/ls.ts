/**
 * `arraywire ls <url>`: what a server publishes, from its discovery endpoint (listArrays: JSON
 * over HTTP), as a table or as JSON.
 */
import { type ArrayInfo, listArrays } from "../client/index.ts";
import { type CommandSpec, headerValues, urlValue } from "./args.ts";
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

/** "[2, 3]", or "-" when the server did not say. */
export function shapeText(info: ArrayInfo): string {
  return info.shape === undefined ? "-" : `[${info.shape.join(", ")}]`;
}

/** "8.0 kB", or "-" when the server did not say. */
export function sizeOf(info: ArrayInfo): string {
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

/** `arraywire ls`. */
export const lsCommand: Command = { spec: lsSpec, run: runLs };
