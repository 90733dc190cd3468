import Database from "better-sqlite3";
import { ReplayQuotaError, type TrustedCallers, type UsedIdentifiers } from "@m2m/token-issuer";

/** The auth-server's database file under `DATA_DIR`. */
export const STATE_FILE = "auth.db";

/** What the auth-server keeps across restarts besides its keys: the issuer's two stores, on one SQLite file. */
export interface AuthServerStore {
  trustedCallers: TrustedCallers;
  usedIdentifiers: UsedIdentifiers;
  close(): void;
}

export interface AuthServerStoreOptions {
  /** How many addresses one client may be trusted at; only its own oldest go (default 64). */
  addressesPerClient?: number;
  /** How many live assertion `jti`s one client may hold (default 10 000). */
  identifiersPerClient?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS trusted_callers (
    client_id     TEXT NOT NULL,
    address       TEXT NOT NULL,
    trusted_until INTEGER NOT NULL,
    PRIMARY KEY (client_id, address)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS used_identifiers (
    owner      TEXT NOT NULL,
    id         TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (owner, id)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS used_identifiers_by_expiry ON used_identifiers (owner, expires_at);
`;

/**
 * Opens (or creates) the auth-server's state at `file`: the (client,
 * address) pairs that have authenticated, so that trust survives a restart
 * (the failure limiter never refuses them for others' failures), and the
 * client assertion `jti`s already used, so that an assertion cannot be
 * replayed after a restart. WAL, `synchronous = NORMAL`: a committed row
 * survives the process being killed.
 *
 * Reads of trust are answered from memory (the table is small: a few
 * addresses per client), writes go through to the file.
 */
export function openAuthServerStore(file: string, options: AuthServerStoreOptions = {}): AuthServerStore {
  const addressesPerClient = options.addressesPerClient ?? 64;
  const identifiersPerClient = options.identifiersPerClient ?? 10_000;
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.exec(SCHEMA);

  const now = Date.now();
  db.prepare("DELETE FROM trusted_callers WHERE trusted_until <= ?").run(now);
  db.prepare("DELETE FROM used_identifiers WHERE expires_at <= ?").run(now);

  const trusted = new Map<string, Map<string, number>>();
  for (const row of db.prepare<[], { client_id: string; address: string; trusted_until: number }>("SELECT * FROM trusted_callers ORDER BY trusted_until").all()) {
    remember(trusted, row.client_id, row.address, row.trusted_until);
  }
  const upsertTrust = db.prepare(`
    INSERT INTO trusted_callers (client_id, address, trusted_until) VALUES (?, ?, ?)
    ON CONFLICT (client_id, address) DO UPDATE SET trusted_until = excluded.trusted_until`);
  const dropTrust = db.prepare("DELETE FROM trusted_callers WHERE client_id = ? AND address = ?");
  const trustTx = db.transaction((clientId: string, address: string, until: number) => {
    upsertTrust.run(clientId, address, until);
    // only this client's own oldest addresses make room for its new one
    for (const evicted of remember(trusted, clientId, address, until, addressesPerClient)) dropTrust.run(clientId, evicted);
  });

  const liveCount = db.prepare<[string, number], { n: number }>("SELECT count(*) AS n FROM used_identifiers WHERE owner = ? AND expires_at > ?");
  // a row of an identifier that has expired may be taken over: it is no longer a replay
  const record = db.prepare(`
    INSERT INTO used_identifiers (owner, id, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (owner, id) DO UPDATE SET expires_at = excluded.expires_at WHERE used_identifiers.expires_at <= ?`);
  const prune = db.prepare("DELETE FROM used_identifiers WHERE expires_at <= ?");
  let recordsSincePrune = 0;
  const useTx = db.transaction((owner: string, id: string, expiresAt: number, at: number): boolean => {
    if (++recordsSincePrune >= 1000) {
      recordsSincePrune = 0;
      prune.run(at);
    }
    if (liveCount.get(owner, at)!.n >= identifiersPerClient) throw new ReplayQuotaError("replay quota of this client used up");
    return record.run(owner, id, expiresAt, at).changes === 1;
  });

  return {
    trustedCallers: {
      async trustedUntil(clientId, address, at) {
        const until = trusted.get(clientId)?.get(address);
        return until !== undefined && until > at ? until : undefined;
      },
      async trust(clientId, address, until) {
        trustTx.immediate(clientId, address, until);
      },
    },
    usedIdentifiers: {
      async use(owner, id, expiresAt, at) {
        // IMMEDIATE: the write lock is taken before the check, so two processes on one file cannot both record it
        return useTx.immediate(owner, id, expiresAt, at);
      },
    },
    close() {
      if (db.open) db.close();
    },
  };
}

/** Puts (client, address) last in the client's map; returns the addresses evicted beyond `limit`, oldest first. */
function remember(trusted: Map<string, Map<string, number>>, clientId: string, address: string, until: number, limit = Infinity): string[] {
  let addresses = trusted.get(clientId);
  if (addresses === undefined) {
    addresses = new Map();
    trusted.set(clientId, addresses);
  }
  addresses.delete(address);
  addresses.set(address, until);
  const evicted: string[] = [];
  while (addresses.size > limit) {
    const oldest = addresses.keys().next().value!;
    addresses.delete(oldest);
    evicted.push(oldest);
  }
  return evicted;
}
