import type { KeyObject } from "node:crypto";
import { mintAccessToken, type AccessTokenClaims, type AccessTokenHeader } from "./access-token.js";
import { ClientAssertionVerifier } from "./client-assertion.js";
import { presentedCredentials, type ClientAuthMethod, type PresentedCredentials } from "./client-auth.js";
import { systemClock, type Clock } from "./clock.js";
import { DPoPNonces } from "@m2m/dpop-proof";
import { DPoPProofVerifier, type VerifiedDPoPProof } from "./dpop-proof.js";
import type { FailureCounts } from "./failure-counts.js";
import { InvalidClientError, InvalidDPoPProofError, InvalidRequestError, OAuthError, UnsupportedGrantTypeError } from "./errors.js";
import { FailureLimiter, type FailureLimiterOptions } from "./failure-limiter.js";
import { inspectToken, type IntrospectionResponse } from "./introspection.js";
import { authorizationServerMetadata, type AuthorizationServerMetadata } from "./metadata.js";
import { decideGrant } from "./policy.js";
import type { ClientRegistration, ClientRegistry } from "./registry.js";
import { SecretVerifier, UNMATCHABLE_HASH } from "./secret-hash.js";
import type { SigningKeys } from "./signing-keys.js";
import type { TrustedCallers } from "./trusted-callers.js";
import { inSpan, tracedListeners } from "./tracing.js";
import { MemoryUsedIdentifiers, type UsedIdentifiers } from "./used-identifiers.js";

/** A request to the token or introspection endpoint, framework-free. */
export interface EndpointRequest {
  /** The `Authorization` header, if any. */
  authorization?: string;
  /** The parsed form parameters (the `./express` router parses them strictly). */
  params: ReadonlyMap<string, string>;
  /** The caller's address, for rate limiting failed authentication. */
  remoteAddress: string;
  /** Every `DPoP` header field of the request (RFC 9449 §4.1), in order; none when absent. */
  dpop?: readonly string[];
}

/** RFC 6749 §5.1 successful token response; `DPoP` for a token bound to the proof's key (RFC 9449 §5). */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer" | "DPoP";
  expires_in: number;
  scope: string;
}

/** What {@link TokenIssuerOptions.onIssued} is told: a token left the server (steps 2 and 3). */
export interface TokenIssuedEvent {
  clientId: string;
  grantType: "client_credentials";
  authMethod: ClientAuthMethod;
  /** What the client asked for, as sent: `scope`, `resource`, `audience`, each only if present. */
  requested: Readonly<Record<string, string>>;
  header: AccessTokenHeader;
  claims: AccessTokenClaims;
  expiresIn: number;
  /** The step-2 checks that passed, in words, e.g. `"secret matches"`, `"scope allowed: charge:customer"`. */
  checks: readonly string[];
  /** For a DPoP-bound token (RFC 9449 §5): the proof's key thumbprint (the token's `cnf.jkt`) and algorithm. */
  dpop?: { jkt: string; alg: string };
}

/** What {@link TokenIssuerOptions.onRefused} is told: the token or introspection endpoint said no. */
export interface RequestRefusedEvent {
  endpoint: "token" | "introspection";
  /**
   * The answer the client got. For `invalid_client`, its `reason` says what
   * went wrong; the client was only told that authentication failed.
   */
  error: OAuthError;
  /**
   * The client id the request presented, not authenticated: it may be
   * anything (a secret pasted into the wrong field), so never log it as it is.
   */
  presentedClientId: string | undefined;
  /** How the request tried to authenticate, when that could be told (`none`: it did not try). */
  authMethod: ClientAuthMethod | "none" | undefined;
}

/** What {@link TokenIssuerOptions.onIntrospected} is told (RFC 7662). */
export interface TokenIntrospectedEvent {
  /** The authenticated client that asked. */
  clientId: string;
  active: boolean;
}

