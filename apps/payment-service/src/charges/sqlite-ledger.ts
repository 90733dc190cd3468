import Database from "better-sqlite3";
import type { Charge } from "./charge.js";
import type { Ledger, NewCharge, RecordResult, StoredResponse } from "./ledger.js";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS charges (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('succeeded', 'declined')),
    client_id   TEXT NOT NULL,
    created_at  TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS idempotency_keys (
    client_id       TEXT NOT NULL,
    key             TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    charge_id       TEXT NOT NULL REFERENCES charges (id),
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (client_id, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (created_at);
`;
// WITHOUT ROWID: each table is one B-tree on its key, not a rowid tree plus a
// separate index, so a charge writes half the pages to the WAL. No index on
// order_id: nothing here looks charges up by order.

interface ChargeRow {
  id: string;
  order_id: string;
  customer_id: string;
  amount: number;
  currency: string;
  status: Charge["status"];
  client_id: string;
  created_at: string;
}

interface KeyRow {
  charge_id: string;
  order_id: string;
  fingerprint: string;
  response_status: number;
  response_body: string;
}

/**
 * Opens (or creates) the SQLite {@link Ledger} at `file`, for one process.
 * WAL journal with `synchronous = NORMAL`: a committed charge survives the
 * process being killed (SIGKILL included), which is the failure this
 * service is tested against; surviving a power cut as well would take
 * `synchronous = FULL` and an fsync per charge. A key is held within this
 * process only (the caller's own map): several instances need PostgreSQL.
 */
export function openSqliteLedger(file: string): Ledger {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  db.exec(SCHEMA);

  const findKey = db.prepare<[string, string], KeyRow>(`
    SELECT k.charge_id, c.order_id, k.fingerprint, k.response_status, k.response_body
    FROM idempotency_keys k JOIN charges c ON c.id = k.charge_id
    WHERE k.client_id = ? AND k.key = ?`);
  const insertCharge = db.prepare(`
    INSERT INTO charges (id, order_id, customer_id, amount, currency, status, client_id, created_at)
    VALUES (@id, @orderId, @customerId, @amount, @currency, @status, @clientId, @createdAt)`);
  const insertKey = db.prepare(`
    INSERT INTO idempotency_keys (client_id, key, fingerprint, charge_id, response_status, response_body, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const selectCharge = db.prepare<[string], ChargeRow>("SELECT * FROM charges WHERE id = ?");
  const pruneKeys = db.prepare("DELETE FROM idempotency_keys WHERE created_at < ?");

  const findResponse = (clientId: string, key: string): StoredResponse | undefined => {
    const row = findKey.get(clientId, key);
    return row && {
      chargeId: row.charge_id,
      orderId: row.order_id,
      fingerprint: row.fingerprint,
      status: row.response_status,
      body: JSON.parse(row.response_body) as Record<string, unknown>,
    };
  };

  const recordTx = db.transaction((entry: NewCharge): RecordResult => {
    const { charge } = entry;
    const existing = findResponse(charge.clientId, entry.idempotencyKey);
    if (existing) return { created: false, existing };
    insertCharge.run(charge);
    insertKey.run(
      charge.clientId,
      entry.idempotencyKey,
      entry.fingerprint,
      charge.id,
      entry.response.status,
      JSON.stringify(entry.response.body),
      charge.createdAt,
    );
    return { created: true };
  });

  return {
    async hold(clientId, key) {
      return {
        existing: findResponse(clientId, key),
        // IMMEDIATE takes the write lock before the check; the primary key would refuse a second row anyway
        record: async (entry) => recordTx.immediate(entry),
        release: async () => undefined,
      };
    },
    async pruneKeys(before) {
      return pruneKeys.run(new Date(before).toISOString()).changes;
    },
    async getCharge(id) {
      const row = selectCharge.get(id);
      return (
        row && {
          id: row.id,
          orderId: row.order_id,
          customerId: row.customer_id,
          amount: row.amount,
          currency: row.currency,
          status: row.status,
          clientId: row.client_id,
          createdAt: row.created_at,
        }
      );
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
