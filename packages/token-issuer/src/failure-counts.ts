/**
 * The tables the failure limiter counts in. Registered clients and trusted
 * pairs are protected: never evicted to make room, so no flood of made-up
 * ids or addresses can reset a real client's count. Unknown client ids and
 * addresses are bounded: a store may drop their oldest windows when full.
 */
export type FailureTable = "trusted-pair" | "registered-client" | "unknown-client" | "address";

/** Tables whose entries a store may evict when it runs out of room. */
export const BOUNDED_TABLES: ReadonlySet<FailureTable> = new Set(["unknown-client", "address"]);

/** One counter an attempt is counted in: its table, its key there, and how many failures it tolerates per window. */
export interface FailureBucket {
  readonly table: FailureTable;
  readonly key: string;
  /** More than this many counted in one window, and the bucket refuses. */
  readonly limit: number;
}

/** The answer to {@link FailureCounts.reserve}. */
export type FailureReservation =
  /**
   * Counted in every bucket, as an attempt still being checked. Then either
   * `release`, which takes it back (the attempt succeeded, or was not a
   * guess), or `settle`, which leaves it counted as a failure.
   */
  | { readonly granted: true; release(): Promise<void>; settle(): Promise<void> }
  /**
   * Counted nowhere: a bucket is over its limit until its window ends,
   * `retryAfterMs` from now. `busy` when the bucket is over it only with
   * attempts still being checked: it may have room once they settle.
   */
  | { readonly granted: false; readonly retryAfterMs: number; readonly busy: boolean };

/**
 * Failure counts in fixed windows, shared by every process that must see
 * the same counts (one process's memory, or a Redis shared by every
 * instance). The failure limiter's whole guarantee rests on one property of
 * {@link FailureCounts.reserve}: checking every bucket and counting in every
 * bucket happen as one atomic step, so concurrent attempts, at one instance
 * or at several, always see each other's reservations.
 */
export interface FailureCounts {
  /**
   * Atomically: when any bucket holds more than its `limit` in its live
   * window (failures and attempts still being checked together), counts
   * nothing and says when that window ends, and whether only attempts still
   * being checked put it over; otherwise counts one in every bucket (a bucket
   * with no live window starts one of `windowMs` at `now`). A reservation is
   * released or settled only in the windows it was counted in: a window that
   * has ended since is left alone.
   */
  reserve(buckets: readonly FailureBucket[], windowMs: number, now: number): Promise<FailureReservation>;
}

interface Window {
  resetAt: number;
  /** Failures and attempts still being checked. */
  count: number;
  /** Attempts still being checked, of `count`. */
  pending: number;
}

/**
 * {@link FailureCounts} in this process's memory: exact for one process,
 * forgotten at restart. Bounded tables hold at most `maxEntries` keys each,
 * the oldest window going first; protected tables are never evicted.
 */
export class MemoryFailureCounts implements FailureCounts {
  private readonly tables = new Map<FailureTable, Map<string, Window>>();

  constructor(private readonly maxEntries = 10_000) {}

  async reserve(buckets: readonly FailureBucket[], windowMs: number, now: number): Promise<FailureReservation> {
    // synchronous from here on: no other attempt runs between the check and the count
    const windows = buckets.map((bucket) => this.window(bucket, windowMs, now));
    for (const [i, window] of windows.entries()) {
      if (window.count - window.pending > buckets[i]!.limit) return { granted: false, retryAfterMs: window.resetAt - now, busy: false };
    }
    const full = windows.find((window, i) => window.count > buckets[i]!.limit);
    if (full !== undefined) return { granted: false, retryAfterMs: full.resetAt - now, busy: true };
    for (const window of windows) {
      window.count++;
      window.pending++;
    }
    let done = false;
    // a window replaced since (ended, or evicted) is no longer in any table: changing it changes nothing
    const finish = (failed: boolean) => {
      if (done) return;
      done = true;
      for (const window of windows) {
        window.pending--;
        if (!failed) window.count--;
      }
    };
    return {
      granted: true,
      release: async () => finish(false),
      settle: async () => finish(true),
    };
  }

  /** The live window of a bucket, a new one if it has none or its window ended. */
  private window(bucket: FailureBucket, windowMs: number, now: number): Window {
    let table = this.tables.get(bucket.table);
    if (table === undefined) this.tables.set(bucket.table, (table = new Map()));
    const window = table.get(bucket.key);
    if (window !== undefined && window.resetAt > now) return window;
    table.delete(bucket.key);
    if (BOUNDED_TABLES.has(bucket.table)) while (table.size >= this.maxEntries) table.delete(table.keys().next().value!);
    const fresh = { resetAt: now + windowMs, count: 0, pending: 0 };
    table.set(bucket.key, fresh);
    return fresh;
  }
}