export interface TokenIssuerOptions {
  /** The issuer identifier (RFC 8414 §2): an https URL in production, no trailing slash. */
  issuer: string;
  registry: ClientRegistry;
  keys: SigningKeys;
  /** Access token lifetime, seconds. */
  accessTokenTtl: number;
  clock?: Clock;
  /** The realm of the Basic challenge (default: the issuer). */
  realm?: string;
  /** The brute-force limits (default: 20 failures per client, 100 per address, per minute). */
  limits?: Omit<FailureLimiterOptions, "clock" | "trusted" | "counts">;
  /**
   * Where what must outlive a request, or be seen by every instance, is
   * kept: the callers that have authenticated, the client assertions already
   * used, and the failure counts. Default: this process's memory, forgotten
   * at restart; apps/auth-server keeps the first two in its database, and
   * all three where every instance shares them when it runs as several.
   * A store that cannot answer throws `StoreUnavailableError`: the request
   * is refused with 503, never let through unchecked.
   */
  stores?: { trustedCallers?: TrustedCallers; usedIdentifiers?: UsedIdentifiers; failureCounts?: FailureCounts };
  /** Sender-constrained tokens (RFC 9449): how proofs are checked, and whether nonces are required. */
  dpop?: DPoPOptions;
  /** Called for every token issued, before the response leaves (log `token.issued` here). */
  onIssued?: (event: TokenIssuedEvent) => void;
  /** Called for every refusal at either endpoint (log `token.refused` here). */
  onRefused?: (event: RequestRefusedEvent) => void;
  /** Called for every answered introspection request. */
  onIntrospected?: (event: TokenIntrospectedEvent) => void;
}

/** How {@link TokenIssuer} checks DPoP proofs at the token endpoint (RFC 9449 §4.3, §8). */
export interface DPoPOptions {
  /** Proof `alg`s accepted, asymmetric only (default: RS, PS, ES, EdDSA). Announced as `dpop_signing_alg_values_supported`. */
  algorithms?: readonly string[];
  /** How old a proof's `iat` may be, seconds (default 60). */
  maxAgeSeconds?: number;
  /** How far ahead of this server's clock a proof's `iat` may be, seconds (default 5). */
  leewaySeconds?: number;
  /** Every proof must carry a current server nonce (RFC 9449 §8); default false. */
  requireNonce?: boolean;
  /**
   * The secret nonces are derived from: instances that share it accept each
   * other's nonces. Default: a random one, good for this process only.
   */
  nonceSecret?: string | Uint8Array | KeyObject;
  /** How long one nonce is handed out, seconds (default 60); each is accepted a step either side. */
  nonceStepSeconds?: number;
}

interface Authenticated {
  client: ClientRegistration;
  method: ClientAuthMethod;
  checks: string[];
}

/**
 * The authorization server's core, without HTTP: the client credentials
 * grant (RFC 6749 §4.4), introspection (RFC 7662), metadata (RFC 8414) and
 * the JWK Set. Refusals are thrown as {@link OAuthError}s; what happened is
 * told to the `on*` listeners of its options, never logged here.
 */
export class TokenIssuer {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly jwksUri: string;
  private registryNow: ClientRegistry;
  private readonly clock: Clock;
  private readonly realm: string;
  private readonly limiter: FailureLimiter;
  private readonly secrets = new SecretVerifier();
  private readonly assertions: ClientAssertionVerifier;
  /** The `on*` listeners of the options, each after describing its event on the active span. */
  private readonly events: ReturnType<typeof tracedListeners>;
  private readonly proofs: DPoPProofVerifier;
  private readonly nonces: DPoPNonces | undefined;

  constructor(private readonly options: TokenIssuerOptions) {
    this.issuer = options.issuer;
    this.tokenEndpoint = `${options.issuer}/token`;
    this.introspectionEndpoint = `${options.issuer}/introspect`;
    this.jwksUri = `${options.issuer}/.well-known/jwks.json`;
    this.registryNow = options.registry;
    this.clock = options.clock ?? systemClock;
    this.realm = options.realm ?? options.issuer;
    this.events = tracedListeners(options);
    this.limiter = new FailureLimiter({ ...options.limits, clock: this.clock, trusted: options.stores?.trustedCallers, counts: options.stores?.failureCounts });
    const usedIdentifiers = options.stores?.usedIdentifiers ?? new MemoryUsedIdentifiers();
    this.assertions = new ClientAssertionVerifier({ issuer: this.issuer, clock: this.clock, usedIdentifiers });
    const dpop = options.dpop ?? {};
    this.nonces = dpop.requireNonce
      ? new DPoPNonces({ secret: dpop.nonceSecret, stepSeconds: dpop.nonceStepSeconds, clock: this.clock })
      : undefined;
    this.proofs = new DPoPProofVerifier({
      algorithms: dpop.algorithms,
      maxAgeSeconds: dpop.maxAgeSeconds,
      leewaySeconds: dpop.leewaySeconds,
      nonces: this.nonces,
      usedIdentifiers,
      clock: this.clock,
    });
  }

