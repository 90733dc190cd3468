import type { Redis } from "@m2m/store-kit";
import { StoreUnavailableError, type FailureBucket, type FailureCounts, type FailureReservation } from "@m2m/token-issuer";

/**
 * Checks every bucket, then counts in every bucket, in one script: Redis runs
 * a script atomically, so no other instance's attempt can come between the
 * check and the count. Each bucket is a hash {count, pending, reset} that
 * expires when its window ends (reset, ms since the epoch): `count` holds
 * failures and attempts still being checked, `pending` the latter.
 *
 * KEYS: one per bucket. ARGV: now, windowMs, then each bucket's limit.
 * Returns {0, ms until the refusing window ends, 1 when only attempts still
 * being checked put it over} or {1, reset of each bucket}.
 */
const RESERVE = `
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local resets = {}
local busy = nil
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'count', 'pending', 'reset')
  local count, pending, reset = tonumber(state[1]), tonumber(state[2]) or 0, tonumber(state[3])
  if reset and reset > now then
    local limit = tonumber(ARGV[i + 2])
    if count - pending > limit then return {0, reset - now, 0} end
    if count > limit and not busy then busy = reset - now end
    resets[i] = reset
  else
    resets[i] = 0
  end
end
if busy then return {0, busy, 1} end
local answer = {1}
for i, key in ipairs(KEYS) do
  local reset = resets[i]
  if reset == 0 then
    reset = now + window
    redis.call('HSET', key, 'count', 1, 'pending', 1, 'reset', reset)
    redis.call('PEXPIREAT', key, reset)
  else
    redis.call('HINCRBY', key, 'count', 1)
    redis.call('HINCRBY', key, 'pending', 1)
  end
  answer[i + 1] = reset
end
return answer`;

/**
 * Ends a reservation, only in the window it was counted in (a window that
 * ended and was started again since is left alone): no longer pending, and,
 * unless it failed, no longer counted.
 * KEYS: the buckets; ARGV: 1 if it failed, then the reset of each bucket's window at reservation.
 */
const FINISH = `
local failed = ARGV[1] == '1'
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('HGET', key, 'reset')) == tonumber(ARGV[i + 1]) then
    redis.call('HINCRBY', key, 'pending', -1)
    if not failed then redis.call('HINCRBY', key, 'count', -1) end
  end
end
return 0`;

type Scripted = Redis & {
  reserveFailures(...args: (string | number)[]): Promise<number[]>;
  finishFailures(...args: (string | number)[]): Promise<number>;
};

/**
 * {@link FailureCounts} in Redis, shared by every auth-server instance: the
 * limits of the failure limiter hold over all of them together, exactly as
 * in one process (same fixed windows, same check-all-then-count, same
 * release and settle). Keys expire with their window, so memory is bounded by what one
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
    redis.defineCommand("finishFailures", { lua: FINISH });
    this.redis = redis as Scripted;
  }

  async reserve(buckets: readonly FailureBucket[], windowMs: number, now: number): Promise<FailureReservation> {
    const keys = buckets.map((bucket) => `${this.prefix}${bucket.table}:${bucket.key}`);
    const answer = await this.redis
      .reserveFailures(keys.length, ...keys, now, windowMs, ...buckets.map((bucket) => bucket.limit))
      .catch(unavailable);
    if (answer[0] === 0) return { granted: false, retryAfterMs: answer[1]!, busy: answer[2] === 1 };
    const resets = answer.slice(1);
    let done = false;
    const finish = async (failed: boolean) => {
      if (done) return;
      done = true;
      await this.redis.finishFailures(keys.length, ...keys, failed ? 1 : 0, ...resets).catch(unavailable);
    };
    return { granted: true, release: () => finish(false), settle: () => finish(true) };
  }
}

function unavailable(error: unknown): never {
  throw Object.assign(new StoreUnavailableError("redis: failure counts"), { cause: error });
}
