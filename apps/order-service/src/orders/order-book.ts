import type { Order, OrderRequest } from "./order.js";

/** A pending order as the settlement loop sees it. */
export interface PendingOrder extends Order {
  attempts: number;
}

export type CreateResult =
  | { kind: "created"; order: Order }
  | { kind: "replayed"; order: Order }
  /** The key was used before with another body. */
  | { kind: "conflict" };

/** How an attempt ended, for {@link OrderBook.settle}. */
export type Settlement = { status: "paid"; chargeId: string } | { status: "payment_failed"; reason: string };

/**
 * The orders and their settle queue: each pending order carries its retry
 * schedule (`attempts`, next attempt due). In a SQLite file under `DATA_DIR`
 * (one process), or in PostgreSQL shared by every instance (`DATABASE_URL`),
 * where an order is worked on by one instance at a time: the instance that
 * created it, or the one that claimed it once due, holds it on a lease until
 * its attempt ends, and an instance that dies lets its leases run out, so
 * the others settle its orders.
 */
export interface OrderBook {
  /**
   * Stores a new `pending` order (held by this instance for its first
   * attempt), or with an `Idempotency-Key` seen before, returns that key's
   * order (same body) or a conflict (another body). Resolves only once the
   * order is durable: a charge about it may leave right after.
   */
  create(request: OrderRequest, idempotencyKey: string | undefined, now: number): Promise<CreateResult>;
  get(id: string): Promise<PendingOrder | undefined>;
  /** Records the outcome of a pending order; a settled order never changes again. */
  settle(id: string, outcome: Settlement, now: number): Promise<boolean>;
  /** Counts a failed attempt, sets when the next one is due, and lets go of the order. */
  reschedule(id: string, nextAttemptAt: number, lastError: string, now: number): Promise<void>;
  /**
   * Pending orders due now that no one holds, oldest first, now held by this
   * instance; never one of `skip` (the orders this process is attempting
   * already: in SQLite an order in flight is still pending and due, and
   * taking it again would fill a free slot with nothing to do).
   */
  claimDue(now: number, limit: number, skip?: readonly string[]): Promise<PendingOrder[]>;
  /** After a start: every pending order is due now, whatever backoff it was in. Returns how many are pending. */
  resumeAll(now: number): Promise<number>;
  readonly open: boolean;
  /** Lets go of the orders this instance holds (the others may take them at once), then closes. */
  close(): Promise<void>;
}