  /** The DPoP proof `alg`s accepted (RFC 9449 §5.1 `dpop_signing_alg_values_supported`). */
  get dpopAlgorithms(): string[] {
    return this.proofs.supportedAlgorithms;
  }

  /**
   * The server nonce to send now in `DPoP-Nonce` (RFC 9449 §8.2: a server
   * may hand out a fresh one on any answer), or `undefined` when nonces are
   * not required.
   */
  dpopNonce(): string | undefined {
    return this.nonces?.current();
  }

  /** The registry in use. */
  get registry(): ClientRegistry {
    return this.registryNow;
  }

  /** Swaps in a reloaded registry; takes effect for the next request (e.g. a client disabled). */
  setRegistry(registry: ClientRegistry): void {
    this.registryNow = registry;
  }

  /**
   * RFC 6749 §4.4.2–4.4.3: the client credentials grant at the token
   * endpoint, in a `TokenIssuer.token` span that its events describe.
   */
  token(request: EndpointRequest): Promise<TokenResponse> {
    return inSpan("TokenIssuer.token", () => this.issue(request));
  }

  private async issue(request: EndpointRequest): Promise<TokenResponse> {
    const { params } = request;
    let clientId: string | undefined;
    let triedMethod: RequestRefusedEvent["authMethod"];
    try {
      const presented = presentedCredentials(request.authorization, params, this.realm);
      triedMethod = presented.method;
      clientId = this.claimedClientId(presented);
      const { client, method, checks } = await this.authenticate(presented, clientId, request.remoteAddress);

      const grantType = params.get("grant_type");
      if (grantType === undefined) throw new InvalidRequestError("grant_type is required");
      if (grantType !== "client_credentials") throw new UnsupportedGrantTypeError("only grant_type=client_credentials is supported");

      const proof = await this.dpopProof(request.dpop ?? [], client);
      const requested = optional(params, "scope", "resource", "audience");
      const decision = decideGrant(client, this.registryNow, requested);
      const minted = await mintAccessToken(
        { clientId: client.clientId, audience: decision.audience.id, scope: decision.scope, ...(proof ? { jkt: proof.jkt } : {}) },
        { issuer: this.issuer, ttlSeconds: this.options.accessTokenTtl, keys: this.options.keys, clock: this.clock },
      );
      this.events.onIssued({
        clientId: client.clientId,
        grantType,
        authMethod: method,
        requested,
        header: minted.header,
        claims: minted.claims,
        expiresIn: minted.expiresIn,
        checks: [...checks, ...(proof ? dpopChecks(proof) : []), ...decision.checks],
        ...(proof ? { dpop: { jkt: proof.jkt, alg: proof.alg } } : {}),
      });
      return { access_token: minted.token, token_type: proof ? "DPoP" : "Bearer", expires_in: minted.expiresIn, scope: decision.scope };
    } catch (error) {
      this.refused("token", error, clientId, triedMethod);
      throw error;
    }
  }

  /**
   * RFC 7662 §2: tells an authenticated client whether a token is live:
   * signed by one of our published keys, `typ` `at+jwt`, our `iss`, not
   * expired, and its client still registered and enabled.
   */
  async introspect(request: EndpointRequest): Promise<IntrospectionResponse> {
    let clientId: string | undefined;
    let triedMethod: RequestRefusedEvent["authMethod"];
    try {
      const presented = presentedCredentials(request.authorization, request.params, this.realm);
      triedMethod = presented.method;
      clientId = this.claimedClientId(presented);
      const { client } = await this.authenticate(presented, clientId, request.remoteAddress);
      const token = request.params.get("token");
      if (token === undefined) throw new InvalidRequestError("token is required");
      const result = await inspectToken(token, { issuer: this.issuer, keys: this.options.keys, registry: this.registryNow, clock: this.clock });
      this.events.onIntrospected({ clientId: client.clientId, active: result.active });
      return result;
    } catch (error) {
      this.refused("introspection", error, clientId, triedMethod);
      throw error;
    }
  }

