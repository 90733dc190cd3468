import type { Pool, PoolClient } from "@m2m/store-kit";
import type { Charge } from "./charge.js";
import type { KeyHold, Ledger, NewCharge, RecordResult, StoredResponse } from "./ledger.js";

interface KeyRow {
  charge_id: string;
  order_id: string;
  fingerprint: string;
  response_status: number;
  response_body: Record<string, unknown>;
}

interface ChargeRow {
  id: string;
  order_id: string;
  customer_id: string;
  amount: string;
  currency: string;
  status: Charge["status"];
  client_id: string;
  created_at: Date;
}

const FIND_KEY = `
  SELECT k.charge_id, c.order_id, k.fingerprint, k.response_status, k.response_body
  FROM idempotency_keys k JOIN charges c ON c.id = k.charge_id
  WHERE k.client_id = $1 AND k.key = $2`;

/** Keys pruned per statement: short transactions, however many are due. */
const PRUNE_BATCH = 1_000;

/**
 * The {@link Ledger} in PostgreSQL, shared by every payment-service instance.
 *
 * - **Exactly once:** the primary key of `idempotency_keys` (client, key)
 *   refuses a second row, and the key row and its charge commit together.
 *   Two instances charging one key at the same moment cannot both write:
 *   the second insert finds the first row and returns it.
 * - **In use (409):** while a key's first request is with the processor, the
 *   instance holds a transaction-level advisory lock on the key, on one
 *   connection, until it has recorded the answer. Another instance asked the
 *   same key meanwhile fails to take the lock and answers
 *   `409 idempotency_key_in_use` instead of charging it a second time. The
 *   lock lives only as long as that transaction: a killed instance leaves no
 *   key stuck "in use". (The price: a connection per charge in flight, so the
 *   pool bounds the charges in flight per instance.)
 */
export class PostgresLedger implements Ledger {
  constructor(private readonly pool: Pool) {}

  async hold(clientId: string, key: string): Promise<KeyHold | undefined> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      // One round trip: the lock, and what is recorded for the key. 64 bits of
      // hash name the key: a collision only ever makes a request wait its turn (409, retried).
      // named: prepared once per connection, planned once, on every charge's path
      const { rows } = await client.query<{ held: boolean } & Partial<KeyRow>>({
        name: "ledger-hold",
        text: `SELECT held, k.charge_id, c.order_id, k.fingerprint, k.response_status, k.response_body
               FROM (SELECT pg_try_advisory_xact_lock(hashtextextended($1 || E'\n' || $2, 0)) AS held) lock
               LEFT JOIN idempotency_keys k ON lock.held AND k.client_id = $1 AND k.key = $2
               LEFT JOIN charges c ON c.id = k.charge_id`,
        values: [clientId, key],
      });
      const row = rows[0]!;
      if (!row.held) {
        await finish(client, "ROLLBACK");
        return undefined;
      }
      return new PostgresKeyHold(client, row.charge_id ? toResponse(row as KeyRow) : undefined);
    } catch (error) {
      await finish(client, "ROLLBACK");
      throw error;
    }
  }

  async getCharge(id: string): Promise<Charge | undefined> {
    const { rows } = await this.pool.query<ChargeRow>("SELECT * FROM charges WHERE id = $1", [id]);
    const row = rows[0];
    return (
      row && {
        id: row.id,
        orderId: row.order_id,
        customerId: row.customer_id,
        amount: Number(row.amount),
        currency: row.currency,
        status: row.status,
        clientId: row.client_id,
        createdAt: row.created_at.toISOString(),
      }
    );
  }

  async pruneKeys(before: number): Promise<number> {
    let pruned = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
        [new Date(before), PRUNE_BATCH],
      );
      pruned += rowCount ?? 0;
      if ((rowCount ?? 0) < PRUNE_BATCH) return pruned;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

class PostgresKeyHold implements KeyHold {
  #done = false;

  constructor(
    private readonly client: PoolClient,
    readonly existing: StoredResponse | undefined,
  ) {}

  async record({ charge, idempotencyKey, fingerprint, response }: NewCharge): Promise<RecordResult> {
    // One statement: the key row first, ON CONFLICT DO NOTHING (the unique
    // constraint answering, not a check before an insert), and the charge only
    // if the key row went in; the foreign key is checked at commit.
    const { rows } = await this.client.query<{ claimed: boolean }>({
      name: "ledger-record",
      text: `WITH key AS (
         INSERT INTO idempotency_keys (client_id, key, fingerprint, charge_id, response_status, response_body, created_at)
         VALUES ($7, $9, $10, $1, $11, $12, $8)
         ON CONFLICT (client_id, key) DO NOTHING
         RETURNING charge_id
       ), charge AS (
         INSERT INTO charges (id, order_id, customer_id, amount, currency, status, client_id, created_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM key)
         RETURNING id
       )
       SELECT EXISTS (SELECT 1 FROM charge) AS claimed`,
      values: [
        charge.id,
        charge.orderId,
        charge.customerId,
        charge.amount,
        charge.currency,
        charge.status,
        charge.clientId,
        charge.createdAt,
        idempotencyKey,
        fingerprint,
        response.status,
        response.body,
      ],
    });
    if (!rows[0]!.claimed) {
      const { rows: existing } = await this.client.query<KeyRow>(FIND_KEY, [charge.clientId, idempotencyKey]);
      await this.release();
      return { created: false, existing: toResponse(existing[0]!) };
    }
    // the commit also lets go of the key: the next request for it finds this answer
    this.#done = true;
    try {
      await this.client.query("COMMIT");
    } catch (error) {
      this.client.release(error as Error);
      throw error;
    }
    this.client.release();
    return { created: true };
  }

  /** Without a record: rolls back, which lets go of the key. */
  async release(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await finish(this.client, "ROLLBACK");
  }
}

/** Ends the transaction (a failure here means the connection is gone) and gives the connection back. */
async function finish(client: PoolClient, end: "COMMIT" | "ROLLBACK"): Promise<void> {
  let broken: Error | undefined;
  await client.query(end).catch((error: Error) => (broken = error));
  // a connection whose state is unknown is destroyed, not reused
  client.release(broken);
}

function toResponse(row: KeyRow): StoredResponse {
  return { chargeId: row.charge_id, orderId: row.order_id, fingerprint: row.fingerprint, status: row.response_status, body: row.response_body };
}
