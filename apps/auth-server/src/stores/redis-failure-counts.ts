import type { Redis } from "@m2m/store-kit";
import { StoreUnavailableError, type FailureBucket, type FailureCounts, type FailureReservation } from "@m2m/token-issuer";

/**
 * Checks every bucket, then counts in every bucket, in one script: Redis runs
 * a script atomically, so no other instance's attempt can come between the
 * check and the count. Each bucket is a hash {count, reset} that expires
 * when its window ends (reset, ms since the epoch).
 *
 * KEYS: one per bucket. ARGV: now, windowMs, then each bucket's limit.
 * Returns {0, ms until the refusing window ends} or {1, reset of each bucket}.
 */
const RESERVE = `
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local resets = {}
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'count', 'reset')
  local count, reset = tonumber(state[1]), tonumber(state[2])
  if reset and reset > now then
    if count > tonumber(ARGV[i + 2]) then return {0, reset - now} end
    resets[i] = reset
  else
    resets[i] = 0
  end
end
local answer = {1}
for i, key in ipairs(KEYS) do
  local reset = resets[i]
  if reset == 0 then
    reset = now + window
    redis.call('HSET', key, 'count', 1, 'reset', reset)
    redis.call('PEXPIREAT', key, reset)
  else
    redis.call('HINCRBY', key, 'count', 1)
  end
  answer[i + 1] = reset
end
return answer`;

/**
 * Takes one back from each bucket, only in the window it was counted in: a
 * window that ended and was started again since is left alone.
 * KEYS: the buckets; ARGV: the reset of each bucket's window at reservation.
 */
const RELEASE = `
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('HGET', key, 'reset')) == tonumber(ARGV[i]) then redis.call('HINCRBY', key, 'count', -1) end
end
return 0`;

type Scripted = Redis & {
  reserveFailures(...args: (string | number)[]): Promise<number[]>;
  releaseFailures(...args: (string | number)[]): Promise<number>;
};

/**
 * {@link FailureCounts} in Redis, shared by every auth-server instance: the
 * limits of the failure limiter hold over all of them together, exactly as
 * in one process (same fixed windows, same check-all-then-count, same
 * release). Keys expire with their window, so memory is bounded by what one
 * minute of failures can write; the bounded tables need no eviction of their
 * own, and the protected ones are never evicted (run Redis with
 * `maxmemory-policy noeviction`: when full, it refuses writes, and the
 * token endpoint answers 503 rather than forget a count).
 *
 * Not rate-limiter-flexible: it counts one key per call, and the limiter's
 * guarantee needs several buckets checked and counted as one step, and a
 * release bound to the window it was counted in.
 */
export class RedisFailureCounts implements FailureCounts {
  private readonly redis: Scripted;

  constructor(
    redis: Redis,
    private readonly prefix = "m2m:auth:failures:",
  ) {
    redis.defineCommand("reserveFailures", { lua: RESERVE });
    redis.defineCommand("releaseFailures", { lua: RELEASE });
    this.redis = redis as Scripted;
  }

  async reserve(buckets: readonly FailureBucket[], windowMs: number, now: number): Promise<FailureReservation> {
    const keys = buckets.map((bucket) => `${this.prefix}${bucket.table}:${bucket.key}`);
    const answer = await this.redis
      .reserveFailures(keys.length, ...keys, now, windowMs, ...buckets.map((bucket) => bucket.limit))
      .catch(unavailable);
    if (answer[0] === 0) return { granted: false, retryAfterMs: answer[1]! };
    const resets = answer.slice(1);
    let released = false;
    return {
      granted: true,
      release: async () => {
        if (released) return;
        released = true;
        await this.redis.releaseFailures(keys.length, ...keys, ...resets).catch(unavailable);
      },
    };
  }
}

function unavailable(error: unknown): never {
  throw Object.assign(new StoreUnavailableError("redis: failure counts"), { cause: error });
}
