import type { AppName } from "./fault-stack.js";

/**
 * Configuration that keeps recovery quick, so a test waits seconds after a
 * fault ends, not the production backoff. `RETRY_MAX_DELAY_MS` caps
 * order-service's per-order backoff (default 30 s; its first ceiling is
 * 500 ms, doubling per attempt: apps/order-service/src/orders/settler.ts).
 */
export const FAST_RECOVERY: Partial<Record<AppName, Record<string, string>>> = {
  "order-service": { RETRY_MAX_DELAY_MS: "1000" },
};

/** How long a test waits for pending orders to settle once the fault is gone. */
export const SETTLE_TIMEOUT_MS = 30_000;
