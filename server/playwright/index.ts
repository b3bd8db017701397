/**
 * arraywire/playwright: Playwright fixtures and assertions for suites that move large arrays.
 * - `test`: Playwright's test with a per-worker ArrayServer (`arrays` worker option,
 *   `arraywire.url` and `arraywire.publish` in tests) and a page registry in every page;
 * - `expectArray(page, ref)`: assertions computed in the page (checksum, length, shape, dtype,
 *   sampled values, small-array equality), with messages that say where and how arrays differ;
 * - `waitForArray` / `readProgress`: a page's transfer, from outside.
 * Needs `@playwright/test` (an optional peer dependency of arraywire).
 */
export type { ArrayAssertions, ExpectArrayOptions } from "./expect-array.ts";
export {
  ArrayAssertionError,
  arrayChecksum,
  DEFAULT_EXPECT_TIMEOUT_MS,
  expectArray,
  MAX_EQUAL_ELEMENTS,
  MAX_SAMPLED_INDICES,
} from "./expect-array.ts";
export type {
  ArraywireFixture,
  ArraywireTestFixtures,
  ArraywireWorkerFixtures,
  ArraywireWorkerOptions,
} from "./fixture.ts";
export { test } from "./fixture.ts";
export type { ArrayRef, PageLike } from "./inspect.ts";
export { installArrayRegistry } from "./page-registry.ts";
export type { ArraySpec, ArraywireServer } from "./test-server.ts";
export { startArraywireServer } from "./test-server.ts";
export type { ArrayTransfer, WaitForArrayOptions } from "./wait.ts";
export { ArrayTransferError, readProgress, waitForArray } from "./wait.ts";
