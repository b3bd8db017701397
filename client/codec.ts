/**
 * Whether a connection offers zstd, and the codec it then decodes with (ConnectOptions.compression).
 */
import { loadZstd, type ZstdCodec } from "../shared/index.ts";
import type { ConnectSettings } from "./options.ts";
import { isLoopbackHost } from "./resolve-options.ts";

/**
 * The codec to offer on a connection to `hostname`, or null to offer none: "off", or "auto" on a
 * loopback host. A codec that fails to load is reported to onWarning (never thrown: the stream
 * then simply comes raw).
 */
export async function loadCodec(settings: ConnectSettings, hostname: string): Promise<ZstdCodec | null> {
  const { compression } = settings;
  if (compression === "off" || (compression === "auto" && isLoopbackHost(hostname))) return null;
  try {
    return await loadZstd();
  } catch (err) {
    try {
      settings.onWarning(
        `compression unavailable, streams come uncompressed: ${err instanceof Error ? err.message : String(err)}`,
      );
    } catch {
      // A throwing onWarning here has no stream to fail yet; the connection goes on.
    }
    return null;
  }
}
