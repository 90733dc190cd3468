import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { hashOrderRequest, type Order, type OrderRequest, type OrderStatus } from "./order.js";
import type { CreateResult, OrderBook, PendingOrder, Settlement } from "./order-book.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  id               TEXT PRIMARY KEY,
  customer_id      TEXT NOT NULL,
  amount           INTEGER NOT NULL CHECK (amount > 0),
  currency         TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'payment_failed')),
  charge_id        TEXT,
  reason           TEXT,
  idempotency_key  TEXT UNIQUE,
  request_hash     TEXT NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  last_error       TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_due ON orders (next_attempt_at) WHERE status = 'pending';
`;

interface Row {
  id: string;
  customer_id: string;
  amount: number;
  currency: string;
  status: OrderStatus;
  charge_id: string | null;
  reason: string | null;
  idempotency_key: string | null;
  request_hash: string;
  attempts: number;
  created_at: string;
  updated_at: string;
}

interface PendingCreate {
  request: OrderRequest;
  idempotencyKey: string | undefined;
  now: number;
  resolve(result: CreateResult): void;
  reject(error: unknown): void;
}

/**
 * The {@link OrderBook} in SQLite (better-sqlite3, WAL), for one process: the
 * settler's own map keeps one attempt per order, so no lease is needed. A new
 * order is synced to disk (`synchronous = FULL`) before its creation
 * resolves, hence before any call about it leaves the service: no crash can
 * lose an order whose charge was sent. Other writes commit before their
 * method returns.
 */
export class SqliteOrderBook implements OrderBook {
  readonly #db: Database.Database;
  readonly #pending: PendingCreate[] = [];
  readonly #statements;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma("journal_mode = WAL");
    // Durable against a process crash; creations are also made durable
    // against a power loss (see create()).
    this.#db.pragma("synchronous = NORMAL");
    this.#db.pragma("busy_timeout = 5000");
    this.#db.exec(SCHEMA);
    this.#statements = {
      byId: this.#db.prepare<[string], Row>("SELECT * FROM orders WHERE id = ?"),
      byKey: this.#db.prepare<[string], Row>("SELECT * FROM orders WHERE idempotency_key = ?"),
      insert: this.#db.prepare(
        `INSERT INTO orders (id, customer_id, amount, currency, status, idempotency_key, request_hash, next_attempt_at, created_at, updated_at)
         VALUES (@id, @customerId, @amount, @currency, 'pending', @idempotencyKey, @requestHash, @nextAttemptAt, @now, @now)`,
      ),
      settle: this.#db.prepare(
        `UPDATE orders SET status = @status, charge_id = @chargeId, reason = @reason, updated_at = @now, last_error = NULL
         WHERE id = @id AND status = 'pending'`,
      ),
      reschedule: this.#db.prepare(
        `UPDATE orders SET attempts = attempts + 1, next_attempt_at = @nextAttemptAt, last_error = @lastError, updated_at = @now
         WHERE id = @id AND status = 'pending'`,
      ),
      due: this.#db.prepare<[number, string, number], Row>(
        `SELECT * FROM orders WHERE status = 'pending' AND next_attempt_at <= ?
         AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY next_attempt_at LIMIT ?`,
      ),
      resume: this.#db.prepare("UPDATE orders SET next_attempt_at = MIN(next_attempt_at, ?) WHERE status = 'pending'"),
    };
  }

  /**
   * Stores a new `pending` order, or with an `Idempotency-Key` seen before,
   * returns that key's order (same body) or a conflict (another body).
   *
   * The charge leaves right after this, so the order must survive even a
   * power loss (`synchronous = FULL`), or a customer could be charged for an
   * order nobody has. An fsync per order would block the event loop for
   * every request, so creations are committed in groups: all those asked
   * for in one turn of the event loop share one transaction and one fsync
   * (group commit). Each is a savepoint of its own, so one failure fails
   * only its order. Later updates need no fsync: losing one only means
   * settling the order again, which the Idempotency-Key makes harmless.
   */
  create(request: OrderRequest, idempotencyKey: string | undefined, now: number): Promise<CreateResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ request, idempotencyKey, now, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#commitPending());
    });
  }

  #commitPending(): void {
    const batch = this.#pending.splice(0);
    const results: (() => void)[] = [];
    try {
      this.#db.pragma("synchronous = FULL");
      this.#db.transaction(() => {
        for (const entry of batch) {
          try {
            // a nested transaction is a savepoint: a failure undoes only this order
            const result = this.#db.transaction(() => this.#createOne(entry))();
            results.push(() => entry.resolve(result));
          } catch (error) {
            results.push(() => entry.reject(error));
          }
        }
      }).immediate();
    } catch (error) {
      for (const entry of batch) entry.reject(error);
      return;
    } finally {
      if (this.#db.open) this.#db.pragma("synchronous = NORMAL");
    }
    // answered only once the whole group is committed and synced
    for (const settle of results) settle();
  }

  #createOne({ request, idempotencyKey, now }: PendingCreate): CreateResult {
    const requestHash = hashOrderRequest(request);
    if (idempotencyKey !== undefined) {
      const existing = this.#statements.byKey.get(idempotencyKey);
      if (existing) return existing.request_hash === requestHash ? { kind: "replayed", order: toOrder(existing) } : { kind: "conflict" };
    }
    const id = randomUUID();
    this.#statements.insert.run({
      id,
      ...request,
      idempotencyKey: idempotencyKey ?? null,
      requestHash,
      nextAttemptAt: now,
      now: new Date(now).toISOString(),
    });
    return { kind: "created", order: toOrder(this.#statements.byId.get(id)!) };
  }

  async get(id: string): Promise<PendingOrder | undefined> {
    const row = this.#statements.byId.get(id);
    return row && { ...toOrder(row), attempts: row.attempts };
  }

  /** Records the outcome of a pending order; a settled order never changes again. */
  async settle(id: string, outcome: Settlement, now: number): Promise<boolean> {
    const result = this.#statements.settle.run({
      id,
      status: outcome.status,
      chargeId: outcome.status === "paid" ? outcome.chargeId : null,
      reason: outcome.status === "payment_failed" ? outcome.reason : null,
      now: new Date(now).toISOString(),
    });
    return result.changes === 1;
  }

  /** Counts a failed attempt and sets when the next one is due. */
  async reschedule(id: string, nextAttemptAt: number, lastError: string, now: number): Promise<void> {
    this.#statements.reschedule.run({ id, nextAttemptAt, lastError, now: new Date(now).toISOString() });
  }

  /** Pending orders whose next attempt is due, oldest first, but those in `skip` (one process: nothing else to hold them against). */
  async claimDue(now: number, limit: number, skip: readonly string[] = []): Promise<PendingOrder[]> {
    return this.#statements.due.all(now, JSON.stringify(skip), limit).map((row) => ({ ...toOrder(row), attempts: row.attempts }));
  }

  /** After a restart: every pending order is due now, whatever backoff it was in. Returns how many are pending. */
  async resumeAll(now: number): Promise<number> {
    return this.#statements.resume.run(now).changes;
  }

  get open(): boolean {
    return this.#db.open;
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    if (this.#pending.length > 0) this.#commitPending(); // orders accepted are orders kept
    this.#db.close();
  }
}

function toOrder(row: Row): Order {
  return {
    id: row.id,
    status: row.status,
    customerId: row.customer_id,
    amount: row.amount,
    currency: row.currency,
    ...(row.charge_id === null ? {} : { chargeId: row.charge_id }),
    ...(row.reason === null ? {} : { reason: row.reason }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
