import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { ConfigError, EnvReader, httpLimitsFrom, type HttpLimits } from "@m2m/service-kit";
import { databaseUrlFrom } from "@m2m/store-kit";

/** payment-service's configuration, read once from the environment (docs/wire-contract.md, "Starting an app, and its configuration"). */
export interface PaymentConfig {
  port: number;
  host: string;
  /** Timeouts and the connection cap of the HTTP server (`HTTP_*`, docs/http-limits.md). */
  http: HttpLimits;
  /** Where the authorization server is reached for its metadata and JWK Set. */
  authServerUrl: string;
  /** The only `iss` accepted; the metadata at `authServerUrl` must name it (RFC 8414 §3.3). */
  issuer: string;
  /** The only `aud` accepted. */
  audience: string;
  /** Charges above this amount, in minor units, are declined. */
  chargeLimit: number;
  /** Where the SQLite ledger lives (when `DATABASE_URL` is not set). */
  dataDir: string;
  /** `DATABASE_URL`: the ledger in PostgreSQL, shared by every instance. */
  databaseUrl?: string;
  /** How long an idempotency key is kept (`IDEMPOTENCY_KEY_RETENTION`, seconds); then it is pruned and its charge stays. */
  idempotencyKeyRetentionMs: number;
  /** The issuer's JWK Set is fetched again this often (`JWKS_MAX_AGE`, seconds): a withdrawn key is trusted no longer. */
  jwksMaxAgeMs: number;
  /** Keys not confirmed by a fetch for this long (`JWKS_MAX_STALE`, seconds) are not used: 503 and not ready. */
  jwksMaxStaleMs: number;
}

// dist/config.js and src/config.ts are both one level below the app folder
const DEFAULT_DATA_DIR = fileURLToPath(new URL("../data", import.meta.url));

/** Environment in, typed config out; the first invalid variable throws a one-line `ConfigError`. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): PaymentConfig {
  const read = new EnvReader(env);
  const authServerUrl = read.url("AUTH_SERVER_URL", "http://localhost:4000");
  const databaseUrl = databaseUrlFrom(env);
  return {
    port: read.port("PORT", 4002),
    host: read.string("HOST", "127.0.0.1"),
    http: httpLimitsFrom(env),
    authServerUrl,
    issuer: read.url("ISSUER", authServerUrl),
    audience: read.string("AUDIENCE", "payment-service"),
    chargeLimit: read.positiveInt("CHARGE_LIMIT", 100_000),
    dataDir: resolve(read.string("DATA_DIR", DEFAULT_DATA_DIR)),
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    // a week: far longer than any outage a client keeps retrying through (Stripe keeps keys a day)
    idempotencyKeyRetentionMs: read.int("IDEMPOTENCY_KEY_RETENTION", 7 * 86_400, { min: 3_600, max: 366 * 86_400 }) * 1000,
    ...readJwksTimes(read),
  };
}

/**
 * `JWKS_MAX_AGE` (default 60 s: auth-server's `max-age` for its JWK Set) and
 * `JWKS_MAX_STALE` (default 10 min, or `JWKS_MAX_AGE` if longer), which may
 * not be shorter: keys go stale only once a refresh was due.
 */
function readJwksTimes(read: EnvReader): Pick<PaymentConfig, "jwksMaxAgeMs" | "jwksMaxStaleMs"> {
  const maxAge = read.int("JWKS_MAX_AGE", 60, { min: 1, max: 86_400 });
  const maxStale = read.int("JWKS_MAX_STALE", Math.max(600, maxAge), { min: 1, max: 7 * 86_400 });
  if (maxStale < maxAge) {
    throw new ConfigError(`invalid JWKS_MAX_STALE: must be at least JWKS_MAX_AGE (${maxAge} s), got "${read.raw("JWKS_MAX_STALE")}"`);
  }
  return { jwksMaxAgeMs: maxAge * 1000, jwksMaxStaleMs: maxStale * 1000 };
}
