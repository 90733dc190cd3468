import type { Pool } from "@m2m/store-kit";
import { StoreUnavailableError, type TrustedCallers } from "@m2m/token-issuer";

/**
 * {@link TrustedCallers} in PostgreSQL (`trusted_callers`), shared by every
 * auth-server instance: a client that authenticated at one instance is
 * trusted at its address by all of them, and stays so across restarts.
 * Each client keeps at most `addressesPerClient` addresses; only its own
 * successes push its oldest out.
 */
export class PostgresTrustedCallers implements TrustedCallers {
  constructor(
    private readonly pool: Pool,
    private readonly addressesPerClient = 64,
  ) {}

  async trustedUntil(clientId: string, address: string, now: number): Promise<number | undefined> {
    const { rows } = await this.pool
      .query<{ trusted_until: string }>("SELECT trusted_until FROM trusted_callers WHERE client_id = $1 AND address = $2 AND trusted_until > $3", [
        clientId,
        address,
        now,
      ])
      .catch(unavailable);
    return rows[0] === undefined ? undefined : Number(rows[0].trusted_until);
  }

  async trust(clientId: string, address: string, until: number): Promise<void> {
    // one statement: the upsert, then this client's addresses beyond its share, oldest first
    await this.pool
      .query(
        `WITH upserted AS (
           INSERT INTO trusted_callers (client_id, address, trusted_until) VALUES ($1, $2, $3)
           ON CONFLICT (client_id, address) DO UPDATE SET trusted_until = excluded.trusted_until
           RETURNING address
         )
         DELETE FROM trusted_callers
         WHERE client_id = $1 AND address <> $2 AND address IN (
           SELECT address FROM trusted_callers WHERE client_id = $1 AND address <> $2
           ORDER BY trusted_until DESC OFFSET $4
         )`,
        [clientId, address, until, this.addressesPerClient - 1],
      )
      .catch(unavailable);
  }
}

function unavailable(error: unknown): never {
  throw Object.assign(new StoreUnavailableError("postgres: trusted callers"), { cause: error });
}
