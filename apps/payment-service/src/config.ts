import { createSecretKey, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { ConfigError, EnvReader, httpLimitsFrom, type HttpLimits } from "@m2m/service-kit";
import { databaseUrlFrom } from "@m2m/store-kit";
import { DPOP_MODES, type DPoPMode } from "@m2m/token-verifier";

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
  dpop: DPoPConfig;
  /**
   * Express's `trust proxy` (`TRUST_PROXY`): which peers' `X-Forwarded-Proto`
   * and `X-Forwarded-Host` are believed when the DPoP `htu` origin comes
   * from the request. Default `false`: never.
   */
  trustProxy: boolean | number | string[];
}

/** How payment-service takes DPoP-bound tokens (RFC 9449 §7). */
export interface DPoPConfig {
  /** `DPOP_MODE`: `off`, `allowed` (default) or `required`. */
  mode: DPoPMode;
  /** `PUBLIC_URL`: the origin clients address this service at, which `htu` must name; unset, taken from the request. */
  publicUrl?: string;
  /** `DPOP_NONCE_REQUIRED` (default false): every proof must carry a current nonce of this service (RFC 9449 §9). */
  requireNonce: boolean;
  /** `DPOP_NONCE_SECRET` or `_FILE`, as a `KeyObject` no dump shows; unset, one per process. */
  nonceSecret?: KeyObject;
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
    dpop: readDPoP(read),
    trustProxy: readTrustProxy(read),
  };
}

function readDPoP(read: EnvReader): DPoPConfig {
  const mode = read.oneOf("DPOP_MODE", DPOP_MODES, "allowed");
  const given = read.raw("PUBLIC_URL") === undefined ? undefined : new URL(read.url("PUBLIC_URL", ""));
  if (given !== undefined && (given.pathname !== "/" || given.search !== "" || given.hash !== "" || given.username !== "")) {
    throw new ConfigError(`invalid PUBLIC_URL: expected an origin (scheme, host and port only), got ${JSON.stringify(read.raw("PUBLIC_URL"))}`);
  }
  const publicUrl = given?.origin;
  const secret = read.secret("DPOP_NONCE_SECRET");
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError("invalid DPOP_NONCE_SECRET: expected at least 32 characters (e.g. openssl rand -base64 32)");
  }
  return {
    mode,
    ...(publicUrl === undefined ? {} : { publicUrl }),
    requireNonce: read.boolean("DPOP_NONCE_REQUIRED", false),
    ...(secret === undefined ? {} : { nonceSecret: createSecretKey(Buffer.from(secret, "utf8")) }),
  };
}

/**
 * `TRUST_PROXY`: `false` (default), `true` (any peer: only behind a proxy
 * that overwrites the headers), a number of hops, or a comma-separated list
 * of addresses, CIDR subnets and the names `loopback`, `linklocal` and
 * `uniquelocal`, as Express's `trust proxy` takes them.
 */
function readTrustProxy(read: EnvReader): PaymentConfig["trustProxy"] {
  const value = read.raw("TRUST_PROXY");
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  const entries = value.split(",").map((entry) => entry.trim());
  const valid = (entry: string) => {
    if (NAMED_SUBNETS.includes(entry)) return true;
    const [address, bits, ...rest] = entry.split("/");
    const version = isIP(address ?? "");
    return version !== 0 && rest.length === 0 && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128)));
  };
  if (!entries.every(valid)) {
    throw new ConfigError(`invalid TRUST_PROXY: expected false, true, a hop count, or addresses and CIDR subnets separated by commas, got ${JSON.stringify(value)}`);
  }
  return entries;
}

/** The subnets Express's `trust proxy` knows by name. */
const NAMED_SUBNETS = ["loopback", "linklocal", "uniquelocal"];

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
