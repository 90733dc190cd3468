import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Real HTTP servers, SQLite files and (in main.test.ts) a child process:
    // fast alone, slower on a busy 2-core machine. No test asserts a duration.
    testTimeout: 20_000,
  },
});
