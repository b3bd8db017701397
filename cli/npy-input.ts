/**
 * An .npy file as an UploadSource for `arraywire put`: the header is parsed with shared/npy.ts
 * (the whole file size checked against it), and the data is read piece by piece as the upload
 * asks for it, one read into a fresh buffer per piece (no copy of the whole array is held).
 * Big-endian files are swapped to little-endian piece by piece; bool travels as uint8.
 */
import { type FileHandle, open } from "node:fs/promises";
import type { UploadSource } from "../client/index.ts";
import { type Dtype, isDtypeSupported, type NpyHeader, parseNpyHeader, swapBytesInPlace } from "../shared/index.ts";
import { CommandError } from "./errors.ts";

/** Bytes read from the start of the file for the header at first (most headers are 128 bytes). */
const FIRST_READ_BYTE_LENGTH = 4096;

/** An opened .npy file. */
export interface NpyInput {
  readonly header: NpyHeader;
  /** What uploadArray reads from. */
  readonly source: UploadSource;
  close(): Promise<void>;
}

async function readFully(file: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < target.byteLength) {
    const { bytesRead } = await file.read(target, done, target.byteLength - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Opens `path` and reads its header.
 * @throws the file system's error (ENOENT...), an NpyError (E_NPY_BAD_MAGIC, E_NPY_SIZE_MISMATCH,
 *   E_NPY_FORTRAN_ORDER, E_NPY_UNSUPPORTED_DTYPE...), or a CommandError E_UNSUPPORTED for a dtype
 *   this runtime has no typed array for (float16 on Node 20).
 */
export async function openNpyInput(path: string): Promise<NpyInput> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    let prefix = new Uint8Array(Math.min(size, FIRST_READ_BYTE_LENGTH));
    let result = parseNpyHeader(prefix.subarray(0, await readFully(file, prefix, 0)), { fileByteLength: size });
    if (!result.done) {
      prefix = new Uint8Array(result.needByteLength);
      result = parseNpyHeader(prefix.subarray(0, await readFully(file, prefix, 0)), { fileByteLength: size });
    }
    if (!result.done) throw new CommandError("E_NPY_TRUNCATED", `${path}: the .npy header is cut short`);
    const header = result.header;
    if (!isDtypeSupported(header.dtype)) {
      throw new CommandError("E_UNSUPPORTED", `${path}: this Node has no typed array for ${header.dtype}`);
    }
    return { header, source: sourceOf(file, header, path), close: () => file.close() };
  } catch (err) {
    await file.close();
    throw err;
  }
}

function sourceOf(file: FileHandle, header: NpyHeader, path: string): UploadSource {
  const { dataByteOffset, dataByteLength, bytesPerElement, needsByteSwap } = header;
  return {
    dtype: header.dtype as Dtype,
    shape: header.shape,
    async read(byteOffset, byteLength) {
      // Whole elements, so that a big-endian piece can be swapped (a resume may start mid-element).
      const start = needsByteSwap ? byteOffset - (byteOffset % bytesPerElement) : byteOffset;
      const end = needsByteSwap
        ? Math.min(dataByteLength, Math.ceil((byteOffset + byteLength) / bytesPerElement) * bytesPerElement)
        : byteOffset + byteLength;
      const piece = new Uint8Array(end - start);
      const read = await readFully(file, piece, dataByteOffset + start);
      if (read !== piece.byteLength) {
        throw new CommandError(
          "E_NPY_TRUNCATED",
          `${path}: expected ${piece.byteLength} bytes at ${dataByteOffset + start}, got ${read} (did the file change?)`,
        );
      }
      if (needsByteSwap) swapBytesInPlace(piece, bytesPerElement);
      return piece.subarray(byteOffset - start, byteOffset - start + byteLength);
    },
  };
}
