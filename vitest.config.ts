import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // The e2e suite starts real processes on ephemeral ports; keep files isolated.
    pool: "forks",
  },
});
