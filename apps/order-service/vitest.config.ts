import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Real HTTP servers, SQLite files and (in main.test.ts) a child process:
    // fast alone, slower on a busy 2-core machine. No test asserts a duration,
    // except payment-client.test.ts that a deadline holds, with a second of slack.
    testTimeout: 20_000,
  },
});
