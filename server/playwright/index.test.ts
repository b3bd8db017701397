import { describe, expect, it } from "vitest";

describe("arraywire/playwright", () => {
  it("arraywire/playwright exports exactly its public API", async () => {
    const playwright = await import("./index.ts");
    expect(Object.keys(playwright).sort()).toMatchInlineSnapshot(`
      [
        "ArrayAssertionError",
        "ArrayTransferError",
        "DEFAULT_EXPECT_TIMEOUT_MS",
        "MAX_EQUAL_ELEMENTS",
        "MAX_SAMPLED_INDICES",
        "arrayChecksum",
        "expectArray",
        "installArrayRegistry",
        "readProgress",
        "startArraywireServer",
        "test",
        "waitForArray",
      ]
    `);
  });
});
