/** How failed token requests are retried. Every bound applies at once. */
export interface RetryPolicy {
  /** Requests in total, the first included (default 4). */
  maxAttempts: number;
  /** First backoff ceiling, milliseconds (default 200); doubles each retry. */
  baseDelayMs: number;
  /** Largest backoff ceiling, milliseconds (default 5,000). */
  maxDelayMs: number;
  /** No retry starts after this much time since the first request, milliseconds (default 10,000). */
  maxElapsedMs: number;
}

/** 4 requests at most, backoff ceilings 200 ms doubling to 5 s, no retry after 10 s. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5_000, maxElapsedMs: 10_000 };

/**
 * Exponential backoff with full jitter (a uniformly random delay between 0
 * and the ceiling), so a fleet of clients that failed together does not
 * retry together. A server's `Retry-After` is a floor, never shortened.
 *
 * @param retry 0 for the first retry.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number, retryAfterSeconds?: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  const jittered = Math.floor(random() * ceiling);
  return retryAfterSeconds === undefined ? jittered : Math.max(retryAfterSeconds * 1000, jittered);
}

/**
 * `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, as
 * seconds from `now` (ms since the epoch); `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
