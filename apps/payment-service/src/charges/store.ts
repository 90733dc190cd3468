import Database from "better-sqlite3";
import type { Charge } from "./charge.js";

/** The answer given for an idempotency key, kept to be given again. */
export interface StoredResponse {
  chargeId: string;
  orderId: string;
  fingerprint: string;
  status: number;
  body: Record<string, unknown>;
}

export interface NewCharge {
  charge: Charge;
  idempotencyKey: string;
  fingerprint: string;
  response: { status: number; body: Record<string, unknown> };
}

export type RecordResult = { created: true } | { created: false; existing: StoredResponse };

/** The ledger: charges and the idempotency keys that made them. */
export interface ChargeStore {
  /** The response already given for this client's key, if any. */
  findResponse(clientId: string, idempotencyKey: string): StoredResponse | undefined;
  /**
   * Records the charge, the idempotency key, the request fingerprint and the
   * response in one transaction. If the key was recorded meanwhile (another
   * process sharing the file), nothing is written and that record returns.
   */
  record(entry: NewCharge): RecordResult;
  getCharge(id: string): Charge | undefined;
  close(): void;
}

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
 * Opens (or creates) the SQLite ledger at `file`. WAL journal with
 * `synchronous = NORMAL`: a committed charge survives the process being
 * killed (SIGKILL included), which is the failure this service is tested
 * against; surviving a power cut as well would take `synchronous = FULL`
 * and an fsync per charge.
 */
export function openChargeStore(file: string): ChargeStore {
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
    findResponse,
    // IMMEDIATE takes the write lock before the check, so two processes cannot both miss the key
    record: (entry) => recordTx.immediate(entry),
    getCharge(id) {
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
    close() {
      if (db.open) db.close();
    },
  };
}
