/**
 * `arraywire get <url> <name>`: fetches an array (or rows of it) into a .npy file that numpy
 * loads. The array is stat'ed first (its dtype and shape make the .npy header, written before
 * any data), then fetched with fetchArray window by window (--window, 64 MiB) into one reused
 * receive buffer, so memory stays bounded for arrays of any size; each run of elements that
 * became final in the buffer (onChunk) is written to the file as a view of it, so the file fills
 * while the transfer runs and no copy of the array is made. Each window's checksum is verified,
 * and every window must come from the same generation (a changed array fails with E_GONE). The
 * file is "<out>.part" until the last window was verified, then renamed; on any failure or
 * SIGINT it is removed.
 */
import { basename } from "node:path";
import { fetchArray, statArray, type Transport, typedArrayConstructor } from "../client/index.ts";
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
/** Bytes fetched at a time into the one receive buffer (--window). */
const DEFAULT_WINDOW = "64M";

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
    window: { type: "string" },
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
      --window <size>          fetch in ranges of this many bytes into one reused
                               buffer: the memory used, whatever the array's size
                               (default 64M)
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
  const windowByteLength = byteSizeValue("window", stringOption(values, "window") ?? DEFAULT_WINDOW);
  if (windowByteLength === 0) throw new UsageError("--window: expected at least 1 byte, got 0");
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
  // Elements the stat saw: a live array that grows meanwhile is fetched as the stat saw it.
  const totalElements = info.shape.reduce((a, b) => a * b, 1);
  const header = encodeNpyHeader({ dtype: dtype as NpyDtype, shape });

  const output = await NpyOutput.open(outPath, header);
  const removeCleanup = context.onForcedExit(() => output.discardSync());
  const quiet = values.quiet === true;
  const label = `arraywire get ${name}`;
  const progress = createProgress(progressMode(quiet, context.progressStream), label, context.progressStream);
  const itemsize = DTYPE_BYTES_PER_ELEMENT[dtype];
  const byteLength = elementCount * itemsize;
  const started = performance.now();
  const rate = (done: number) => {
    const seconds = (performance.now() - started) / 1000;
    return seconds > 0 ? done / seconds : 0;
  };
  try {
    // One receive buffer of a window, reused: memory stays at the window whatever the array's size.
    const [first, last] = selection?.elementRange ?? [0, totalElements];
    const windowElements = Math.max(1, Math.floor(windowByteLength / itemsize));
    const buffer = new (typedArrayConstructor(dtype))(Math.min(windowElements, elementCount));
    let generation: number | null = null;
    for (let start = first; start < last; start += windowElements) {
      const end = Math.min(last, start + windowElements);
      const doneBefore = (start - first) * itemsize;
      const result = await fetchArray(url, name, {
        transport: transportText as Transport,
        headers,
        signal,
        range: [start, end],
        into: buffer.subarray(0, end - start),
        resume: retries > 0 ? { attempts: retries } : false,
        onProgress: (p) =>
          progress.update(doneBefore + p.receivedByteLength, byteLength, rate(doneBefore + p.receivedByteLength)),
        // Final elements of the receive buffer, written as views of it (the buffer is reused
        // only after every write of the window completed: output.flushed() below).
        onChunk: ({ values: v }) => output.write(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)),
        ...(params ? { params } : {}),
      });
      const changed =
        result.dtype !== dtype ||
        (generation !== null && result.generation !== generation) ||
        (!info.live && result.arrayShape.join() !== info.shape.join());
      if (changed) {
        throw new CommandError(
          "E_GONE",
          `${JSON.stringify(name)} changed during the transfer (${dtype} [${info.shape.join(", ")}] became ${result.dtype} [${result.arrayShape.join(", ")}], generation ${generation ?? "-"} became ${result.generation}); get it again`,
        );
      }
      generation = result.generation;
      await output.flushed();
    }
    await output.finish();
    progress.finish(byteLength, byteLength, rate(byteLength));
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
