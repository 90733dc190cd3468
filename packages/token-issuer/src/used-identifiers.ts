/** Thrown when one owner holds its whole share of the cache: refuse that owner only. */
export class ReplayQuotaError extends RangeError {
  override name = "ReplayQuotaError";
}

/**
 * One-time identifiers already used (client assertion `jti`s, RFC 7523 §3
 * item 7), each remembered until it expires, so that a replay is refused by
 * every process that shares the store and after a restart. Only identifiers
 * from assertions whose signature verified are recorded, so only the holders
 * of a registered key can add any.
 */
export interface UsedIdentifiers {
  /**
   * Records `id` of `owner` as used until `expiresAt` (ms), atomically.
   * Resolves false when it was already used and has not expired: a replay.
   * Rejects with {@link ReplayQuotaError} when the owner holds its whole
   * share of live identifiers.
   */
  use(owner: string, id: string, expiresAt: number, now: number): Promise<boolean>;
}

/**
 * {@link UsedIdentifiers} in this process's memory, bounded in size:
 * forgotten at restart, so only for tests and single-process deployments
 * that accept that (the auth-server keeps them in its database). Each owner
 * (client) may hold at most `maxPerOwner` live identifiers, so one client
 * minting assertions in a loop is refused itself instead of locking every
 * other client out.
 */
export class MemoryUsedIdentifiers implements UsedIdentifiers {
  private readonly entries = new Map<string, { owner: string; expiresAt: number }>();
  private readonly perOwner = new Map<string, number>();
  private insertsSinceSweep = 0;

  constructor(
    private readonly maxEntries = 100_000,
    private readonly maxPerOwner = Math.max(1, Math.floor(maxEntries / 10)),
  ) {}

  /** {@link UsedIdentifiers.use}; also rejects with a `RangeError` when the store is full of live identifiers. */
  async use(owner: string, id: string, expiresAt: number, now: number): Promise<boolean> {
    const key = `${owner}\0${id}`;
    const seen = this.entries.get(key);
    if (seen !== undefined && seen.expiresAt > now) return false;
    const held = this.perOwner.get(owner) ?? 0;
    // Sweep now and then (amortised O(1)), and always before refusing for lack of room.
    if (++this.insertsSinceSweep >= 1000 || this.entries.size >= this.maxEntries || held >= this.maxPerOwner) {
      this.sweep(now);
    }
    // Never forget a live identifier to make room: refusing is safe, forgetting is not.
    if ((this.perOwner.get(owner) ?? 0) >= this.maxPerOwner) throw new ReplayQuotaError("replay quota of this client used up");
    if (this.entries.size >= this.maxEntries) throw new RangeError("replay cache full");
    if (seen !== undefined) this.forget(key, seen.owner);
    this.entries.set(key, { owner, expiresAt });
    this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  private forget(key: string, owner: string): void {
    this.entries.delete(key);
    const held = (this.perOwner.get(owner) ?? 1) - 1;
    if (held === 0) this.perOwner.delete(owner);
    else this.perOwner.set(owner, held);
  }

  private sweep(now: number): void {
    this.insertsSinceSweep = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.forget(key, entry.owner);
    }
  }
}
