import { describe, expect, it } from "vitest";
import * as client from "./index.ts";

describe("arraywire/client", () => {
  it("exports exactly its public API (values; types are checked by tsc)", () => {
    expect(Object.keys(client).sort()).toMatchInlineSnapshot(`
      [
        "ArrayClient",
        "DTYPES",
        "DTYPE_BYTES_PER_ELEMENT",
        "GatewayStatusError",
        "ProtocolError",
        "SUBPROTOCOL",
        "StreamError",
        "defaultTransport",
        "fetchArray",
        "fetchArrayHttp",
        "fetchArrayInWorker",
        "isDtypeSupported",
        "isStreamErrorCode",
        "listArrays",
        "statArray",
        "subscribe",
        "typedArrayConstructor",
        "uploadArray",
      ]
    `);
  });

  it("arraywire/client/worker exports serveArrayFetches only (and serves when imported in a worker)", async () => {
    // Imported here (no worker scope) the module refuses to serve: its import throws.
    await expect(import("./worker.ts")).rejects.toThrow(
      new TypeError("serveArrayFetches: expected a dedicated worker's global scope, got a window or another object"),
    );
  });

  it("re-exports shared's SUBPROTOCOL rather than a copy of its own", async () => {
    const shared = await import("../shared/index.ts");
    expect(client.SUBPROTOCOL).toBe(shared.SUBPROTOCOL);
    expect(client.StreamError).toBe(shared.StreamError);
  });
});
