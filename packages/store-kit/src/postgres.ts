import pg from "pg";

/** A PostgreSQL connection pool (node-postgres). */
export type Pool = pg.Pool;
/** One connection taken from a {@link Pool}, for a transaction or a session lock. */
export type PoolClient = pg.PoolClient;

export interface PostgresOptions {
  /** Who is connecting, as `pg_stat_activity` shows it: the app's name. */
  applicationName: string;
  /** Most connections this process opens (default 10): instances × this must stay under the server's `max_connections`. */
  max?: number;
  /** Told about errors of idle connections (a server restart, a dropped link); the pool replaces them. */
  onError?: (error: Error) => void;
}

/**
 * A pool on `url` (`DATABASE_URL`) with bounds on every wait, so that a
 * database that is slow or gone turns into an error within seconds, never a
 * request that hangs: 5 s to get a connection, 10 s for a statement (enforced
 * by the server, which then cancels it), 15 s for an answer (enforced here,
 * for a server that does not answer at all). Idle connections close after
 * 30 s. The URL, password included, is never logged or put in an error.
 */
export function openPostgres(url: string, options: PostgresOptions): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    application_name: options.applicationName,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 10_000,
    query_timeout: 15_000,
    // the process ends on its own once the pool is closed: no idle connection holds it up
    allowExitOnIdle: true,
  });
  // Without a listener an idle connection's error would end the process.
  pool.on("error", (error) => options.onError?.(error));
  return pool;
}

/** `url` without its password, for a log line: `postgres://app:***@db:5432/m2m`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}

/**
 * Runs `work` in one transaction on one connection: committed if it
 * resolves, rolled back if it throws (and the error rethrown).
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
