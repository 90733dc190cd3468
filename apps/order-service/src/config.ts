import { createPrivateKey, type JsonWebKeyInput, type KeyObject } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, EnvReader, httpLimitsFrom, type HttpLimits } from "@m2m/service-kit";
import { databaseUrlFrom } from "@m2m/store-kit";
import { clientSecretBasic, clientSecretPost, privateKeyJwt, type ClientAuth, type TokenParams } from "@m2m/token-client";

type Env = Readonly<Record<string, string | undefined>>;

export interface OrderServiceConfig {
  port: number;
  host: string;
  /** Timeouts and the connection cap of the HTTP server (`HTTP_*`, docs/http-limits.md). */
  http: HttpLimits;
  /** Where the authorization server is reached (its metadata is discovered there). */
  authServerUrl: string;
  /** The issuer its metadata must name (RFC 8414 §3.3). */
  issuer: string;
  clientId: string;
  /**
   * How order-service authenticates at `/token`. A value that holds its
   * credential in a closure: a dump of this config shows only the method.
   */
  clientAuth: ClientAuth;
  paymentServiceUrl: string;
  /** The token's target and scope for payment-service. */
  paymentToken: Required<Pick<TokenParams, "scope">> & Pick<TokenParams, "audience" | "resource">;
  dataDir: string;
  /** `DATABASE_URL`: orders and the settle queue in PostgreSQL, shared by every instance. */
  databaseUrl?: string;
  /** How long an instance holds an order it works on (`SETTLE_LEASE_MS`); a dead instance's orders wait this long. */
  settleLeaseMs: number;
  /** How long `POST /orders` waits for the charge before answering `202 pending`, ms. */
  settleWaitMs: number;
  /** Ceiling of the backoff between attempts to settle one order, ms. */
  retryMaxDelayMs: number;
  /**
   * DPoP-bound tokens (RFC 9449), when `CLIENT_DPOP=true`: the key from
   * `CLIENT_DPOP_KEY_FILE` (a `KeyObject`, which no dump shows), or a key
   * pair generated at start when none is named.
   */
  dpop?: { key?: KeyObject };
}

/** `./data` under the app folder (`dist/..` or `src/..`). */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL("../data", import.meta.url));

const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"] as const;

/**
 * Environment in, typed configuration out (docs/wire-contract.md, "Starting
 * an app, and its configuration", plus the extras of the app's README). The first
 * problem becomes a {@link ConfigError} with one line naming the variable.
 */
export function loadConfig(env: Env): OrderServiceConfig {
  const read = new EnvReader(env);
  const authServerUrl = read.url("AUTH_SERVER_URL", "http://localhost:4000");
  const clientId = read.string("CLIENT_ID", "order-service");
  const settleWaitMs = read.int("SETTLE_WAIT_MS", 3_000, { min: 0, max: 60_000 });
  const databaseUrl = databaseUrlFrom(env);
  return {
    port: read.port("PORT", 4001),
    host: read.string("HOST", "127.0.0.1"),
    http: httpLimitsFor(settleWaitMs, env),
    authServerUrl,
    issuer: read.url("ISSUER", authServerUrl),
    clientId,
    clientAuth: loadClientAuth(read, env.NODE_ENV === "production"),
    paymentServiceUrl: read.url("PAYMENT_SERVICE_URL", "http://localhost:4002"),
    paymentToken: loadPaymentTarget(read),
    dataDir: resolve(read.string("DATA_DIR", DEFAULT_DATA_DIR)),
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    // longer than an attempt can take (a charge gives up after 10 s), with room to spare
    settleLeaseMs: read.int("SETTLE_LEASE_MS", 30_000, { min: 11_000, max: 3_600_000 }),
    settleWaitMs,
    retryMaxDelayMs: read.int("RETRY_MAX_DELAY_MS", 30_000, { min: 100, max: 3_600_000 }),
    ...loadDPoP(read),
  };
}

/**
 * `CLIENT_DPOP=true` asks for DPoP-bound tokens; `CLIENT_DPOP_KEY_FILE` (or
 * `CLIENT_DPOP_KEY`) names the private key to prove, PKCS#8 PEM or a
 * private JWK, and is refused without `CLIENT_DPOP=true`, where it would
 * silently do nothing.
 */
function loadDPoP(read: EnvReader): Pick<OrderServiceConfig, "dpop"> {
  const enabled = read.boolean("CLIENT_DPOP", false);
  const text = read.secret("CLIENT_DPOP_KEY");
  if (!enabled) {
    if (text !== undefined) throw new ConfigError("invalid CLIENT_DPOP_KEY_FILE: set CLIENT_DPOP=true to use it");
    return {};
  }
  if (text === undefined) return { dpop: {} };
  let key: KeyObject;
  try {
    key = parsePrivateKey(text);
  } catch {
    throw new ConfigError("invalid CLIENT_DPOP_KEY_FILE: expected a private key as PKCS#8 PEM or JWK");
  }
  return { dpop: { key } };
}

