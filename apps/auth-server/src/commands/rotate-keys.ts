// `npm run rotate-keys -w apps/auth-server`: one key rotation step on the
// auth server's keys, with the same environment as the server: in
// PostgreSQL when DATABASE_URL is set (sealed with KEY_ENCRYPTION_KEY_FILE),
// else in the key directory (SIGNING_KEYS, or DATA_DIR/keys):
// - adds a new key (SIGNING_ALG) that is published at once and signs
//   KEY_PUBLISH_LEAD seconds later (at once if there was no key, which is
//   how production keys are first provisioned);
// - deletes keys replaced longer ago than ACCESS_TOKEN_TTL + 60 s.
// Running servers notice within KEY_RELOAD_INTERVAL seconds, or at once on
// SIGHUP. Prints one JSON line with what it did; never prints key material.
import { ConfigError, EnvReader, loadConfigOrExit } from "@m2m/service-kit";
import { migrate, openPostgres, redactUrl } from "@m2m/store-kit";
import { KeyFileError, rotateKeyDirectory, rotateKeys } from "@m2m/token-issuer";
import { loadKeyConfig, loadSharedStores } from "../config.js";
import { MIGRATIONS_DIR } from "../stores/index.js";
import { PostgresKeyRing } from "../stores/postgres-key-ring.js";

const { keys, ttl, stores } = loadConfigOrExit(() => {
  const loaded = { keys: loadKeyConfig(process.env), ttl: new EnvReader(process.env).int("ACCESS_TOKEN_TTL", 300, { min: 1, max: 86_400 }), stores: loadSharedStores(process.env) };
  if (loaded.stores.databaseUrl !== undefined && loaded.stores.keyEncryptionKey === undefined) {
    // a key generated here would not be the servers': say so instead of sealing with it
    throw new ConfigError("invalid KEY_ENCRYPTION_KEY_FILE: required with DATABASE_URL, the same key the servers use");
  }
  return loaded;
});
const pool = stores.databaseUrl === undefined ? undefined : openPostgres(stores.databaseUrl, { applicationName: "auth-server rotate-keys", max: 1 });
try {
  if (pool) await migrate(pool, { app: "auth-server", dir: MIGRATIONS_DIR });
  const schedule = { alg: keys.alg, tokenTtlSeconds: ttl, publishLeadSeconds: keys.publishLeadSeconds, now: Date.now() };
  const { created, removed } = pool
    ? await rotateKeys({ ring: new PostgresKeyRing(pool, stores.keyEncryptionKey!), ...schedule })
    : await rotateKeyDirectory({ dir: keys.path, ...schedule });
  const where = stores.databaseUrl !== undefined ? { database: redactUrl(stores.databaseUrl) } : { dir: keys.path };
  process.stdout.write(
    `${JSON.stringify({ ...where, created: created.kid, alg: created.alg, signs_from: new Date(created.activatesAt).toISOString(), removed })}\n`,
  );
} catch (error) {
  if (!(error instanceof KeyFileError)) throw error;
  console.error(`rotate-keys: ${error.message}`);
  process.exitCode = 1;
} finally {
  await pool?.end();
}
