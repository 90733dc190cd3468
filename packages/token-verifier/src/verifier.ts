import type { JWSHeaderParameters } from "jose";
import { ASYMMETRIC_ALGORITHMS, checkAlgorithms } from "./algorithms.js";
import { checkAccessTokenType, checkLifetime, checkRequiredClaims, checkTimes, type AccessTokenClaims } from "./claims.js";
import { metadataUrlFor } from "./discovery.js";
import { parseJsonObject } from "@m2m/dpop-proof";
import { InvalidTokenError } from "./errors.js";
import { verifyCompactJws } from "./jws.js";
import { JwksCache, type JwksLoadedEvent } from "./jwks-cache.js";
import { scopeTokens } from "./scope.js";
import { TokenCache } from "./token-cache.js";

export interface VerifierOptions {
  /** The only `iss` accepted (RFC 9068 §4), compared exactly. */
  issuer: string;
  /** The only `aud` accepted (RFC 9068 §4): this resource server's identifier. */
  audience: string;
  /**
   * Where to read the RFC 8414 metadata. Default: the issuer's well-known URL
   * (RFC 8414 §3.1). Set it when the issuer is reached at another address
   * than its identifier (e.g. `${AUTH_SERVER_URL}/.well-known/oauth-authorization-server`).
   */
  metadataUrl?: string;
  /** Skip discovery and fetch the JWK Set from here. */
  jwksUri?: string;
  /** Allowed `alg`s, asymmetric only. Default: every asymmetric JWS algorithm. */
  algorithms?: readonly string[];
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** Tokens whose `exp - iat` is longer are refused. Default 86400 s (a day: auth-server's largest `ACCESS_TOKEN_TTL`). */
  maxLifetimeSec?: number;
  /** Longer tokens are refused before any parsing. Default 8192 characters. */
  maxTokenLength?: number;
  /** How many verified tokens to remember (0 turns the cache off). Default 1000. */
  cacheMaxEntries?: number;
  /** Timeout of each metadata or JWK Set request. Default 5000 ms. */
  timeoutMs?: number;
  /** Minimum time between two JWK Set fetches caused by tokens. Default 10000 ms. */
  cooldownMs?: number;
  /**
   * Age after which the JWK Set is refreshed in the background, so a key the
   * issuer withdrew stops being trusted. Default 60000 ms (the `max-age`
   * auth-server serves its JWK Set with).
   */
  maxAgeMs?: number;
  /**
   * How long after the last JWK Set fetch that worked the keys held are still
   * used while refreshes fail (an issuer outage). Past it, tokens are answered
   * `TemporarilyUnavailableError` (503) and `ready` is false until a fetch
   * works again. At least `maxAgeMs`. Default 600000 ms.
   */
  maxStaleMs?: number;
  /** Extra headers for metadata and JWK Set requests. */
  headers?: Readonly<Record<string, string>>;
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch. Default `Date.now`. Tests pass a fake. */
  clock?: () => number;
  /** Called after each successful JWK Set fetch (log `jwks.loaded` here). */
  onJwksLoaded?: (event: JwksLoadedEvent) => void;
  /** Called when a metadata or JWK Set fetch fails (the message holds no secret). */
  onJwksError?: (error: Error) => void;
}

/** What a successful verification returns. Frozen. */
export interface VerifiedAccessToken {
  readonly claims: AccessTokenClaims;
  readonly header: { readonly alg: string; readonly kid: string | undefined; readonly typ: string };
  /** The `scope` claim split into its tokens (RFC 6749 §3.3). */
  readonly scopes: readonly string[];
  /** `true` when the signature check was skipped because this exact token was verified before. */
  readonly cached: boolean;
  /** The time, in seconds since the epoch, that `exp`/`nbf`/`iat` were checked against. */
  readonly checkedAt: number;
}

export interface TokenVerifier {
  /**
   * Verifies an RFC 9068 access token. Resolves with its claims, or rejects
   * with an `InvalidTokenError` (the token is bad) or a
   * `TemporarilyUnavailableError` (its key cannot be had now).
   */
  verify(token: string): Promise<VerifiedAccessToken>;
  /**
   * Fetches metadata and JWK Set now (one fetch in flight); rejects when the
   * issuer cannot be reached. Called every `maxAgeMs`, it keeps the keys
   * fresh however sparse the traffic.
   */
  load(): Promise<void>;
  /** `true` while a JWK Set is held that a fetch confirmed within `maxStaleMs`. */
  readonly ready: boolean;
  /** The `kid`s of the keys held. */
  readonly kids: string[];
  readonly issuer: string;
  readonly audience: string;
  readonly clockToleranceSec: number;
  /** Verified tokens currently remembered. */
  readonly cacheSize: number;
}

interface CacheEntry {
  readonly claims: AccessTokenClaims;
  readonly header: VerifiedAccessToken["header"];
  readonly scopes: readonly string[];
}

/**
 * Creates the verifier a resource server runs every request through. It
 * first refuses any spelling of the token but the canonical one (RFC 7515
 * §2), then checks what RFC 9068 §4 and docs/wire-contract.md list: a signature by a
 * key of the issuer's JWK Set, an asymmetric `alg` the key is published
 * for (never `none`, never HMAC), `typ` `at+jwt` (or `application/at+jwt`,
 * any case), `iss` and `aud` equal to the expected values, `exp`/`nbf`/`iat`
 * against the clock, a lifetime (`exp - iat`) of at most `maxLifetimeSec`,
 * and the required claims with their types.
 *
 * `aud` must be a string. RFC 7519 §4.1.3 allows an array and RFC 9068 §4
 * only asks that it "contains" the resource's identifier, but this contract
 * issues one audience per token, and a token valid at several resource
 * servers is one any of them could replay at the others (RFC 9700 §2.3):
 * arrays are refused, even when they contain the audience.
 *
 * Repeated verification of the same token is nearly free: successful
 * results are kept in a bounded LRU cache keyed by the token; a hit still
 * runs the time checks against the clock, the cache is flushed whenever
 * the issuer's key set changes, and it is not consulted while the keys are
 * too stale to use (`maxStaleMs`). Failures are never cached.
 *
 * Header parameters that name keys (`jwk`, `jku`, `x5u`, `x5c`) are never
 * used: keys come only from the configured issuer's JWK Set.
 */
export function createVerifier(options: VerifierOptions): TokenVerifier {
  const { issuer, audience } = options;
  if (!issuer) throw new TypeError("issuer is required");
  if (!audience) throw new TypeError("audience is required");
  const algorithms = checkAlgorithms(options.algorithms ?? ASYMMETRIC_ALGORITHMS);
  const tolerance = options.clockToleranceSec ?? 5;
  const maxLifetimeSec = options.maxLifetimeSec ?? 86_400;
  if (!(maxLifetimeSec > 0)) throw new TypeError("maxLifetimeSec must be a positive number of seconds");
  const maxTokenLength = options.maxTokenLength ?? 8192;
  const clock = options.clock ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const maxStaleMs = options.maxStaleMs ?? 600_000;
  if (!(maxStaleMs >= maxAgeMs)) throw new TypeError("maxStaleMs must be at least maxAgeMs");

  const jwks = new JwksCache({
    issuer,
    metadataUrl: options.metadataUrl ?? metadataUrlFor(issuer),
    jwksUri: options.jwksUri,
    fetch: options.fetch ?? globalThis.fetch,
    headers: options.headers,
    timeoutMs: options.timeoutMs ?? 5000,
    cooldownMs: options.cooldownMs ?? 10_000,
    maxAgeMs,
    maxStaleMs,
    clock,
    onLoaded: options.onJwksLoaded,
    onError: options.onJwksError,
  });
  const cache = new TokenCache<CacheEntry>(options.cacheMaxEntries ?? 1000);
  let cacheGeneration = jwks.generation;

  /** Entries were verified against one key set: a new key set flushes them all. */
  function syncCacheGeneration(): void {
    if (cacheGeneration !== jwks.generation) {
      cache.clear();
      cacheGeneration = jwks.generation;
    }
  }

  async function verifySignedToken(token: string, nowMs: number): Promise<VerifiedAccessToken> {
    let generation = -1;
    const resolveKey = async (header: JWSHeaderParameters) => {
      const key = await jwks.resolve(header);
      generation = jwks.generation;
      return key;
    };
    // the signature and header (canonical spelling first, before anything reads the token: a cached token passed it on its first use)
    const { header: protectedHeader, payload: claimsSet } = await verifyCompactJws(token, resolveKey, algorithms);
    const payload = parseJsonObject(claimsSet);
    if (payload === undefined) throw new InvalidTokenError("the access token is malformed");
    checkAccessTokenType(protectedHeader);
    if (!("iss" in payload)) throw new InvalidTokenError("the access token has no iss claim");
    if (payload.iss !== issuer) throw new InvalidTokenError("the access token's issuer is not accepted");
    if (!("aud" in payload)) throw new InvalidTokenError("the access token has no aud claim");
    if (typeof payload.aud !== "string") throw new InvalidTokenError("the access token must name exactly one audience");
    if (payload.aud !== audience) throw new InvalidTokenError("the access token is not meant for this resource server");
    checkRequiredClaims(payload);
    checkLifetime(payload, maxLifetimeSec);
    const scopes = scopeTokens(payload.scope);
    const nowSec = Math.floor(nowMs / 1000);
    checkTimes(payload, nowSec, tolerance);

    const entry: CacheEntry = Object.freeze({
      claims: deepFreeze({ ...payload }),
      header: Object.freeze({
        alg: protectedHeader.alg as string,
        kid: typeof protectedHeader.kid === "string" ? protectedHeader.kid : undefined,
        typ: protectedHeader.typ as string,
      }),
      scopes: Object.freeze(scopes),
    });
    // a key set that changed while we verified may have dropped this key
    if (generation === jwks.generation) {
      syncCacheGeneration();
      cache.set(token, entry);
    }
    return Object.freeze({ ...entry, cached: false, checkedAt: nowSec });
  }

  return {
    async verify(token) {
      if (typeof token !== "string" || token === "") throw new InvalidTokenError("the access token is malformed");
      if (token.length > maxTokenLength) throw new InvalidTokenError("the access token is too large");
      syncCacheGeneration();
      const nowMs = clock();
      const hit = cache.get(token);
      // a hit is only as good as the keys that verified it: not once they are too stale to use
      if (hit === undefined || !jwks.ready) return verifySignedToken(token, nowMs);
      // a busy cache never asks for keys: keep them fresh from here too
      jwks.refreshIfOld();
      const nowSec = Math.floor(nowMs / 1000);
      try {
        checkTimes(hit.claims, nowSec, tolerance);
      } catch (error) {
        cache.delete(token);
        throw error;
      }
      // fields named, not spread: this is every request's path
      return Object.freeze({ claims: hit.claims, header: hit.header, scopes: hit.scopes, cached: true, checkedAt: nowSec });
    },
    async load() {
      await jwks.load();
    },
    get ready() {
      return jwks.ready;
    },
    get kids() {
      return jwks.kids;
    },
    issuer,
    audience,
    clockToleranceSec: tolerance,
    get cacheSize() {
      return cache.size;
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
