import { decodeJwt, errors as joseErrors, jwtVerify, type JWTHeaderParameters } from "jose";
import type { Clock } from "./clock.js";
import { InvalidClientError, OAuthError, ServerError, TooManyRequestsError } from "./errors.js";
import { jwsHasDuplicateMemberNames } from "./json.js";
import type { ClientKey, ClientRegistration, ClientRegistry } from "./registry.js";
import { MemoryUsedIdentifiers, ReplayQuotaError, type UsedIdentifiers } from "./used-identifiers.js";

/** RFC 7523 §2.2 `client_assertion_type` for JWT client authentication. */
export const JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export interface ClientAssertionOptions {
  issuer: string;
  clock: Clock;
  /** Longest accepted assertion lifetime (exp − now), seconds (default 300). */
  maxLifetimeSeconds?: number;
  /** Clock skew tolerated, seconds (default 30). */
  leewaySeconds?: number;
  /** Where used `jti`s are remembered (default: this process's memory). */
  usedIdentifiers?: UsedIdentifiers;
}

/**
 * Verifies `private_key_jwt` client assertions (RFC 7523 §2.2 and §3,
 * RFC 7521 §4.2): signed with one of the client's registered public keys
 * by an asymmetric algorithm, `iss` = `sub` = the client id, `aud` exactly
 * the issuer identifier, an `exp` at most a few minutes away, and a `jti`
 * never seen before within its lifetime.
 *
 * `aud` must be the issuer identifier as a single string: RFC 7523 §3 also
 * allows the token endpoint URL and arrays, and that latitude is what the
 * audience-injection attack on `private_key_jwt` used (an assertion made for
 * one server, accepted by another whose URL it also listed); the update of
 * RFC 7523 that closes it requires exactly the issuer.
 *
 * Every refusal that could be caused without the client's key says the same
 * thing (`reason`, for the log): which of "unknown client", "wrong key",
 * "wrong algorithm" it was would tell who is registered and with what keys.
 */
export class ClientAssertionVerifier {
  private readonly used: UsedIdentifiers;
  private readonly maxLifetime: number;
  private readonly leeway: number;

  constructor(private readonly options: ClientAssertionOptions) {
    this.used = options.usedIdentifiers ?? new MemoryUsedIdentifiers();
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
    if (jwsHasDuplicateMemberNames(assertion)) throw new InvalidClientError("the client assertion names a member twice in its header or claims");
    const client = registry.client(clientId);
    if (client === undefined || client.disabled || client.keys === undefined) throw new InvalidClientError(NOT_VERIFIED);
    const keys = client.keys;
    let used: ClientKey | undefined;
    const now = this.options.clock();
    let payload;
    try {
      ({ payload } = await jwtVerify(
        assertion,
        (header: JWTHeaderParameters) => {
          used = keys.find((k) => k.alg === header.alg && (header.kid === undefined || k.kid === undefined || k.kid === header.kid));
          if (used === undefined) throw new InvalidClientError(NOT_VERIFIED);
          return used.key;
        },
        {
          // Only the algorithms of the client's own (asymmetric) keys: never none, never HMAC (RFC 8725 §2.1, §3.1).
          algorithms: [...new Set(keys.map((k) => k.alg))],
          issuer: clientId,
          subject: clientId,
          audience: this.options.issuer,
          requiredClaims: ["exp", "jti"],
          clockTolerance: this.leeway,
          currentDate: new Date(now),
        },
      ));
    } catch (error) {
      if (error instanceof InvalidClientError) throw error;
      throw new InvalidClientError(describe(error));
    }
    if (payload.aud !== this.options.issuer) throw new InvalidClientError("the client assertion's aud is not exactly the issuer identifier");
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
      fresh = await this.used.use(clientId, payload.jti, (payload.exp! + this.leeway) * 1000, now);
    } catch (error) {
      if (error instanceof ReplayQuotaError) {
        throw new TooManyRequestsError("too many client assertions from this client in flight; retry shortly", this.maxLifetime);
      }
      // a store that cannot answer (StoreUnavailableError) says so itself: never a replay let through
      if (error instanceof OAuthError) throw error;
      throw new ServerError("too many client assertions in flight; retry shortly");
    }
    if (!fresh) throw new InvalidClientError("the client assertion was already used (jti replayed)");
    return { client, key: used! };
  }
}

/** The one reason for every refusal that does not need the client's key to cause. */
const NOT_VERIFIED = "the client assertion does not verify with a key registered for its client";

/**
 * A short reason from a jose error, for the log (never the assertion). The
 * claims are checked only once the signature verified, so their reasons can
 * be told apart; everything before that is {@link NOT_VERIFIED}.
 */
function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "the client assertion has expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return `the client assertion's ${error.claim} claim ${error.reason === "check_failed" ? "is wrong" : "is missing or malformed"}`;
  }
  return NOT_VERIFIED;
}
