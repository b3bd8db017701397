/**
 * How file sources fail, as the client sees it. Four outcomes, each a wire code:
 * - E_UNKNOWN_NAME: no such file (or not a kind served: only .npy files and Zarr arrays);
 * - E_UNSUPPORTED: a valid file whose array arraywire cannot carry (a dtype with no typed array,
 *   Fortran order unless opted in, a Zarr chunk over the source's limit);
 * - E_GONE: the file changed (or was replaced or removed) under an open array;
 * - E_INTERNAL: a broken file (a bad .npy header, Zarr metadata zarrita refuses) or an I/O error:
 *   the operator's problem. The client gets the generic E_INTERNAL message; the server log gets
 *   one line with the {@link FileSourceError} code and message.
 * Messages name the file by its label (the published file's base name, or the name under a
 * directory), never by its absolute path.
 */
import { NpyError, type NpyErrorCode, StreamError } from "../../shared/index.ts";

/** Codes of {@link FileSourceError}: the NpyError codes, and the Zarr and I/O failures. */
export type FileSourceErrorCode =
  | NpyErrorCode
  | "E_ZARR_METADATA" // zarr.json / .zarray that zarrita refuses, or a codec it cannot build
  | "E_ZARR_CHUNK" // a chunk that does not decode, or an encoded chunk over its size cap
  | "E_FILE_IO"; // the file system failed (EACCES, EIO, a directory where a file was expected...)

/** A file that cannot be served for a reason the operator must fix; the client sees E_INTERNAL. */
export class FileSourceError extends Error {
  override readonly name = "FileSourceError";
  readonly code: FileSourceErrorCode;
  constructor(code: FileSourceErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** E_UNKNOWN_NAME: `label` names no file this source serves. */
export function unknownFile(label: string, why: string, cause?: unknown): StreamError {
  return new StreamError("E_UNKNOWN_NAME", `Unknown array: ${JSON.stringify(label)} ${why}`, 0, { cause });
}

/** E_UNSUPPORTED: the file is valid, its array cannot be served. */
export function unsupported(label: string, why: string, cause?: unknown): StreamError {
  return new StreamError("E_UNSUPPORTED", `Cannot serve ${JSON.stringify(label)}: ${why}`, 0, { cause });
}

/** E_GONE: the file changed under an open array. */
export function fileChanged(label: string, what: string): StreamError {
  return new StreamError(
    "E_GONE",
    `Array ${JSON.stringify(label)} changed while it was read (${what}); restart the transfer`,
  );
}

/** NpyError codes of valid files whose array cannot be served (the rest are broken files). */
const UNSUPPORTED_NPY_CODES: ReadonlySet<NpyErrorCode> = new Set(["E_NPY_UNSUPPORTED_DTYPE", "E_NPY_FORTRAN_ORDER"]);

/**
 * What an NpyError from `label`'s header becomes: E_UNSUPPORTED for a dtype or layout that cannot
 * be served, else a FileSourceError with the NpyError's code (E_INTERNAL for the client).
 */
export function fromNpyError(label: string, err: NpyError): Error {
  if (UNSUPPORTED_NPY_CODES.has(err.code)) return unsupported(label, err.message, err);
  return new FileSourceError(err.code, `${label}: ${err.message}`, { cause: err });
}

/** Node's errno code of `err`, if it has one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** What an error of opening or reading `label` becomes: E_UNKNOWN_NAME for a missing file, else E_FILE_IO. */
export function fromFsError(label: string, err: unknown): Error {
  if (err instanceof StreamError || err instanceof FileSourceError || err instanceof NpyError) return err;
  const code = errnoOf(err);
  if (code === "ENOENT" || code === "ENOTDIR") return unknownFile(label, "has no file", err);
  return new FileSourceError("E_FILE_IO", `${label}: ${code ?? (err as Error)?.name ?? "error"} while reading it`, {
    cause: err,
  });
}
