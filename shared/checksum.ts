/**
 * The END trailer's checksums behind one incremental interface, so senders and receivers pick
 * the algorithm by name (CHECKSUM_ALGORITHMS) and feed bytes in whatever pieces they have.
 */
import { crc32c } from "./crc32c.ts";
import type { ChecksumAlgorithm } from "./protocol.ts";
import { Xxh32 } from "./xxh32.ts";

/** An incremental checksum: `update` with the bytes in order, then `digest`. */
export interface Checksum {
  update(bytes: Uint8Array): void;
  /** The checksum of every byte so far, as an unsigned 32-bit number. */
  digest(): number;
}

/** A new incremental checksum for `algorithm`, or null for "none". */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum | null {
  switch (algorithm) {
    case "none":
      return null;
    case "crc32c": {
      let crc = 0;
      return {
        update: (bytes) => {
          crc = crc32c(bytes, crc);
        },
        digest: () => crc,
      };
    }
    case "xxh32":
      return new Xxh32();
  }
}
