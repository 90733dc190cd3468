import { decodeJwt, errors as joseErrors, jwtVerify, type JWTHeaderParameters } from "jose";
import type { Clock } from "./clock.js";
import { InvalidClientError, ServerError, TooManyRequestsError } from "./errors.js";
import type { ClientKey, ClientRegistration, ClientRegistry } from "./registry.js";
import { ReplayCache, ReplayQuotaError } from "./replay-cache.js";

/** RFC 7523 §2.2 `client_assertion_type` for JWT client authentication. */
export const JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export interface ClientAssertionOptions {
  issuer: string;
  tokenEndpoint: string;
  clock: Clock;
  /** Longest accepted assertion lifetime (exp − now), seconds (default 300). */
  maxLifetimeSeconds?: number;
  /** Clock skew tolerated, seconds (default 30). */
  leewaySeconds?: number;
  replayCache?: ReplayCache;
}

/**
 * Verifies `private_key_jwt` client assertions (RFC 7523 §2.2 and §3,
 * RFC 7521 §4.2): signed with one of the client's registered public keys
 * by an asymmetric algorithm, `iss` = `sub` = the client id, `aud` the
 * issuer or the token endpoint, an `exp` at most a few minutes away, and a
 * `jti` never seen before within its lifetime.
 */
export class ClientAssertionVerifier {
  private readonly replay: ReplayCache;
  private readonly maxLifetime: number;
  private readonly leeway: number;

  constructor(private readonly options: ClientAssertionOptions) {
    this.replay = options.replayCache ?? new ReplayCache();
    this.maxLifetime = options.maxLifetimeSeconds ?? 300;
    this.leeway = options.leewaySeconds ?? 30;
  }

  /** The client id an assertion claims (its `iss`), read before verification to find the key; undefined if unreadable. */
  claimedClientId(assertion: string): string | undefined {
    try {
      const { iss } = decodeJwt(assertion);
      return typeof iss === "string" ? iss : undefined;
    } catch {
      return undefined;
    }
  }

  /** Returns the authenticated client with the key that verified, or throws `invalid_client`. */
  async verify(assertion: string, registry: ClientRegistry): Promise<{ client: ClientRegistration; key: ClientKey }> {
    const clientId = this.claimedClientId(assertion);
    if (clientId === undefined) throw new InvalidClientError("the client assertion is not a readable JWT with an iss claim");
    const client = registry.client(clientId);
    if (client === undefined || client.disabled || client.keys === undefined) {
      throw new InvalidClientError("client authentication failed");
    }
    const keys = client.keys;
    let used: ClientKey | undefined;
    const now = this.options.clock();
    let payload;
    try {
      ({ payload } = await jwtVerify(
        assertion,
        (header: JWTHeaderParameters) => {
          used = keys.find((k) => k.alg === header.alg && (header.kid === undefined || k.kid === undefined || k.kid === header.kid));
          if (used === undefined) throw new InvalidClientError("no registered key of the client fits the assertion's alg and kid");
          return used.key;
        },
        {
          // Only the algorithms of the client's own (asymmetric) keys: never none, never HMAC (RFC 8725 §2.1, §3.1).
          algorithms: [...new Set(keys.map((k) => k.alg))],
          issuer: clientId,
          subject: clientId,
          audience: [this.options.issuer, this.options.tokenEndpoint],
          requiredClaims: ["exp", "jti"],
          clockTolerance: this.leeway,
          currentDate: new Date(now),
        },
      ));
    } catch (error) {
      if (error instanceof InvalidClientError) throw error;
      throw new InvalidClientError(`the client assertion is invalid: ${describe(error)}`);
    }
    const nowSeconds = now / 1000;
    if (payload.exp! > nowSeconds + this.maxLifetime + this.leeway) {
      throw new InvalidClientError(`the client assertion lives too long (exp at most ${this.maxLifetime} s ahead)`);
    }
    if (payload.iat !== undefined && payload.iat > nowSeconds + this.leeway) {
      throw new InvalidClientError("the client assertion was issued in the future");
    }
    if (typeof payload.jti !== "string" || payload.jti === "") throw new InvalidClientError("the client assertion needs a jti");
    let fresh: boolean;
    try {
      fresh = this.replay.use(clientId, payload.jti, (payload.exp! + this.leeway) * 1000, now);
    } catch (error) {
      if (error instanceof ReplayQuotaError) {
        throw new TooManyRequestsError("too many client assertions from this client in flight; retry shortly", this.maxLifetime);
      }
      throw new ServerError("too many client assertions in flight; retry shortly");
    }
    if (!fresh) throw new InvalidClientError("the client assertion was already used (jti replayed)");
    return { client, key: used! };
  }
}

/** A short, safe reason from a jose error (never the assertion itself). */
function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim ${error.claim} ${error.reason === "check_failed" ? "is wrong" : "is missing or malformed"}`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm not allowed";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "signature does not verify";
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return "malformed";
  return "cannot be verified";
}
