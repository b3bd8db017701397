/**
 * Command-line parsing for every command: node:util parseArgs (strict: an unknown option or a
 * missing value is a UsageError), `-h` / `--help` on every command, counted positionals, and
 * the value parsers the commands share (integers, byte sizes, JSON objects, headers).
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { JsonObject } from "../shared/index.ts";
import { UsageError } from "./errors.ts";

/** The options a command takes, as parseArgs describes them. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** What a command says about its command line. */
export interface CommandSpec {
  /** "get", "put"... */
  readonly name: string;
  /** One line: "arraywire get <url> <name> [options]". */
  readonly usage: string;
  /** The whole --help text (usage included). */
  readonly help: string;
  readonly options: OptionSpec;
  /** Names of the positionals, required ones first. */
  readonly positionals: readonly string[];
  /** How many positionals are required. Defaults to all of them. */
  readonly required?: number;
  /** More positionals than named are allowed (serve takes several paths). Defaults to false. */
  readonly variadic?: boolean;
}

/** A parsed command line: option values by name and the positionals, or "help". */
export type Parsed =
  | { readonly help: true }
  | {
      readonly help: false;
      readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
      readonly positionals: string[];
    };

const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const satisfies OptionSpec;

/**
 * Parses `argv` (the arguments after the command name) against `spec`.
 * @throws {@link UsageError} for an unknown option, a missing option value, or a wrong number of positionals.
 */
export function parseCommandLine(spec: CommandSpec, argv: readonly string[]): Parsed {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...spec.options, ...HELP_OPTION },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // parseArgs' messages name the option ("Unknown option '--x'"); its codes are ERR_PARSE_ARGS_*.
    throw new UsageError((err as Error).message, { cause: err });
  }
  if (parsed.values.help === true) return { help: true };
  const required = spec.required ?? spec.positionals.length;
  const count = parsed.positionals.length;
  if (count < required) {
    const missing = spec.positionals.slice(count, required).map((p) => `<${p}>`);
    throw new UsageError(`missing ${missing.join(" ")}: expected ${required} arguments, got ${count}`);
  }
  if (!spec.variadic && count > spec.positionals.length) {
    throw new UsageError(
      `too many arguments: expected at most ${spec.positionals.length}, got ${count} (${parsed.positionals.slice(spec.positionals.length).join(" ")})`,
    );
  }
  return { help: false, values: parsed.values, positionals: parsed.positionals };
}

/**
 * A non-negative integer option ("8080").
 * @throws {@link UsageError} for anything else, or a value above `max`.
 */
export function integerValue(option: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) > max) {
    throw new UsageError(`--${option}: expected an integer from 0 to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

const SIZE_UNITS: Readonly<Record<string, number>> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * A byte count: an integer with an optional binary unit, "4G" = 4 GiB, "512M", "65536".
 * @throws {@link UsageError} for anything else.
 */
export function byteSizeValue(option: string, text: string): number {
  const match = /^(\d+)([kmgt]?)(i?b)?$/i.exec(text.trim());
  const unit = SIZE_UNITS[(match?.[2] ?? "").toLowerCase()];
  const value = match && unit !== undefined ? Number(match[1]) * unit : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(`--${option}: expected a byte count such as 65536, 512M or 4G, got ${JSON.stringify(text)}`);
  }
  return value;
}

/**
 * A JSON object option (`--params '{"n": 10}'`).
 * @throws {@link UsageError} for text that is not a JSON object.
 */
export function jsonObjectValue(option: string, text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `--${option}: expected a JSON object, got ${JSON.stringify(text)} (${(err as Error).message})`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(`--${option}: expected a JSON object, got ${JSON.stringify(text)}`);
  }
  return value as JsonObject;
}

/**
 * `-H "Name: value"` options as a header object, or undefined when there are none.
 * @throws {@link UsageError} for a header without a name and a colon.
 */
export function headerValues(texts: readonly string[] | undefined): Record<string, string> | undefined {
  if (!texts || texts.length === 0) return undefined;
  const headers: Record<string, string> = {};
  for (const text of texts) {
    const colon = text.indexOf(":");
    const name = text.slice(0, colon).trim();
    if (colon <= 0 || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new UsageError(`--header: expected "Name: value", got ${JSON.stringify(text)}`);
    }
    headers[name] = text.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * An endpoint URL argument: ws:, wss:, http: or https:.
 * @throws {@link UsageError} for anything else.
 */
export function urlValue(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`<url>: expected a URL such as ws://127.0.0.1:8080/arraywire, got ${JSON.stringify(text)}`);
  }
  if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) {
    throw new UsageError(`<url>: expected ws:, wss:, http: or https:, got ${JSON.stringify(url.protocol)}`);
  }
  return url;
}

/** The option value as a string (parseArgs types every value as a union). */
export function stringOption(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}
