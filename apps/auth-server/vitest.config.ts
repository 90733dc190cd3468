import { defineConfig } from "vitest/config";

// Process tests spawn the built server and generate RSA keys; on a loaded
// 2-core machine that can take seconds, which is slowness, not failure.
export default defineConfig({
  test: { testTimeout: 30_000, hookTimeout: 30_000 },
});
