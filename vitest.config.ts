import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "shared/**/*.test.ts",
      "server/**/*.test.ts",
      "client/**/*.test.ts",
      "cli/**/*.test.ts",
      "vite/**/*.test.ts",
      "bench/**/*.test.ts",
      "scripts/**/*.test.ts",
    ],
    testTimeout: 60_000,
    // In CI (CI=true, set by .ci/run) a failed test runs once more: a failure that repeats still
    // fails the run, and one that passed on its second try is named in npm test's summary.
    retry: process.env.CI ? 1 : 0,
    hookTimeout: 60_000,
  },
});
