import type { Pool, PoolClient } from "@m2m/store-kit";
import { KeyFileError, StoreUnavailableError, type KeyRing, type KeyRingChange, type NewKey, type SigningAlgorithm, type StoredKey } from "@m2m/token-issuer";
import type { JWK } from "jose";
import { KeyEncryptionError, type KeyEncryptionKey } from "./key-encryption.js";

/** Only one process changes the keys at a time: rotation, the first key, pruning. */
const KEY_RING_LOCK = 0x6d326d_6b6579; // "m2m" "key"

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

interface Row {
  kid: string;
  alg: SigningAlgorithm;
  activates_at: string;
  private_jwk: Buffer;
  kek_id: string;
}

/**
 * The signing keys in PostgreSQL (`signing_keys`), shared by every
 * auth-server instance: they all read the same keys, so they publish the same
 * JWK Set and sign with the same current key (the schedule follows from
 * activation times alone). Private keys are sealed with the key-encryption
 * key before they leave the process and opened after they come back: the
 * database never holds one in clear.
 *
 * A change (the first key, a rotation, pruning) runs in one transaction under
 * a transaction-level advisory lock, so exactly one instance changes the keys
 * at a time; the lock goes with the transaction, even when its process dies.
 */
export class PostgresKeyRing implements KeyRing {
  readonly description = "PostgreSQL (signing_keys)";

  constructor(
    private readonly pool: Pool,
    private readonly kek: KeyEncryptionKey,
  ) {}

  async read(): Promise<StoredKey[]> {
    const { rows } = await this.pool.query<Row>("SELECT kid, alg, activates_at, private_jwk, kek_id FROM signing_keys").catch(unavailable);
    return rows.map((row) => this.unseal(row));
  }

  async change(plan: (keys: readonly StoredKey[]) => Promise<KeyRingChange>, options: { wait: boolean }): Promise<KeyRingChange | undefined> {
    const client = await this.pool.connect().catch(unavailable);
    try {
      await client.query("BEGIN");
      // waiting, pg_advisory_xact_lock returns once the lock is held; trying, pg_try_… says whether it is
      const locked = options.wait
        ? (await client.query("SELECT pg_advisory_xact_lock($1)", [KEY_RING_LOCK]), true)
        : (await client.query<{ locked: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS locked", [KEY_RING_LOCK])).rows[0]!.locked;
      if (!locked) {
        await client.query("ROLLBACK");
        return undefined;
      }
      const keys = (await client.query<Row>("SELECT kid, alg, activates_at, private_jwk, kek_id FROM signing_keys")).rows.map((row) => this.unseal(row));
      const change = await plan(keys);
      if (change.add) await this.insert(client, change.add);
      if (change.remove.length > 0) await client.query("DELETE FROM signing_keys WHERE kid = ANY($1)", [change.remove]);
      await client.query("COMMIT");
      return change;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async insert(client: PoolClient, key: NewKey): Promise<void> {
    const publicJwk = Object.fromEntries(Object.entries(key.privateJwk).filter(([member]) => !PRIVATE_MEMBERS.includes(member)));
    const sealed = this.kek.seal(Buffer.from(JSON.stringify(key.privateJwk), "utf8"), key.kid);
    await client.query("INSERT INTO signing_keys (kid, alg, activates_at, public_jwk, private_jwk, kek_id) VALUES ($1, $2, $3, $4, $5, $6)", [
      key.kid,
      key.alg,
      key.activatesAt,
      publicJwk,
      sealed,
      this.kek.id,
    ]);
  }

  private unseal(row: Row): StoredKey {
    if (row.kek_id !== this.kek.id) {
      throw new KeyFileError(`signing key ${row.kid} in PostgreSQL is sealed with key-encryption key ${row.kek_id}, not this one (${this.kek.id}): set KEY_ENCRYPTION_KEY_FILE to the key the other instances use`);
    }
    let privateJwk: JWK;
    try {
      privateJwk = JSON.parse(this.kek.open(row.private_jwk, row.kid).toString("utf8")) as JWK;
    } catch (error) {
      throw new KeyFileError(error instanceof KeyEncryptionError ? error.message : `signing key ${row.kid} in PostgreSQL is not a JWK`);
    }
    return { kid: row.kid, alg: row.alg, privateJwk, activatesAt: Number(row.activates_at), source: `signing_keys/${row.kid}` };
  }
}

function unavailable(error: unknown): never {
  throw Object.assign(new StoreUnavailableError("postgres: signing keys"), { cause: error });
}
