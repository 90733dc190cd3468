import { defineConfig } from "vitest/config";

// Key generation (RSA) can take seconds on a loaded machine: slowness, not failure.
export default defineConfig({
  test: { testTimeout: 30_000 },
});
