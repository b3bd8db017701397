/**
 * What the plugin publishes: the `arrays` option (typed arrays, ArraySources, or functions that
 * make them, called when a server starts, never during `vite build`) and the `setup` module,
 * loaded with Vite's `runnerImport` (so it may be TypeScript and import the app's own files;
 * packages stay plain Node imports, so `arraywire/server` is the same module as here).
 */
import { resolve } from "node:path";
import type { ArrayServer, ArraySource } from "../server/index.ts";
import type { TypedArray } from "../shared/index.ts";

/** A value the plugin publishes: what `ArrayServer.publish` takes, or a function that makes it. */
export type ArrayInit = TypedArray | ArraySource | (() => TypedArray | ArraySource | Promise<TypedArray | ArraySource>);

/**
 * What a setup module's default export is: a function that publishes on the server it is handed
 * (and may return nothing, or a promise), or an object like the plugin's `arrays` option.
 */
export type SetupExport = ((arrays: ArrayServer) => void | Promise<void>) | Record<string, ArrayInit>;

/** Publishes each entry of `arrays`, calling the functions among them (awaited). @throws what publish or the functions throw. */
export async function publishArrays(server: ArrayServer, arrays: Readonly<Record<string, ArrayInit>>): Promise<void> {
  for (const [name, init] of Object.entries(arrays)) {
    const value = typeof init === "function" ? await init() : init;
    server.publish(name, value);
  }
}

/** What loading the setup module gave: the files it depends on (for reloads in dev). */
export interface SetupResult {
  /** Names published by this run. */
  names: string[];
  /** Files the module imported (its own included), as Vite's runnerImport reports them. */
  files: string[];
}

/**
 * Loads `setup` (a path relative to `root`) and runs its default export against `server`.
 * @throws {TypeError} when the module has no default export of the right kind; what the module
 *   or its function throws.
 */
export async function runSetupModule(server: ArrayServer, setup: string, root: string): Promise<SetupResult> {
  const file = resolve(root, setup);
  // Imported here, not at the top: `vite` is an optional peer dependency of arraywire, needed
  // only by this entry point, and only once a server starts.
  const { runnerImport } = await import("vite");
  const { module, dependencies } = await runnerImport<{ default?: unknown }>(file, { root, logLevel: "error" });
  const exported = module.default;
  const names = new Set<string>();
  if (typeof exported === "function") {
    await (exported as (arrays: ArrayServer) => unknown)(recordingPublishes(server, names));
  } else if (exported !== null && typeof exported === "object") {
    await publishArrays(recordingPublishes(server, names), exported as Record<string, ArrayInit>);
  } else {
    throw new TypeError(
      `Invalid setup module ${setup}: expected a default export that is a function (arrays) => ... or an object of arrays, got ${exported === null ? "null" : typeof exported}`,
    );
  }
  return { names: [...names], files: [file, ...dependencies] };
}

/** `server`, with the names passed to publish() recorded in `names`. */
function recordingPublishes(server: ArrayServer, names: Set<string>): ArrayServer {
  return new Proxy(server, {
    get(target, key) {
      if (key === "publish") {
        return (...args: Parameters<ArrayServer["publish"]>) => {
          target.publish(...args);
          names.add(args[0]);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      // Methods run on the server itself: its #private fields are not the proxy's.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
