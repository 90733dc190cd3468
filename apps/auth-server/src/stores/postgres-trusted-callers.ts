import type { Pool } from "@m2m/store-kit";
import { StoreUnavailableError, type TrustedCallers } from "@m2m/token-issuer";

/**
 * {@link TrustedCallers} in PostgreSQL (`trusted_callers`), shared by every
 * auth-server instance: a client that authenticated at one instance is
 * trusted at its address by all of them, and stays so across restarts.
 * Each client keeps at most `addressesPerClient` addresses; only its own
 * successes push its oldest out.
 *
 * Every client authentication asks whether its pair is trusted, so a "yes"
 * is remembered in this process for `cacheMs` (a busy client asks from the
 * same address many times a second); a "no" is always asked again, so trust
 * given at another instance counts here at once. A "yes" kept a little
 * longer than the row is harmless: the pair did authenticate.
 */
export class PostgresTrustedCallers implements TrustedCallers {
  private readonly trusted = new Map<string, { until: number; askedAt: number }>();

  constructor(
    private readonly pool: Pool,
    private readonly addressesPerClient = 64,
    private readonly cacheMs = 60_000,
    private readonly cacheEntries = 10_000,
  ) {}

  async trustedUntil(clientId: string, address: string, now: number): Promise<number | undefined> {
    const key = `${clientId}\0${address}`;
    const known = this.trusted.get(key);
    // the answer's age is wall-clock time; whether it is still trusted, the caller's clock says
    if (known !== undefined && known.until > now && Date.now() - known.askedAt < this.cacheMs) return known.until;
    const { rows } = await this.pool
      .query<{ trusted_until: string }>("SELECT trusted_until FROM trusted_callers WHERE client_id = $1 AND address = $2 AND trusted_until > $3", [
        clientId,
        address,
        now,
      ])
      .catch(unavailable);
    if (rows[0] === undefined) return undefined;
    this.remember(key, Number(rows[0].trusted_until));
    return Number(rows[0].trusted_until);
  }

  async trust(clientId: string, address: string, until: number): Promise<void> {
    // one statement: the upsert, then this client's addresses beyond its share, oldest first
    const { rows } = await this.pool
      .query<{ address: string }>(
        `WITH upserted AS (
           INSERT INTO trusted_callers (client_id, address, trusted_until) VALUES ($1, $2, $3)
           ON CONFLICT (client_id, address) DO UPDATE SET trusted_until = excluded.trusted_until
           RETURNING address
         )
         DELETE FROM trusted_callers
         WHERE client_id = $1 AND address <> $2 AND address IN (
           SELECT address FROM trusted_callers WHERE client_id = $1 AND address <> $2
           ORDER BY trusted_until DESC OFFSET $4
         )
         RETURNING address`,
        [clientId, address, until, this.addressesPerClient - 1],
      )
      .catch(unavailable);
    for (const evicted of rows) this.trusted.delete(`${clientId}\0${evicted.address}`);
    this.remember(`${clientId}\0${address}`, until);
  }

  private remember(key: string, until: number): void {
    // bounded: when full, start over (the answers are all in the database)
    if (this.trusted.size >= this.cacheEntries) this.trusted.clear();
    this.trusted.set(key, { until, askedAt: Date.now() });
  }
}

function unavailable(error: unknown): never {
  throw Object.assign(new StoreUnavailableError("postgres: trusted callers"), { cause: error });
}
