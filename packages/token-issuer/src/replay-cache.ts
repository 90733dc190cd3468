/** Thrown when one owner holds its whole share of the cache: refuse that owner only. */
export class ReplayQuotaError extends RangeError {
  override name = "ReplayQuotaError";
}

/**
 * Remembers one-time identifiers (client assertion `jti`s, RFC 7523 §3
 * item 7) until they expire, bounded in size. Only identifiers from
 * assertions whose signature verified are added, so only registered clients
 * can fill it; and each owner (client) may hold at most `maxPerOwner` live
 * identifiers, so one client minting assertions in a loop is refused itself
 * instead of locking every other client out.
 */
export class ReplayCache {
  private readonly entries = new Map<string, { owner: string; expiresAt: number }>();
  private readonly perOwner = new Map<string, number>();
  private insertsSinceSweep = 0;

  constructor(
    private readonly maxEntries = 100_000,
    private readonly maxPerOwner = Math.max(1, Math.floor(maxEntries / 10)),
  ) {}

  /**
   * Records `id` of `owner` as used until `expiresAt` (ms). Returns false
   * when it was already used and has not expired: a replay. Throws
   * {@link ReplayQuotaError} when the owner holds its whole share, and a
   * `RangeError` when the cache is full of live identifiers.
   */
  use(owner: string, id: string, expiresAt: number, now: number): boolean {
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
