/**
 * `arraywire get <url> <name>`: fetches an array (or rows of it) into a .npy file that numpy
 * loads. The array is stat'ed first (its dtype and shape make the .npy header, written before
 * any data), then fetched with fetchArray; each run of elements that became final in the
 * receive buffer (onChunk) is written to the file as a view of that buffer, so the file fills
 * while the transfer runs and the array is never copied. The file is "<out>.part" until the
 * checksum was verified, then renamed; on any failure or SIGINT it is removed.
 */
import { basename } from "node:path";
import { type FetchArrayOptions, fetchArray, statArray, type Transport } from "../client/index.ts";
import { DTYPE_BYTES_PER_ELEMENT, type Dtype, encodeNpyHeader, type NpyDtype } from "../shared/index.ts";
import {
  byteSizeValue,
  type CommandSpec,
  headerValues,
  integerValue,
  jsonObjectValue,
  stringOption,
  urlValue,
} from "./args.ts";
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, type Command, EXIT_CODES_HELP } from "./command.ts";
import { CommandError, EXIT_OK, UsageError } from "./errors.ts";
import { NpyOutput } from "./npy-output.ts";
import { createProgress, progressMode, sizeText } from "./progress.ts";
import { parseRowRange, selectRows } from "./range.ts";

const TRANSPORTS: readonly Transport[] = ["auto", "ws", "http"];

const spec: CommandSpec = {
  name: "get",
  usage: "Usage: arraywire get <url> <name> [-o out.npy] [--range a:b] [options]",
  positionals: ["url", "name"],
  options: {
    ...CLIENT_OPTIONS,
    output: { type: "string", short: "o" },
    range: { type: "string", short: "r" },
    transport: { type: "string", short: "t" },
    params: { type: "string" },
    "max-bytes": { type: "string" },
    retries: { type: "string" },
  },
  help: `Usage: arraywire get <url> <name> [-o out.npy] [--range a:b] [options]

Fetch the array <name> from the server at <url> into a .npy file that numpy loads.
The file is written as it arrives, as <out>.part, and renamed once verified.

  -o, --output <file>          where to write; "-" for stdout (default: <name>.npy
                               in the current directory, the name's last part)
  -r, --range <a:b>            rows a to b (b excluded) along the first axis, as
                               numpy's array[a:b]; elements of a 1-d array. Either
                               end may be left out, negative ends count from the end
                               (write a negative start as --range=-10:)
  -t, --transport <auto|ws|http>  default auto (ws in Node)
      --params <json>          source parameters, e.g. '{"length": 1000}'
      --max-bytes <size>       refuse arrays larger than this (default 2G)
      --retries <n>            reconnect and resume up to n times (default 5, 0 off)
${CLIENT_OPTIONS_HELP}

Example: arraywire get ws://127.0.0.1:8080/arraywire temps -o temps.npy --range 100:200

${EXIT_CODES_HELP}`,
};

/** The default output file for `name`: its last path part, ".npy" added unless there. */
export function defaultOutputPath(name: string): string {
  const last = basename(name.replace(/\/+$/, "")).replace(/\.zarr$/, "") || "array";
  return last.endsWith(".npy") ? last : `${last}.npy`;
}

async function run(parsed: Parameters<Command["run"]>[0], context: Parameters<Command["run"]>[1]): Promise<number> {
  const { values, positionals } = parsed;
  const [urlText, name] = positionals as [string, string];
  const url = urlValue(urlText);
  const transportText = stringOption(values, "transport") ?? "auto";
  if (!TRANSPORTS.includes(transportText as Transport)) {
    throw new UsageError(`--transport: expected auto, ws or http, got ${JSON.stringify(transportText)}`);
  }
  const rangeText = stringOption(values, "range");
  const range = rangeText === undefined ? null : parseRowRange(rangeText);
  const paramsText = stringOption(values, "params");
  const params = paramsText === undefined ? undefined : jsonObjectValue("params", paramsText);
  const maxBytesText = stringOption(values, "max-bytes");
  const maxBytes = maxBytesText === undefined ? undefined : byteSizeValue("max-bytes", maxBytesText);
  const retries = integerValue("retries", stringOption(values, "retries") ?? "5", 100);
  const headers = headerValues(values.header as string[] | undefined);
  const outPath = stringOption(values, "output") ?? defaultOutputPath(name);
  const { signal, output: out } = context;

  // The header goes first in the file: the dtype and shape come from a stat.
  const info = await statArray(url, name, { headers, signal, ...(params ? { params } : {}) });
  if (info.dtype === undefined || info.shape === undefined) {
    throw new CommandError("E_PROTOCOL", `stat of ${JSON.stringify(name)}: the server did not say its dtype and shape`);
  }
  const dtype: Dtype = info.dtype;
  const selection = range === null ? null : selectRows(range, info.shape);
  const shape = selection?.shape ?? info.shape;
  const elementCount = shape.reduce((a, b) => a * b, 1);
  // A live array grows between the stat and the fetch: ask for the rows the stat saw.
  const totalElements = info.shape.reduce((a, b) => a * b, 1);
  const elementRange = selection?.elementRange ?? (info.live && totalElements > 0 ? [0, totalElements] : undefined);
  const header = encodeNpyHeader({ dtype: dtype as NpyDtype, shape });

  const output = await NpyOutput.open(outPath, header);
  const removeCleanup = context.onForcedExit(() => output.discardSync());
  const quiet = values.quiet === true;
  const label = `arraywire get ${name}`;
  const progress = createProgress(progressMode(quiet, context.progressStream), label, context.progressStream);
  try {
    const options: FetchArrayOptions = {
      transport: transportText as Transport,
      headers,
      signal,
      resume: retries > 0 ? { attempts: retries } : false,
      onProgress: (p) => progress.update(p.receivedByteLength, p.totalByteLength, p.bytesPerSecond),
      onChunk: (chunk) => {
        if (chunk.array.length !== elementCount) {
          throw new CommandError(
            "E_CHANGED",
            `${JSON.stringify(name)} changed since its stat: expected ${elementCount} elements, got ${chunk.array.length}`,
          );
        }
        const { values: v } = chunk;
        output.write(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      },
      ...(params ? { params } : {}),
      ...(maxBytes !== undefined ? { maxBytes } : {}),
      ...(elementRange ? { range: elementRange } : {}),
    };
    const started = performance.now();
    const result = await fetchArray(url, name, options);
    if (result.dtype !== dtype || result.array.length !== elementCount) {
      throw new CommandError(
        "E_CHANGED",
        `${JSON.stringify(name)} changed since its stat: expected ${elementCount} ${dtype}, got ${result.array.length} ${result.dtype}`,
      );
    }
    await output.finish();
    const byteLength = elementCount * DTYPE_BYTES_PER_ELEMENT[dtype];
    const seconds = (performance.now() - started) / 1000;
    progress.finish(byteLength, byteLength, seconds > 0 ? byteLength / seconds : 0);
    if (!quiet && outPath !== "-") {
      out.err(`${label}: wrote ${outPath} (${dtype} [${shape.join(", ")}], ${sizeText(byteLength)})\n`);
    }
    return EXIT_OK;
  } catch (err) {
    progress.stop();
    await output.discard();
    throw err;
  } finally {
    removeCleanup();
  }
}

/** `arraywire get`. */
export const getCommand: Command = { spec, run };
