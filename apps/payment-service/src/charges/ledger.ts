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

/**
 * A (client, key) held while its first request is with the processor: no
 * other process sharing the ledger can hold it meanwhile. Give it back with
 * {@link KeyHold.release} whatever happens.
 */
export interface KeyHold {
  /** The answer already recorded for the key when the hold was taken (another process finished first), if any. */
  readonly existing: StoredResponse | undefined;
  /**
   * Records the charge, the key, the request fingerprint and the response,
   * atomically. A key recorded already (the unique constraint refuses a
   * second row) writes nothing and returns the record that is there.
   */
  record(entry: NewCharge): Promise<RecordResult>;
  /** Lets go of the key (and, for a database, of the connection that held it). */
  release(): Promise<void>;
}

/**
 * The ledger: charges, and the idempotency keys that made them, each key
 * kept for a retention period. In a SQLite file under `DATA_DIR` (one
 * process), or in PostgreSQL shared by every instance (`DATABASE_URL`):
 * either way, one charge per (client, key), whichever instance is asked and
 * however often.
 */
export interface Ledger {
  /**
   * Holds the key against every other process sharing the ledger, and says
   * what is recorded for it (`existing`: a replay); `undefined` when another
   * process holds it now.
   */
  hold(clientId: string, idempotencyKey: string): Promise<KeyHold | undefined>;
  getCharge(id: string): Promise<Charge | undefined>;
  /** Forgets keys recorded before `before` (ms since the epoch); their charges stay. Returns how many went. */
  pruneKeys(before: number): Promise<number>;
  close(): Promise<void>;
}
