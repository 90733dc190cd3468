import { randomUUID } from "node:crypto";
import type { Pool } from "@m2m/store-kit";
import { hashOrderRequest, type Order, type OrderRequest, type OrderStatus } from "./order.js";
import type { CreateResult, OrderBook, PendingOrder, Settlement } from "./order-book.js";

interface Row {
  id: string;
  customer_id: string;
  amount: string;
  currency: string;
  status: OrderStatus;
  charge_id: string | null;
  reason: string | null;
  request_hash: string;
  attempts: number;
  created_at: Date;
  updated_at: Date;
}

export interface PostgresOrderBookOptions {
  /** Names this instance on the orders it holds (default: a random id per process). */
  instanceId?: string;
  /**
   * How long an instance holds an order it works on, ms. Longer than any
   * attempt (a charge gives up after 10 s), so a live instance never loses
   * an order mid-attempt; when an instance dies, its orders wait this long
   * before the others take them.
   */
  leaseMs: number;
}

/**
 * The {@link OrderBook} in PostgreSQL, shared by every order-service
 * instance. The settle queue is the `orders` table itself: an instance
 * claims due orders with `FOR UPDATE SKIP LOCKED` (instances claiming at the
 * same moment skip each other's rows instead of waiting for them) and marks
 * them with a lease; an order it created is leased to it from the start. An
 * attempt ends by settling the order or rescheduling it, which ends the lease.
 * An instance that dies leaves leases that run out, and the others take
 * those orders then: nothing it accepted is left behind.
 *
 * The lease is what keeps two instances from charging one order at once;
 * the order id sent as `Idempotency-Key` is what keeps one order from ever
 * being charged twice, lease or no lease.
 */
export class PostgresOrderBook implements OrderBook {
  readonly instanceId: string;
  readonly #leaseMs: number;
  #open = true;

  constructor(
    private readonly pool: Pool,
    options: PostgresOrderBookOptions,
  ) {
    this.instanceId = options.instanceId ?? randomUUID();
    this.#leaseMs = options.leaseMs;
  }

  async create(request: OrderRequest, idempotencyKey: string | undefined, now: number): Promise<CreateResult> {
    const requestHash = hashOrderRequest(request);
    const stamp = new Date(now);
    // the unique key decides a race between two instances, not a look before the insert
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO orders (id, customer_id, amount, currency, status, idempotency_key, request_hash, next_attempt_at, leased_by, lease_until, created_at, updated_at)
       VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10, $10)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING *`,
      [randomUUID(), request.customerId, request.amount, request.currency, idempotencyKey ?? null, requestHash, now, this.instanceId, now + this.#leaseMs, stamp],
    );
    if (rows[0]) return { kind: "created", order: toOrder(rows[0]) };
    const existing = (await this.pool.query<Row>("SELECT * FROM orders WHERE idempotency_key = $1", [idempotencyKey])).rows[0]!;
    return existing.request_hash === requestHash ? { kind: "replayed", order: toOrder(existing) } : { kind: "conflict" };
  }

  async get(id: string): Promise<PendingOrder | undefined> {
    const row = (await this.pool.query<Row>("SELECT * FROM orders WHERE id = $1", [id])).rows[0];
    return row && toPending(row);
  }

  async settle(id: string, outcome: Settlement, now: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE orders SET status = $2, charge_id = $3, reason = $4, updated_at = $5, last_error = NULL, leased_by = NULL, lease_until = NULL
       WHERE id = $1 AND status = 'pending'`,
      [id, outcome.status, outcome.status === "paid" ? outcome.chargeId : null, outcome.status === "payment_failed" ? outcome.reason : null, new Date(now)],
    );
    return rowCount === 1;
  }

  async reschedule(id: string, nextAttemptAt: number, lastError: string, now: number): Promise<void> {
    // only while it is still ours: an order taken over after a stall is the other instance's to schedule
    await this.pool.query(
      `UPDATE orders SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, updated_at = $4, leased_by = NULL, lease_until = NULL
       WHERE id = $1 AND status = 'pending' AND leased_by = $5`,
      [id, nextAttemptAt, lastError, new Date(now), this.instanceId],
    );
  }

  async claimDue(now: number, limit: number, skip: readonly string[] = []): Promise<PendingOrder[]> {
    const { rows } = await this.pool.query<Row>(
      `UPDATE orders SET leased_by = $1, lease_until = $2
       WHERE id IN (
         SELECT id FROM orders
         WHERE status = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
           AND NOT (id = ANY($5::text[]))
         ORDER BY next_attempt_at
         LIMIT $4
         FOR UPDATE SKIP LOCKED
       )
       RETURNING *`,
      [this.instanceId, now + this.#leaseMs, now, limit, skip],
    );
    return rows.map(toPending);
  }

  async resumeAll(now: number): Promise<number> {
    const { rowCount } = await this.pool.query("UPDATE orders SET next_attempt_at = LEAST(next_attempt_at, $1) WHERE status = 'pending'", [now]);
    return rowCount ?? 0;
  }

  get open(): boolean {
    return this.#open;
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    try {
      // a clean stop hands its orders over at once, instead of after the lease
      await this.pool.query("UPDATE orders SET leased_by = NULL, lease_until = NULL WHERE leased_by = $1 AND status = 'pending'", [this.instanceId]);
    } finally {
      await this.pool.end();
    }
  }
}

function toOrder(row: Row): Order {
  return {
    id: row.id,
    status: row.status,
    customerId: row.customer_id,
    amount: Number(row.amount),
    currency: row.currency,
    ...(row.charge_id === null ? {} : { chargeId: row.charge_id }),
    ...(row.reason === null ? {} : { reason: row.reason }),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toPending(row: Row): PendingOrder {
  return { ...toOrder(row), attempts: row.attempts };
}
