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
        "isDtypeSupported",
        "typedArrayConstructor",
      ]
    `);
  });

  it("re-exports shared's SUBPROTOCOL rather than a copy of its own", async () => {
    const shared = await import("../shared/index.ts");
    expect(client.SUBPROTOCOL).toBe(shared.SUBPROTOCOL);
    expect(client.StreamError).toBe(shared.StreamError);
  });
});
