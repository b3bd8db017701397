/**
 * `arraywire serve <path>...`: serves .npy files, Zarr arrays and directories of them with an
 * ArrayServer until SIGINT. A file is published under its name without ".npy" (or --name), a
 * Zarr array under its directory's name without ".zarr", a directory through publishDirectory
 * (every .npy and Zarr array under it, by relative path, files added later too). Prints the
 * endpoint URL on stdout first, then one line per published name.
 */
import { stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { ArrayServer, type ArraySource, FileDirectory, npyFile, zarrArray } from "../server/index.ts";
import { byteSizeValue, type CommandSpec, integerValue, stringOption } from "./args.ts";
import { type Command, EXIT_CODES_HELP } from "./command.ts";
import { CommandError, EXIT_INTERRUPTED, UsageError } from "./errors.ts";
import { openNpyInput } from "./npy-input.ts";

const spec: CommandSpec = {
  name: "serve",
  usage: "Usage: arraywire serve <file.npy | zarr dir | directory>... [options]",
  positionals: ["path"],
  variadic: true,
  options: {
    port: { type: "string", short: "p" },
    host: { type: "string" },
    path: { type: "string" },
    name: { type: "string", short: "n" },
    prefix: { type: "string" },
    "allow-origin": { type: "string", multiple: true },
    "allow-host": { type: "string", multiple: true },
    uploads: { type: "boolean" },
    "max-upload-bytes": { type: "string" },
    quiet: { type: "boolean", short: "q" },
  },
  help: `Usage: arraywire serve <file.npy | zarr dir | directory>... [options]

Serve arrays over WebSocket and HTTP until Ctrl-C. A .npy file is published under
its name without ".npy", a Zarr array (a directory with zarr.json or .zarray) under
its name without ".zarr", a directory as every .npy file and Zarr array below it,
by relative path ("runs/temps.npy"), files added later included.

  -p, --port <n>               port to listen on (default 8080; 0 picks a free one)
      --host <address>         address to listen on (default 127.0.0.1; 0.0.0.0 for all)
      --path <path>            endpoint path (default /arraywire)
  -n, --name <name>            the name of a single file or Zarr array
      --prefix <prefix>        prefix of a directory's names (default none, or
                               "<dir name>/" when several paths are given)
      --allow-origin <origin>  let pages of this origin fetch (repeatable; "*" for any),
                               e.g. http://localhost:5173 (default: same origin only)
      --allow-host <name>      answer to this Host name besides localhost and IP
                               addresses (repeatable; ".example.org" for subdomains)
      --uploads                accept uploads ("arraywire put"), kept in memory
                               and published under their name
      --max-upload-bytes <size>  memory for uploads at once (default 1G)
  -q, --quiet                  no log lines on stderr
  -h, --help                   show this help

Prints the endpoint URL (ws://host:port/path) on the first line of stdout.

${EXIT_CODES_HELP}`,
};

/** What one path argument publishes. */
interface Published {
  readonly name: string;
  readonly what: string;
}

async function isZarrDirectory(path: string): Promise<boolean> {
  const found = await Promise.all(
    ["zarr.json", ".zarray"].map((file) =>
      stat(resolve(path, file)).then(
        (s) => s.isFile(),
        () => false,
      ),
    ),
  );
  return found.includes(true);
}

/** `source`, described from its file's header or metadata (for listings), without reading data. */
function described(source: ArraySource, path: string): ArraySource {
  const directory = new FileDirectory(dirname(path));
  return {
    open: (params, context) => source.open(params, context),
    describe: async () => {
      const { dtype, shape, meta } = await directory.stat(basename(path));
      return { dtype, shape, meta };
    },
  };
}

async function publishPath(
  server: ArrayServer,
  path: string,
  values: Record<string, unknown>,
  several: boolean,
): Promise<Published[]> {
  const info = await stat(path); // ENOENT and friends end the command (exit 1)
  const nameOption = stringOption(values, "name");
  if (info.isFile()) {
    const input = await openNpyInput(path); // a broken or unsupported file fails now, not per request
    await input.close();
    const name = nameOption ?? basename(path).replace(/\.npy$/i, "");
    server.publish(name, described(npyFile(path), path));
    const { dtype, shape } = input.header;
    return [{ name, what: `${dtype} [${shape.join(", ")}] from ${path}` }];
  }
  if (!info.isDirectory()) throw new CommandError("E_UNSUPPORTED", `${path}: not a file or a directory`);
  if (await isZarrDirectory(path)) {
    const name = nameOption ?? basename(resolve(path)).replace(/\.zarr$/i, "");
    server.publish(name, described(zarrArray(path), path));
    // Its metadata says dtype and shape (nothing read); broken metadata fails its requests, not this.
    const entry = await new FileDirectory(dirname(resolve(path))).stat(basename(resolve(path))).catch(() => null);
    return [{ name, what: `${entry ? `${entry.dtype} [${entry.shape.join(", ")}] ` : ""}Zarr array ${path}` }];
  }
  if (nameOption !== undefined)
    throw new UsageError("--name: names one file or Zarr array; a directory takes --prefix");
  const prefix = stringOption(values, "prefix") ?? (several ? `${basename(resolve(path))}/` : "");
  const directory = server.publishDirectory(path, { prefix });
  const entries = await directory.list({ maxEntries: 1000 });
  const published = entries.map((e) => ({ name: prefix + e.name, what: `${e.dtype} [${e.shape.join(", ")}]` }));
  return [{ name: `${prefix}*`, what: `directory ${path} (${entries.length} arrays now)` }, ...published];
}

async function run(parsed: Parameters<Command["run"]>[0], context: Parameters<Command["run"]>[1]): Promise<number> {
  const { values, positionals } = parsed;
  const port = integerValue("port", stringOption(values, "port") ?? "8080", 65535);
  const host = stringOption(values, "host") ?? "127.0.0.1";
  const path = stringOption(values, "path") ?? "/arraywire";
  if (!path.startsWith("/"))
    throw new UsageError(`--path: expected a path starting with "/", got ${JSON.stringify(path)}`);
  if (positionals.length > 1 && values.name !== undefined) {
    throw new UsageError("--name: names one file or Zarr array; give a single path");
  }
  const maxUploadText = stringOption(values, "max-upload-bytes");
  const maxUploadBytes = maxUploadText === undefined ? undefined : byteSizeValue("max-upload-bytes", maxUploadText);
  if (maxUploadBytes !== undefined && values.uploads !== true)
    throw new UsageError("--max-upload-bytes: needs --uploads");
  const quiet = values.quiet === true;
  const log = (message: string) => {
    if (!quiet) context.output.err(`arraywire serve: ${message}\n`);
  };

  const origins = values["allow-origin"] as string[] | undefined;
  const hosts = values["allow-host"] as string[] | undefined;
  const server = new ArrayServer({
    port,
    host,
    path,
    log,
    ...(origins ? { allowedOrigins: origins.includes("*") ? "*" : origins } : {}),
    ...(hosts ? { allowedHosts: hosts } : {}),
    ...(values.uploads === true
      ? {
          upload: {
            onUpload: () => ({ allocate: true, publish: true }),
            ...(maxUploadBytes ? { maxUploadBytes } : {}),
          },
        }
      : {}),
  });
  try {
    const published: Published[] = [];
    for (const p of positionals) published.push(...(await publishPath(server, p, values, positionals.length > 1)));
    await server.listen();
    const width = Math.max(...published.map((p) => p.name.length));
    // One write: whoever reads the URL line gets the listing with it.
    context.output.out([`${server.url}\n`, ...published.map((p) => `  ${p.name.padEnd(width)}  ${p.what}\n`)].join(""));
    log(`serving${values.uploads === true ? ", taking uploads" : ""}; Ctrl-C to stop`);
    await new Promise<void>((done) => {
      if (context.signal.aborted) done();
      else context.signal.addEventListener("abort", () => done(), { once: true });
    });
    log("closing");
    return EXIT_INTERRUPTED;
  } finally {
    await server.close();
  }
}

/** `arraywire serve`. */
export const serveCommand: Command = { spec, run };
