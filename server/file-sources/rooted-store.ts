/**
 * A read-only zarrita store over one directory that reads nothing outside it: keys are checked
 * segment by segment (only [A-Za-z0-9._-], no "." or ".."), files are opened without following
 * a final symlink, and the file actually opened is checked to lie under the root (through
 * /proc/self/fd on Linux, else by realpath before opening). Every read is capped before it
 * allocates: metadata at MAX_METADATA_BYTE_LENGTH, chunk files and ranges at the source's cap.
 * zarrita's own FileSystemStore allocates whatever a file holds and joins paths unchecked.
 *
 * Change detection: a file read whose ctime is later than the store's `openedAtNs` was written
 * after the array opened, and fails the read with E_GONE (`onChange`).
 */
import { constants, readlink, realpath } from "node:fs";
import { join, sep } from "node:path";
import { fileChanged, fromFsError, unknownFile } from "./file-errors.ts";
import { closeFile, fstatFile, openFile, readInto } from "./file-io.ts";

/** Largest zarr.json / .zarray / .zattrs read, in bytes. */
export const MAX_METADATA_BYTE_LENGTH = 1024 * 1024;
const KEY_SEGMENT = /^[A-Za-z0-9._-]{1,255}$/;
const METADATA_KEYS = new Set(["zarr.json", ".zarray", ".zattrs", ".zgroup"]);
const HAS_PROC_FD = process.platform === "linux";

/** A range zarrita asks for (zarrita's RangeQuery). */
type RangeQuery = { offset: number; length: number } | { suffixLength: number };

function readlinkAsync(path: string): Promise<string> {
  return new Promise((resolve, reject) => readlink(path, (err, target) => (err ? reject(err) : resolve(target))));
}

function realpathAsync(path: string): Promise<string> {
  return new Promise((resolve, reject) => realpath(path, (err, target) => (err ? reject(err) : resolve(target))));
}

export class RootedStore {
  readonly #root: string;
  readonly #label: string;
  /** Most bytes read from a chunk file or range; 0 until the chunk size is known (metadata reads only). */
  maxChunkFileByteLength: number;
  /** Files changed after this (ns since the epoch, file-system ctime) fail reads with E_GONE. */
  readonly openedAtNs: bigint;
  #onChange: (() => void) | null = null;

  /**
   * @param root the array's directory, a real path (no symlink in it).
   * @param maxChunkFileByteLength most bytes read from a chunk file or range.
   */
  constructor(root: string, label: string, maxChunkFileByteLength: number) {
    this.#root = root;
    this.#label = label;
    this.maxChunkFileByteLength = maxChunkFileByteLength;
    this.openedAtNs = BigInt(Date.now()) * 1_000_000n;
  }

  /** Called (once per change seen) when a file read was written after the open. */
  set onChange(callback: () => void) {
    this.#onChange = callback;
  }

  /** The file path of `key`, or null when the key is not one this store serves. */
  #pathOf(key: string): string | null {
    const segments = key.split("/").filter((s, i) => !(i === 0 && s === ""));
    if (segments.length === 0 || segments.length > 40) return null;
    for (const segment of segments) {
      if (!KEY_SEGMENT.test(segment) || segment === "." || segment === "..") return null;
    }
    return join(this.#root, ...segments);
  }

  async get(key: string, options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined> {
    return this.#read(key, null, options?.signal);
  }

  async getRange(key: string, range: RangeQuery, options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined> {
    return this.#read(key, range, options?.signal);
  }

  async #read(key: string, range: RangeQuery | null, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    signal?.throwIfAborted();
    const path = this.#pathOf(key);
    if (path === null) return undefined;
    const isMetadata = METADATA_KEYS.has(key.slice(key.lastIndexOf("/") + 1));
    let fd: number;
    try {
      if (!HAS_PROC_FD) await this.#checkInside(await realpathAsync(path));
      fd = await openFile(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as { code?: string }).code;
      // ELOOP: the final component is a symlink; served as absent, like a path outside the root.
      if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") return undefined;
      throw fromFsError(this.#label, err);
    }
    try {
      if (HAS_PROC_FD) await this.#checkInside(await readlinkAsync(`/proc/self/fd/${fd}`));
      const stats = await fstatFile(fd);
      if (!stats.isFile()) return undefined;
      if (!isMetadata && stats.ctimeNs > this.openedAtNs) {
        this.#onChange?.();
        throw fileChanged(this.#label, `${key} was written after the array opened`);
      }
      const size = Number(stats.size);
      const cap = isMetadata ? MAX_METADATA_BYTE_LENGTH : this.maxChunkFileByteLength;
      let offset = 0;
      let length = size;
      if (range !== null && "suffixLength" in range) {
        length = Math.min(range.suffixLength, size);
        offset = size - length;
      } else if (range !== null) {
        offset = range.offset;
        length = range.length;
        if (
          !Number.isSafeInteger(offset) ||
          !Number.isSafeInteger(length) ||
          offset < 0 ||
          length < 0 ||
          offset + length > size
        ) {
          throw new RangeError(
            `${this.#label}: ${key}: range ${offset}+${length} is outside the file of ${size} bytes`,
          );
        }
      }
      if (length > cap) {
        throw new RangeError(`${this.#label}: ${key}: expected at most ${cap} bytes to read, got ${length}`);
      }
      // A fresh buffer per read: zarrita's decoders may keep views of it (an uncompressed chunk is one).
      const out = new Uint8Array(length);
      const n = await readInto(fd, out, offset);
      if (n < length) throw fileChanged(this.#label, `${key} shrank while it was read`);
      signal?.throwIfAborted();
      return out;
    } finally {
      await closeFile(fd);
    }
  }

  async #checkInside(real: string): Promise<void> {
    if (!isInside(real, this.#root)) throw unknownFile(this.#label, "has a file outside its directory");
  }
}

/** True when the real path `path` is `root` or under it. */
export function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Checks that the file open as `fd` lies under `root` (Linux: the path the kernel opened, from
 * /proc/self/fd; elsewhere nothing more than the caller's realpath check is possible).
 * @throws StreamError E_UNKNOWN_NAME when it does not.
 */
export async function checkOpenedInside(fd: number, root: string, label: string): Promise<void> {
  if (!HAS_PROC_FD) return;
  if (!isInside(await readlinkAsync(`/proc/self/fd/${fd}`), root)) {
    throw unknownFile(label, "is outside the published directory");
  }
}
