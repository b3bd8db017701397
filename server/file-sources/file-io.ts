/**
 * The file system calls of the file sources, as promises over Node's callback API (the fd-based
 * calls are cheaper than FileHandle's), and a file's identity: what changes when it is written,
 * truncated, appended to or replaced.
 */
import { type BigIntStats, close, fstat, open, read, stat } from "node:fs";

/** What identifies one version of a file: inode, size, modification and change times (ns). */
export interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export function identityOf(stats: BigIntStats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

/** The first difference between two versions of a file, or null when they are the same. */
export function identityChange(before: FileIdentity, after: FileIdentity): string | null {
  if (before.dev !== after.dev || before.ino !== after.ino) return "replaced by another file";
  if (before.size !== after.size) return `size ${before.size} -> ${after.size} bytes`;
  if (before.mtimeNs !== after.mtimeNs) return "modified";
  if (before.ctimeNs !== after.ctimeNs) return "its status changed";
  return null;
}

/** A version string of the identity (SourceArray.version). */
export function versionOf(identity: FileIdentity): string {
  return `${identity.dev}:${identity.ino}:${identity.size}:${identity.mtimeNs}:${identity.ctimeNs}`;
}

export function openFile(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function closeFile(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

export function fstatFile(fd: number): Promise<BigIntStats> {
  return new Promise((resolve, reject) =>
    fstat(fd, { bigint: true }, (err, stats) => (err ? reject(err) : resolve(stats))),
  );
}

export function statPath(path: string): Promise<BigIntStats> {
  return new Promise((resolve, reject) =>
    stat(path, { bigint: true }, (err, stats) => (err ? reject(err) : resolve(stats))),
  );
}

/**
 * Reads `target.byteLength` bytes at file offset `position` into `target` (in as many reads as
 * the kernel needs). Resolves with the bytes read: fewer only at the end of the file.
 */
export async function readInto(fd: number, target: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < target.byteLength) {
    const n = await new Promise<number>((resolve, reject) =>
      read(fd, target, done, target.byteLength - done, position + done, (err, bytesRead) =>
        err ? reject(err) : resolve(bytesRead),
      ),
    );
    if (n === 0) break;
    done += n;
  }
  return done;
}
