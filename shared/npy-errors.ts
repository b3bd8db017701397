/**
 * Typed errors of the .npy codec (shared/npy.ts). Callers branch on `code`, never on `message`.
 * Bytes from a file (or an upload) that break the .npy format throw {@link NpyError}; caller bugs
 * (a negative dimension passed to the encoder, a bad option) throw TypeError / RangeError.
 */

/** Codes of {@link NpyError}: each names one way an .npy file can be refused. */
export type NpyErrorCode =
  | "E_NPY_BAD_MAGIC" // the file does not start with "\x93NUMPY"
  | "E_NPY_BAD_VERSION" // a format version other than 1.0, 2.0 and 3.0
  | "E_NPY_HEADER_TOO_LARGE" // header longer than maxHeaderSize characters (numpy's cap)
  | "E_NPY_BAD_HEADER" // the header is not the dict literal numpy reads, or its values are invalid
  | "E_NPY_UNSUPPORTED_DTYPE" // a valid numpy dtype with no typed array (structured, strings, complex...)
  | "E_NPY_FORTRAN_ORDER" // Fortran-order data whose layout differs from C order (refused by default)
  | "E_NPY_SIZE_MISMATCH" // the file holds more or fewer data bytes than product(shape) * itemsize
  | "E_NPY_TRUNCATED"; // the file ends inside the header

/** Thrown when the bytes of an .npy file cannot be served as a typed array. */
export class NpyError extends Error {
  override readonly name = "NpyError";
  readonly code: NpyErrorCode;
  /** The header's `descr`, as numpy would print it, for E_NPY_UNSUPPORTED_DTYPE; else undefined. */
  readonly descr: string | undefined;
  constructor(code: NpyErrorCode, message: string, options?: ErrorOptions & { descr?: string }) {
    super(message, options);
    this.code = code;
    this.descr = options?.descr;
  }
}
