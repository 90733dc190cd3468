import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Each file starts real processes; one file at a time keeps a 2-core machine calm.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