/**
 * The `HTTP_*` limits, checked against `POST /orders`: the connection sits
 * silent while the request waits up to `SETTLE_WAIT_MS` for its charge, and
 * the idle timeout must not cut that wait short.
 */
function httpLimitsFor(settleWaitMs: number, env: Env): HttpLimits {
  const limits = httpLimitsFrom(env);
  if (limits.idleTimeoutMs < settleWaitMs + 1_000) {
    throw new ConfigError(
      `invalid HTTP_IDLE_TIMEOUT_MS: must be at least a second longer than SETTLE_WAIT_MS (${settleWaitMs}), got "${limits.idleTimeoutMs}"`,
    );
  }
  return limits;
}

/**
 * `CLIENT_AUTH_METHOD` picks the method: `client_secret_basic` (default) and
 * `client_secret_post` use `CLIENT_SECRET` (or `CLIENT_SECRET_FILE`; the
 * development default `super-secret` is refused when `NODE_ENV=production`);
 * `private_key_jwt` uses `CLIENT_PRIVATE_KEY_FILE` (PKCS#8 PEM or a private
 * JWK), with `CLIENT_KEY_ALG` and `CLIENT_KEY_ID` when the key does not say.
 */
function loadClientAuth(read: EnvReader, production: boolean): ClientAuth {
  const method = read.oneOf("CLIENT_AUTH_METHOD", AUTH_METHODS, "client_secret_basic");
  if (method !== "private_key_jwt") {
    // The development default is published in docs/wire-contract.md: never in production.
    const secret = read.secret("CLIENT_SECRET", production ? undefined : "super-secret");
    if (secret === undefined) throw new ConfigError("invalid CLIENT_SECRET: required in production (set CLIENT_SECRET or CLIENT_SECRET_FILE)");
    return method === "client_secret_basic" ? clientSecretBasic(secret) : clientSecretPost(secret);
  }
  const text = read.secret("CLIENT_PRIVATE_KEY");
  if (text === undefined) {
    throw new ConfigError("invalid CLIENT_PRIVATE_KEY_FILE: required when CLIENT_AUTH_METHOD is private_key_jwt");
  }
  const key = parsePrivateKey(text);
  const alg = read.optionalString("CLIENT_KEY_ALG") ?? jwkField(text, "alg") ?? defaultAlg(key);
  const kid = read.optionalString("CLIENT_KEY_ID") ?? jwkField(text, "kid");
  try {
    return privateKeyJwt(key, { alg, ...(kid === undefined ? {} : { kid }) });
  } catch (error) {
    throw new ConfigError(`invalid CLIENT_KEY_ALG: ${(error as Error).message}`);
  }
}

/** Parses the key now, so a bad file stops the process at start rather than failing orders later. */
function parsePrivateKey(text: string): KeyObject {
  let key: KeyObject;
  try {
    key = text.trimStart().startsWith("{")
      ? createPrivateKey({ key: JSON.parse(text) as JsonWebKeyInput["key"], format: "jwk" })
      : createPrivateKey(text);
  } catch {
    // the key material stays out of the message
    throw new ConfigError("invalid CLIENT_PRIVATE_KEY_FILE: expected a private key as PKCS#8 PEM or JWK");
  }
  return key;
}

function jwkField(text: string, field: "alg" | "kid"): string | undefined {
  if (!text.trimStart().startsWith("{")) return undefined;
  const value = (JSON.parse(text) as Record<string, unknown>)[field];
  return typeof value === "string" ? value : undefined;
}

function defaultAlg(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case "ec":
      return ({ "prime256v1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512" } as Record<string, string>)[key.asymmetricKeyDetails?.namedCurve ?? ""] ?? "ES256";
    case "ed25519":
      return "EdDSA";
    case "rsa-pss":
      return "PS256";
    default:
      return "RS256";
  }
}

/**
 * The token is asked for with the RFC 8707 `resource` indicator of
 * payment-service by default (`PAYMENT_RESOURCE`); `PAYMENT_AUDIENCE` asks by
 * the resource server's identifier instead, as Auth0 and Ory Hydra do.
 */
function loadPaymentTarget(read: EnvReader): OrderServiceConfig["paymentToken"] {
  const audience = read.optionalString("PAYMENT_AUDIENCE");
  const resource = read.optionalString("PAYMENT_RESOURCE");
  if (audience !== undefined && resource !== undefined) {
    throw new ConfigError("invalid PAYMENT_AUDIENCE: set either PAYMENT_AUDIENCE or PAYMENT_RESOURCE, not both");
  }
  const scope = "charge:customer";
  if (audience !== undefined) return { audience, scope };
  if (resource !== undefined) return { resource: read.url("PAYMENT_RESOURCE", resource), scope };
  return { resource: "https://payment.internal", scope };
}
