/**
 * The shared-store plumbing the apps share, and only that: a PostgreSQL pool
 * from `DATABASE_URL` with bounded waits, versioned SQL migrations applied
 * under an advisory lock, and a Redis client from `REDIS_URL` that fails fast
 * and reconnects by itself. Each app keeps its own schema and store
 * implementations; `./testing` starts real servers on loopback for tests.
 *
 * @packageDocumentation
 */

/** `DATABASE_URL` and `REDIS_URL` from the environment, checked, never echoed. */
export { databaseUrlFrom, redisUrlFrom } from "./config.js";
/** PostgreSQL: a pool with bounded waits, a password-free URL for logs, and one-transaction work. */
export { inTransaction, openPostgres, redactUrl } from "./postgres.js";
export type { Pool, PoolClient, PostgresOptions } from "./postgres.js";
/** Versioned SQL files, applied once each, by one instance at a time. */
export { migrate, MigrationError } from "./migrations.js";
/** Redis: fails fast while unreachable, reconnects by itself. */
export { openRedis, whenConnected } from "./redis.js";
export type { Redis, RedisOptions } from "./redis.js";
