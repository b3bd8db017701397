/**
 * Where `arraywire get` writes its .npy: the header first, then views of the receive buffer as
 * its elements become final (no copy of the array is made; the file stream writes each view as
 * it is). A file is written as "<path>.part" and renamed to `path` only once the transfer was
 * verified, so an interrupted or failed get never leaves a truncated .npy behind, and an existing
 * file is replaced only by a complete one. "-" writes to stdout.
 */
import { once } from "node:events";
import { createWriteStream, unlinkSync } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import type { Writable } from "node:stream";

/** Suffix of the file written while the transfer runs. */
export const PART_SUFFIX = ".part";

/** An .npy being written: {@link NpyOutput.open}, {@link write} views, then {@link finish} or {@link discard}. */
export class NpyOutput {
  readonly path: string;
  /** The file written until finish(), or null for stdout. */
  readonly partPath: string | null;
  readonly #stream: Writable;
  #error: Error | null = null;
  #lastWrite: Promise<void> = Promise.resolve();
  #ended = false;

  private constructor(path: string, partPath: string | null, stream: Writable) {
    this.path = path;
    this.partPath = partPath;
    this.#stream = stream;
    stream.on("error", (err) => {
      this.#error ??= err;
    });
  }

  /**
   * Creates `path` + ".part" (replacing a stale one) and writes `header` to it, or writes the
   * header to stdout when `path` is "-".
   * @throws the file system's error (ENOENT for a missing directory, EACCES...).
   */
  static async open(path: string, header: Uint8Array): Promise<NpyOutput> {
    if (path === "-") {
      const output = new NpyOutput(path, null, process.stdout);
      output.write(header);
      return output;
    }
    const partPath = path + PART_SUFFIX;
    const stream = createWriteStream(partPath, { flags: "w" });
    await once(stream, "open"); // rejects with the open's error (once() listens for "error")
    const output = new NpyOutput(path, partPath, stream);
    output.write(header);
    return output;
  }

  /**
   * Queues `bytes` (a view: it must stay unchanged until written, as final elements of the
   * receive buffer do).
   * @throws the write error met so far, so that the transfer stops at the first failed write.
   */
  write(bytes: Uint8Array): void {
    if (this.#error) throw this.#error;
    if (bytes.byteLength === 0) return;
    this.#lastWrite = new Promise<void>((resolve) => {
      this.#stream.write(bytes, () => resolve());
    });
  }

  /**
   * Waits for every queued write (so that the views written may be reused).
   * @throws the first write error.
   */
  async flushed(): Promise<void> {
    await this.#lastWrite;
    if (this.#error) throw this.#error;
  }

  /**
   * Waits for every queued write, closes the file and renames it to `path`.
   * @throws the first write, close or rename error (the .part file is then removed).
   */
  async finish(): Promise<void> {
    await this.#lastWrite;
    if (this.#error) throw this.#error;
    if (this.partPath === null) return;
    this.#ended = true;
    this.#stream.end();
    await once(this.#stream, "close");
    if (this.#error) throw this.#error;
    await rename(this.partPath, this.path);
  }

  /** Stops writing and removes the .part file (nothing to remove for stdout). Never throws. */
  async discard(): Promise<void> {
    if (this.partPath === null) return;
    if (!this.#ended) {
      this.#ended = true;
      this.#stream.destroy();
      await once(this.#stream, "close").catch(() => {});
    }
    // ENOENT: already gone (renamed by a finish that raced, or never created): nothing to do.
    await unlink(this.partPath).catch(() => {});
  }

  /** {@link discard} for a process about to exit (a second SIGINT): synchronous. Never throws. */
  discardSync(): void {
    if (this.partPath === null) return;
    try {
      unlinkSync(this.partPath);
    } catch {
      // Already gone: nothing to remove.
    }
  }
}
