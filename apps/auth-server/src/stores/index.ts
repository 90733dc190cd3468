import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@m2m/service-kit";
import { migrate, openPostgres, openRedis, redactUrl, whenConnected, type Pool, type Redis } from "@m2m/store-kit";
import type { FailureCounts, KeyRing, TrustedCallers, UsedIdentifiers } from "@m2m/token-issuer";
import { fileURLToPath } from "node:url";
import type { AuthServerConfig } from "../config.js";
import { openAuthServerStore, STATE_FILE } from "../store.js";
import { KeyEncryptionKey } from "./key-encryption.js";
import { PostgresKeyRing } from "./postgres-key-ring.js";
import { PostgresTrustedCallers } from "./postgres-trusted-callers.js";
import { RedisFailureCounts } from "./redis-failure-counts.js";
import { RedisUsedIdentifiers } from "./redis-used-identifiers.js";

/** The SQL migrations of the auth-server's schema, versioned beside the app. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

/** The generated key-encryption key's file under `DATA_DIR`, outside production only. */
export const GENERATED_KEK_FILE = "key-encryption-key";

/**
 * Every store the auth-server keeps state in, whichever implementation
 * holds it. `keyRing` is absent when the keys live in files (`SIGNING_KEYS`
 * or `DATA_DIR/keys`); `failureCounts` when they are counted in memory.
 */
export interface AuthServerStores {
  keyRing?: KeyRing;
  trustedCallers: TrustedCallers;
  usedIdentifiers: UsedIdentifiers;
  failureCounts?: FailureCounts;
  /** Closes what is open: the SQLite file, the pool, the Redis connection. */
  close(): Promise<void>;
}

/**
 * Opens the stores the configuration asks for:
 *
 * | set | signing keys, trusted callers | used `jti`s, failure counts |
 * | --- | --- | --- |
 * | nothing | `DATA_DIR/keys`, `DATA_DIR/auth.db` | `DATA_DIR/auth.db`, memory |
 * | `DATABASE_URL` | PostgreSQL (migrated first) | as above, per instance |
 * | `REDIS_URL` | as above | Redis, shared |
 *
 * Several instances need both: the keys and trust in PostgreSQL, the replay
 * cache and the counts in Redis. With only one, the other part stays per
 * instance, and the start says so (`stores.not_shared`).
 */
export async function openStores(config: AuthServerConfig, logger: Logger): Promise<AuthServerStores> {
  const { databaseUrl, redisUrl } = config.stores;
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    let pool: Pool | undefined;
    let redis: Redis | undefined;
    if (databaseUrl !== undefined) {
      pool = openPostgres(databaseUrl, { applicationName: "auth-server", onError: (error) => logger.warn({ store: "postgres", error: error.message }, "store.connection_lost") });
      closers.push(() => pool!.end());
      const applied = await migrate(pool, { app: "auth-server", dir: MIGRATIONS_DIR });
      logger.info({ store: "postgres", url: redactUrl(databaseUrl), migrations_applied: applied }, "store.opened");
    }
    if (redisUrl !== undefined) {
      redis = openRedis(redisUrl, {
        onDown: (error) => logger.warn({ store: "redis", error: error.message }, "store.unavailable"),
        onUp: () => logger.info({ store: "redis" }, "store.available"),
      });
      closers.push(() => void redis!.disconnect());
      const connected = await whenConnected(redis);
      logger.info({ store: "redis", url: redactUrl(redisUrl), connected }, "store.opened");
    }
    // what neither shared store holds stays in the SQLite file under DATA_DIR
    const sqlite = pool === undefined || redis === undefined ? openLocalStore(config) : undefined;
    if (sqlite) closers.push(() => sqlite.close());
    if ((pool === undefined) !== (redis === undefined)) {
      logger.warn({ shared: pool ? "postgres" : "redis", per_instance: pool ? "used identifiers, failure counts" : "signing keys, trusted callers" }, "stores.not_shared");
    }
    return {
      ...(pool ? { keyRing: new PostgresKeyRing(pool, keyEncryptionKey(config, logger)) } : {}),
      trustedCallers: pool ? new PostgresTrustedCallers(pool) : sqlite!.trustedCallers,
      usedIdentifiers: redis ? new RedisUsedIdentifiers(redis) : sqlite!.usedIdentifiers,
      ...(redis ? { failureCounts: new RedisFailureCounts(redis) } : {}),
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

function openLocalStore(config: AuthServerConfig) {
  mkdirSync(config.dataDir, { recursive: true });
  return openAuthServerStore(join(config.dataDir, STATE_FILE));
}

/**
 * The configured key-encryption key; outside production, without one, a
 * key generated once under `DATA_DIR` (mode 0600). Instances that share a
 * database must share the key too: one that finds keys sealed with another
 * stops at start and says so.
 */
function keyEncryptionKey(config: AuthServerConfig, logger: Logger): KeyEncryptionKey {
  if (config.stores.keyEncryptionKey) return config.stores.keyEncryptionKey;
  const file = join(config.dataDir, GENERATED_KEK_FILE);
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, `${KeyEncryptionKey.generate().export()}\n`, { mode: 0o600, flag: "wx" });
  }
  chmodSync(file, 0o600);
  const key = KeyEncryptionKey.parse(readFileSync(file, "utf8"));
  if (key === undefined) throw new Error(`${file} does not hold a key-encryption key`);
  logger.warn({ file, kek_id: key.id }, "keys.development_encryption_key");
  return key;
}
