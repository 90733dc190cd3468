/** The timing facts of a signing key that decide its role. */
export interface KeyTiming {
  readonly kid: string;
  /** When it starts signing, ms since the epoch. */
  readonly activatesAt: number;
}

/**
 * The life of signing keys, computed from their activation times and the
 * clock alone, so every process reading the same key directory agrees
 * without coordination:
 *
 * - upcoming (activates in the future): published, not signing yet, so
 *   resource servers can fetch it before the first token it signs arrives;
 * - current: the most recently activated key; it signs;
 * - retiring: replaced by a newer key less than `retainMs` ago (access token
 *   lifetime plus leeway): still published, since tokens it signed are live;
 * - expired: replaced longer ago than that; no longer published, its file
 *   may be deleted.
 */
export class KeySchedule<K extends KeyTiming> {
  /** Sorted by activation time, oldest first. */
  readonly keys: readonly K[];

  constructor(
    keys: readonly K[],
    private readonly retainMs: number,
  ) {
    this.keys = [...keys].sort((a, b) => a.activatesAt - b.activatesAt || a.kid.localeCompare(b.kid));
  }

  /** The key that signs at `now`: the newest activated one (or, if none has activated yet, the oldest). */
  current(now: number): K | undefined {
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (this.keys[i]!.activatesAt <= now) return this.keys[i];
    }
    return this.keys[0];
  }

  /** Keys to publish at `now`: upcoming, current and retiring ones. */
  published(now: number): K[] {
    const current = this.current(now);
    return this.keys.filter((key) => key === current || !this.isExpired(key, now));
  }

  /** Keys that were replaced longer than the retention ago and can be removed. */
  expired(now: number): K[] {
    const current = this.current(now);
    return this.keys.filter((key) => key !== current && this.isExpired(key, now));
  }

  /** The newest key (the last one to activate), whether or not active yet. */
  newest(): K | undefined {
    return this.keys[this.keys.length - 1];
  }

  private isExpired(key: K, now: number): boolean {
    const index = this.keys.indexOf(key);
    const successor = this.keys[index + 1];
    // A key is replaced when its successor activates; it stays until every token it signed has expired.
    return successor !== undefined && successor.activatesAt <= now && successor.activatesAt + this.retainMs <= now;
  }
}