  /** RFC 8414 §2 metadata document. */
  metadata(): AuthorizationServerMetadata {
    return authorizationServerMetadata(this);
  }

  /** RFC 7517 §5 JWK Set of the published public keys. */
  jwks(): ReturnType<SigningKeys["jwks"]> {
    return this.options.keys.jwks();
  }

  /**
   * RFC 9449 §5: a request with a `DPoP` header gets a token bound to the
   * proof's key, once the proof passes every check; a client registered
   * with `dpop_bound_access_tokens` (§5.2) must send one. Looked at only
   * after client authentication, so only registered clients can have a
   * proof's `jti` remembered.
   */
  private async dpopProof(fields: readonly string[], client: ClientRegistration): Promise<VerifiedDPoPProof | undefined> {
    if (fields.length === 0) {
      if (client.dpopBoundAccessTokens) throw new InvalidDPoPProofError("the client is registered with dpop_bound_access_tokens and sent no proof");
      return undefined;
    }
    return this.proofs.verify(fields, { method: "POST", uri: this.tokenEndpoint });
  }

  private claimedClientId(presented: PresentedCredentials): string | undefined {
    if (presented.method === "private_key_jwt") return presented.clientId ?? this.assertions.claimedClientId(presented.assertion);
    return presented.clientId;
  }

  private async authenticate(presented: PresentedCredentials, clientId: string | undefined, address: string): Promise<Authenticated> {
    const registry = this.registryNow;
    const attempt = await this.limiter.begin(clientId, clientId !== undefined && registry.client(clientId) !== undefined, address);
    let result: Authenticated;
    try {
      result = await this.verifyCredentials(presented, registry);
    } catch (error) {
      // a wrong credential stays counted; anything else (a store that failed) was not a guess
      if (error instanceof InvalidClientError) attempt.failed();
      else attempt.abandoned();
      throw error;
    }
    await attempt.succeeded(result.client.clientId);
    return result;
  }

  private async verifyCredentials(presented: PresentedCredentials, registry: ClientRegistry): Promise<Authenticated> {
    switch (presented.method) {
      case "none":
        // RFC 9110 §15.5.2: a 401 carries a challenge; Basic is the method every client here can use.
        throw new InvalidClientError("no client authentication in the request", { basicRealm: this.realm });
      case "client_secret_basic":
      case "client_secret_post": {
        const client = registry.client(presented.clientId);
        // Always hash and compare, even for an unknown client, so timing does not reveal which ids exist.
        const matches = await this.secrets.verify(presented.secret, client?.secretHash ?? UNMATCHABLE_HASH);
        if (client === undefined || client.secretHash === undefined || client.disabled || !matches) {
          // one reason for all four: the log must not tell a registered client id from an unknown one either
          throw new InvalidClientError(
            "no enabled client with this id and secret",
            presented.method === "client_secret_basic" ? { basicRealm: this.realm } : {},
          );
        }
        return { client, method: presented.method, checks: ["client known", "secret matches"] };
      }
      case "private_key_jwt": {
        const { client, key } = await this.assertions.verify(presented.assertion, registry);
        if (presented.clientId !== undefined && presented.clientId !== client.clientId) {
          throw new InvalidClientError("client_id does not match the client assertion");
        }
        return {
          client,
          method: "private_key_jwt",
          checks: ["client known", `assertion verified (${key.alg}${key.kid ? `, kid ${key.kid}` : ""})`, "assertion jti not seen before"],
        };
      }
    }
  }

  private refused(
    endpoint: RequestRefusedEvent["endpoint"],
    error: unknown,
    presentedClientId: string | undefined,
    authMethod: RequestRefusedEvent["authMethod"],
  ): void {
    if (error instanceof OAuthError) this.events.onRefused({ endpoint, error, presentedClientId, authMethod });
  }
}

function optional(params: ReadonlyMap<string, string>, ...names: ("scope" | "resource" | "audience")[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = params.get(name);
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

/** The DPoP checks that passed, in words, for `TokenIssuedEvent.checks`. */
function dpopChecks(proof: VerifiedDPoPProof): string[] {
  return [
    `DPoP proof verified (${proof.alg}, jkt ${proof.jkt})`,
    "DPoP proof htm and htu match this request, iat within the window",
    ...(proof.nonceChecked ? ["DPoP nonce current"] : []),
    "DPoP proof jti not seen before",
  ];
}
