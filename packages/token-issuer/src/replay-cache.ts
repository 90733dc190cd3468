/**
 * Remembers one-time identifiers (client assertion `jti`s, RFC 7523 §3
 * item 7) until they expire, bounded in size. Only identifiers from
 * assertions whose signature verified are added, so only registered clients
 * can fill it.
 */
export class ReplayCache {
  private readonly entries = new Map<string, number>();
  private insertsSinceSweep = 0;

  constructor(private readonly maxEntries = 100_000) {}

  /**
   * Records `id` as used until `expiresAt` (ms). Returns false when it was
   * already used and has not expired: a replay.
   */
  use(id: string, expiresAt: number, now: number): boolean {
    const seen = this.entries.get(id);
    if (seen !== undefined && seen > now) return false;
    // Sweep now and then (amortised O(1)), and always before refusing for lack of room.
    if (++this.insertsSinceSweep >= 1000 || this.entries.size >= this.maxEntries) this.sweep(now);
    if (this.entries.size >= this.maxEntries) {
      // Never forget a live identifier to make room: refusing is safe, forgetting is not.
      throw new RangeError("replay cache full");
    }
    this.entries.set(id, expiresAt);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    this.insertsSinceSweep = 0;
    for (const [id, expiresAt] of this.entries) {
      if (expiresAt <= now) this.entries.delete(id);
    }
  }
}
