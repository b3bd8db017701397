/**
 * Checks an ARRAY_HEADER against the request that asked for it, before anything is allocated,
 * in the same order on both transports: the size cap, the name asked for, the dtype the caller
 * expects (the `dtype` option), that the checksum `verify` asked for is coming (a server that
 * announces none would otherwise turn verification off silently), and that the range is the one
 * requested (or the whole array).
 */
import { type ArrayHeaderMessage, DTYPE_BYTES_PER_ELEMENT, ProtocolError, StreamError } from "../shared/index.ts";
import type { StreamRequest } from "./options.ts";

/**
 * @throws {@link StreamError} E_TOO_LARGE, E_DTYPE_MISMATCH or E_CHECKSUM; {@link ProtocolError}
 *   E_UNEXPECTED_MESSAGE for another name or (resuming from `resumeFrom`) another generation,
 *   E_BAD_RANGE for another range (all reported as E_PROTOCOL).
 */
export function checkHeader(header: ArrayHeaderMessage, request: StreamRequest): void {
  const { streamId } = header;
  const byteLength = header.rangeByteEnd - header.rangeByteStart;
  if (byteLength > request.maxBytes) {
    throw new StreamError(
      "E_TOO_LARGE",
      `Array too large: expected at most ${request.maxBytes} bytes (maxBytes), got ${byteLength}`,
      streamId,
    );
  }
  if (header.name !== request.name) {
    throw new ProtocolError(
      "E_UNEXPECTED_MESSAGE",
      `Invalid ARRAY_HEADER: expected name ${JSON.stringify(request.name)}, got ${JSON.stringify(header.name)}`,
    );
  }
  if (request.dtype !== undefined && header.dtype !== request.dtype) {
    throw new StreamError(
      "E_DTYPE_MISMATCH",
      `Dtype mismatch for ${JSON.stringify(header.name)}: expected ${request.dtype} (the dtype option), got ${header.dtype} from the server`,
      streamId,
    );
  }
  if (request.checksum !== "none" && header.checksumAlgorithm === "none") {
    throw new StreamError(
      "E_CHECKSUM",
      `The server announced no checksum, though verify asked for ${request.checksum}; pass verify: false to accept unverified data`,
      streamId,
    );
  }
  const itemsize = DTYPE_BYTES_PER_ELEMENT[header.dtype];
  const start = request.range ? request.range.elementStart * itemsize : 0;
  const end = request.range ? request.range.elementEnd * itemsize : header.totalByteLength;
  if (header.rangeByteStart !== start || header.rangeByteEnd !== end) {
    throw new ProtocolError(
      "E_BAD_RANGE",
      `Invalid ARRAY_HEADER: expected bytes [${start}, ${end}) (the range asked for), got [${header.rangeByteStart}, ${header.rangeByteEnd})`,
    );
  }
  const { resumeFrom } = request;
  if (resumeFrom && header.generation !== resumeFrom.generation) {
    throw new ProtocolError(
      "E_UNEXPECTED_MESSAGE",
      `Invalid ARRAY_HEADER on resume: expected generation ${resumeFrom.generation}, got ${header.generation}`,
    );
  }
}
