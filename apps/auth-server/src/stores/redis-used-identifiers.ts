import type { Redis } from "@m2m/store-kit";
import { ReplayQuotaError, StoreUnavailableError, type UsedIdentifiers } from "@m2m/token-issuer";

/**
 * Set-if-absent with expiry, and the owner's quota, in one atomic script.
 * Each owner (client) has one sorted set: member = identifier, score = when
 * it expires (ms). Expired members go first; then a live member is a replay
 * (0); a full share is a refusal (-1); otherwise the identifier is added (1)
 * and the set lives as long as its longest-lived member.
 *
 * KEYS[1]: the owner's set. ARGV: id, expiresAt, now, maxPerOwner.
 */
const USE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1`;

type Scripted = Redis & { useIdentifier(...args: (string | number)[]): Promise<number> };

/**
 * {@link UsedIdentifiers} in Redis, shared by every auth-server instance: a
 * client assertion (or, later, a DPoP proof) used at one instance is refused
 * at every other, until it expires. Recording is an atomic set-if-absent
 * with expiry: a sorted set per client, scored by expiry, so that each
 * client's share of live identifiers can be counted in the same step
 * ({@link ReplayQuotaError} beyond it: one client minting assertions in a
 * loop is refused itself, and nobody else).
 *
 * Expiry is judged by the clock of the instance that records: instances'
 * clocks must agree within the assertion leeway (30 s), as NTP keeps them.
 */
export class RedisUsedIdentifiers implements UsedIdentifiers {
  private readonly redis: Scripted;

  constructor(
    redis: Redis,
    private readonly maxPerOwner = 10_000,
    private readonly prefix = "m2m:auth:used:",
  ) {
    redis.defineCommand("useIdentifier", { numberOfKeys: 1, lua: USE });
    this.redis = redis as Scripted;
  }

  async use(owner: string, id: string, expiresAt: number, now: number): Promise<boolean> {
    const answer = await this.redis.useIdentifier(`${this.prefix}${owner}`, id, expiresAt, now, this.maxPerOwner).catch((error: unknown) => {
      throw Object.assign(new StoreUnavailableError("redis: used identifiers"), { cause: error });
    });
    if (answer === -1) throw new ReplayQuotaError("replay quota of this client used up");
    return answer === 1;
  }
}
