/**
 * A published directory (ArrayServer.publishDirectory): names map to files under one root, and
 * only through it. A name must pass safe-name.ts; it is then joined to the root's real path and
 * resolved (symlinks included), and served only when the result is still under the root, and is
 * an .npy file or a directory holding a Zarr array (zarr.json or .zarray). The .npy file actually
 * opened is checked again (Linux: /proc/self/fd), so a symlink swapped in between the check and
 * the open still cannot lead outside. Anything else is E_UNKNOWN_NAME, with the same message
 * whether the name is refused, missing or outside, so a client learns nothing about the rest of
 * the file system. Names are resolved when requested: files added later are served, removed ones
 * are not.
 */

import { realpathSync, statSync } from "node:fs";
import { opendir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { DTYPE_BYTES_PER_ELEMENT, type Dtype, type JsonObject } from "../../shared/index.ts";
import type { NameResolver } from "../registry.ts";
import type { ArraySource, SourceArray, SourceContext } from "../sources.ts";
import { unknownFile } from "./file-errors.ts";
import { checkNoParams, checkNpyOptions, type NpyFileOptions, openNpyFile } from "./npy-file.ts";
import { checkOpenedInside, isInside } from "./rooted-store.ts";
import { MAX_DEPTH, nameProblem } from "./safe-name.ts";
import { openZarrArray, resolveZarrOptions, type ZarrArrayOptions } from "./zarr-source.ts";

/** Options of {@link FileDirectory} (and ArrayServer.publishDirectory). */
export interface FileDirectoryOptions {
  /** How .npy files are read (fortranOrder, maxHeaderSize). */
  npy?: Omit<NpyFileOptions, "meta">;
  /** How Zarr arrays are read (cacheByteLength, maxChunkByteLength). */
  zarr?: Omit<ZarrArrayOptions, "meta">;
}

/** One array a directory serves, as {@link FileDirectory.list} describes it (no data read). */
export interface DirectoryEntry {
  /** The name to request (after the publishDirectory prefix). */
  name: string;
  kind: "npy" | "zarr";
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  meta: JsonObject | null;
  /** The file's content version (what the header's generation is derived from), or null. */
  version?: string | null;
}

/** Options of {@link FileDirectory.list}. */
export interface ListOptions {
  /** Most entries returned (the walk stops there). Defaults to 10_000. */
  maxEntries?: number;
}

const NOT_SERVED = "is not an .npy file or a Zarr array in this directory";

/** A context for opens that only describe (list, stat): nothing is reserved, nothing is read. */
function describeContext(): SourceContext {
  return { reserve: () => {}, signal: new AbortController().signal };
}

export class FileDirectory implements NameResolver {
  /** The root's real path. */
  readonly root: string;
  readonly #npy: NpyFileOptions;
  readonly #zarr: ReturnType<typeof resolveZarrOptions>;

  /**
   * @throws {TypeError} when `root` is not an existing directory, or for an invalid option;
   *   {RangeError} for a size option out of range.
   */
  constructor(root: string, options: FileDirectoryOptions = {}) {
    if (typeof root !== "string" || root.length === 0 || root.includes("\0")) {
      throw new TypeError(`Invalid directory root: expected a non-empty path, got ${JSON.stringify(root)}`);
    }
    for (const key of Object.keys(options)) {
      if (key !== "npy" && key !== "zarr")
        throw new TypeError(`Invalid directory option ${JSON.stringify(key)}: expected npy or zarr`);
    }
    let real: string;
    try {
      real = realpathSync(root);
    } catch (cause) {
      throw new TypeError(`Invalid directory root ${JSON.stringify(root)}: it does not exist`, { cause });
    }
    if (!statSync(real).isDirectory())
      throw new TypeError(`Invalid directory root ${JSON.stringify(root)}: not a directory`);
    this.root = real;
    this.#npy = { ...options.npy };
    if ("meta" in this.#npy) throw new TypeError("Invalid npy option meta: a directory's arrays describe themselves");
    checkNpyOptions(this.#npy);
    this.#zarr = resolveZarrOptions({ ...options.zarr });
  }

  /** The source of `name` (checked for syntax only; the file system is consulted when it opens). */
  resolve(name: string): ArraySource | undefined {
    if (nameProblem(name) !== null) return undefined;
    return {
      open: (params, context) => {
        checkNoParams(params, name);
        return this.#open(name, context);
      },
    };
  }

  /** Where `name` leads: its real path and kind, or E_UNKNOWN_NAME. */
  async #locate(name: string): Promise<{ path: string; kind: "npy" | "zarr" }> {
    const problem = nameProblem(name);
    if (problem !== null) throw unknownFile(name, NOT_SERVED);
    let real: string;
    try {
      real = await realpath(join(this.root, name));
    } catch (err) {
      throw unknownFile(name, NOT_SERVED, err);
    }
    if (!isInside(real, this.root) || real === this.root) throw unknownFile(name, NOT_SERVED);
    const stats = await stat(real).catch(() => null);
    if (stats?.isFile() && real.endsWith(".npy") && name.endsWith(".npy")) return { path: real, kind: "npy" };
    if (stats?.isDirectory()) {
      const marker = await Promise.any(
        ["zarr.json", ".zarray"].map(async (file) => {
          if (!(await stat(join(real, file))).isFile()) throw new Error("not a file");
        }),
      ).then(
        () => true,
        () => false,
      );
      if (marker) return { path: real, kind: "zarr" };
    }
    throw unknownFile(name, NOT_SERVED);
  }

  async #open(name: string, context: SourceContext): Promise<SourceArray> {
    const { path, kind } = await this.#locate(name);
    if (kind === "npy") {
      return openNpyFile(path, name, context, this.#npy, (fd) => checkOpenedInside(fd, this.root, name));
    }
    return openZarrArray(path, name, context, this.#zarr);
  }

  /**
   * Describes the array `name` without reading its data (its header or metadata only).
   * @throws {@link StreamError} E_UNKNOWN_NAME, E_UNSUPPORTED; a FileSourceError for a broken file.
   */
  async stat(name: string): Promise<DirectoryEntry> {
    const { kind } = await this.#locate(name);
    const array = await this.#open(name, describeContext());
    try {
      const shape = [...array.shape];
      return {
        name,
        kind,
        dtype: array.dtype,
        shape,
        byteLength: shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES_PER_ELEMENT[array.dtype],
        meta: array.meta ?? null,
        version: array.version ?? null,
      };
    } finally {
      array.close?.();
    }
  }

  /**
   * The arrays under the root that can be served, by name (sorted), without reading their data:
   * .npy files and Zarr arrays (not descended into), skipping hidden files, names a request
   * could not use, symlinks that lead outside the root, and files that do not open (broken or
   * unsupported ones). Walks at most MAX_DEPTH levels and stops at `maxEntries`.
   */
  async list(options: ListOptions = {}): Promise<DirectoryEntry[]> {
    const maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) {
      throw new RangeError(`Invalid maxEntries: expected a non-negative safe integer, got ${maxEntries}`);
    }
    const entries: DirectoryEntry[] = [];
    const visited = new Set<string>([this.root]);
    const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
      if (depth >= MAX_DEPTH) return;
      let handle: Awaited<ReturnType<typeof opendir>>;
      try {
        handle = await opendir(dir);
      } catch {
        return; // unreadable: nothing to list there
      }
      const children: string[] = [];
      for await (const entry of handle) children.push(entry.name);
      children.sort();
      for (const child of children) {
        if (entries.length >= maxEntries) return;
        const name = prefix + child;
        if (nameProblem(name) !== null) continue;
        const located = await this.#locate(name).catch(() => null);
        if (located) {
          // Broken or unsupported (or gone since): not servable, so not listed.
          const entry = await this.stat(name).catch(() => null);
          if (entry) entries.push(entry);
          // A Zarr group's directory is not an array: its arrays are below it.
          if (entry || located.kind === "npy") continue;
        }
        const real = await realpath(join(dir, child)).catch(() => null);
        if (real === null || !isInside(real, this.root) || visited.has(real)) continue;
        if ((await stat(real).catch(() => null))?.isDirectory()) {
          visited.add(real);
          await walk(real, `${name}/`, depth + 1);
        }
      }
    };
    await walk(this.root, "", 0);
    return entries;
  }
}
