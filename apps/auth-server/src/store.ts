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
  CREATE TABLE IF NOT EXISTS used_identifier_owners (
    owner TEXT PRIMARY KEY,
    held  INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
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
  // how many rows each owner holds: counted here (a file may come from before the counts), then kept in step with the rows
  db.transaction(() => {
    db.prepare("DELETE FROM used_identifiers WHERE expires_at <= ?").run(now);
    db.exec("DELETE FROM used_identifier_owners");
    db.exec("INSERT INTO used_identifier_owners (owner, held) SELECT owner, count(*) FROM used_identifiers GROUP BY owner");
  }).immediate();

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

  const identifiers = usedIdentifiersOn(db, identifiersPerClient);

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
        return identifiers.immediate(owner, id, expiresAt, at);
      },
    },
    close() {
      if (db.open) db.close();
    },
  };
}

/**
 * Records one identifier, as {@link UsedIdentifiers.use} asks, in a
 * transaction on `db`. Each owner's quota is checked against a count kept
 * with the rows (`used_identifier_owners.held`: the rows it holds, live or
 * expired but not yet deleted), so a request costs the same whether its
 * owner holds ten identifiers or ten thousand. Only when the count reaches
 * the quota are that owner's expired rows deleted and the count taken again;
 * the quota refuses only live ones. Every 1000 records, every owner's
 * expired rows go, and the counts with them.
 */
function usedIdentifiersOn(db: Database.Database, quota: number) {
  const find = db.prepare<[string, string], { expires_at: number }>("SELECT expires_at FROM used_identifiers WHERE owner = ? AND id = ?");
  // a row of an identifier that has expired may be taken over: it is no longer a replay, and the owner holds no more rows than before
  const takeOver = db.prepare("UPDATE used_identifiers SET expires_at = ? WHERE owner = ? AND id = ?");
  const insert = db.prepare("INSERT INTO used_identifiers (owner, id, expires_at) VALUES (?, ?, ?)");
  const held = db.prepare<[string], { held: number }>("SELECT held FROM used_identifier_owners WHERE owner = ?");
  const count = db.prepare(`
    INSERT INTO used_identifier_owners (owner, held) VALUES (?, ?)
    ON CONFLICT (owner) DO UPDATE SET held = held + excluded.held`);
  const forgetOwner = db.prepare("DELETE FROM used_identifier_owners WHERE owner = ? AND held <= 0");
  const pruneOwner = db.prepare("DELETE FROM used_identifiers WHERE owner = ? AND expires_at <= ?");
  const prune = db.prepare<[number], { owner: string }>("DELETE FROM used_identifiers WHERE expires_at <= ? RETURNING owner");

  const uncount = (owner: string, rows: number) => {
    if (rows === 0) return;
    count.run(owner, -rows);
    forgetOwner.run(owner);
  };
  let recordsSincePrune = 0;
  const pruneAll = (at: number) => {
    recordsSincePrune = 0;
    const deleted = new Map<string, number>();
    for (const { owner } of prune.all(at)) deleted.set(owner, (deleted.get(owner) ?? 0) + 1);
    for (const [owner, rows] of deleted) uncount(owner, rows);
  };

  return db.transaction((owner: string, id: string, expiresAt: number, at: number): boolean => {
    if (++recordsSincePrune >= 1000) pruneAll(at);
    const seen = find.get(owner, id);
    if (seen !== undefined && seen.expires_at > at) return false;
    if (seen !== undefined) {
      takeOver.run(expiresAt, owner, id);
      return true;
    }
    if ((held.get(owner)?.held ?? 0) >= quota) {
      uncount(owner, pruneOwner.run(owner, at).changes);
      if ((held.get(owner)?.held ?? 0) >= quota) throw new ReplayQuotaError("replay quota of this client used up");
    }
    insert.run(owner, id, expiresAt);
    count.run(owner, 1);
    return true;
  });
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
