import { AccessTokenMinter } from "./access-token.js";
import { ClientAssertionVerifier } from "./client-assertion.js";
import { presentedCredentials, type ClientAuthMethod, type PresentedCredentials } from "./client-auth.js";
import { systemClock, type Clock, type EventLogger } from "./clock.js";
import { InvalidClientError, InvalidRequestError, OAuthError, UnsupportedGrantTypeError } from "./errors.js";
import { FailureLimiter } from "./failure-limiter.js";
import { inspectToken, type IntrospectionResponse } from "./introspection.js";
import { authorizationServerMetadata, type AuthorizationServerMetadata } from "./metadata.js";
import { decideGrant } from "./policy.js";
import type { ClientRegistration, ClientRegistry } from "./registry.js";
import { SecretVerifier, UNMATCHABLE_HASH } from "./secret-hash.js";
import type { SigningKeys } from "./signing-keys.js";

/** A request to the token or introspection endpoint, framework-free. */
export interface EndpointRequest {
  /** The `Authorization` header, if any. */
  authorization?: string;
  /** The parsed form parameters (see `parseForm`). */
  params: ReadonlyMap<string, string>;
  /** The caller's address, for rate limiting failed authentication. */
  remoteAddress: string;
  /** The HTTP request's id, logged as `req_id` with this request's events (the HTTP layer's lines carry it too). */
  requestId?: string;
}

/** RFC 6749 §5.1 successful token response. */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  scope: string;
}

export interface TokenIssuerOptions {
  /** The issuer identifier (RFC 8414 §2): an https URL in production, no trailing slash. */
  issuer: string;
  registry: ClientRegistry;
  keys: SigningKeys;
  /** Access token lifetime, seconds. */
  accessTokenTtl: number;
  clock?: Clock;
  logger?: EventLogger;
  /** The realm of the Basic challenge (default: the issuer). */
  realm?: string;
  /** Replace the default limiter (20 failures per client, 100 per address, per minute). */
  limiter?: FailureLimiter;
}

interface Authenticated {
  client: ClientRegistration;
  method: ClientAuthMethod;
  checks: string[];
}

/** The facts of `token.issued` that do not change from one token to the next of the same client and request. */
type IssuedFacts = {
  client_id: string;
  grant_type: string;
  auth_method: ClientAuthMethod;
  requested: Record<string, string>;
  header: { kid: string };
  expires_in: number;
  checks: string[];
};

const MAX_ISSUED_LOGGERS = 64;

const silent: EventLogger = { info: () => {}, warn: () => {} };

/**
 * The authorization server's core, without HTTP: the client credentials
 * grant (RFC 6749 §4.4), introspection (RFC 7662), metadata (RFC 8414) and
 * the JWK Set. Errors are thrown as {@link OAuthError}s; events are logged
 * with the names of the team brief: one line per outcome at `info`
 * (`token.issued`, `token.refused`), the steps before it at `debug`
 * (`token.requested`, `client.authenticated`).
 */
export class TokenIssuer {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly jwksUri: string;
  private registryNow: ClientRegistry;
  private readonly clock: Clock;
  private readonly logger: EventLogger;
  private readonly realm: string;
  private readonly limiter: FailureLimiter;
  private readonly secrets = new SecretVerifier();
  private readonly assertions: ClientAssertionVerifier;
  private readonly minter: AccessTokenMinter;
  /** See {@link TokenIssuer.issuedLogger}. */
  private readonly issuedLoggers = new Map<string, EventLogger>();

  constructor(private readonly options: TokenIssuerOptions) {
    this.issuer = options.issuer;
    this.tokenEndpoint = `${options.issuer}/token`;
    this.introspectionEndpoint = `${options.issuer}/introspect`;
    this.jwksUri = `${options.issuer}/.well-known/jwks.json`;
    this.registryNow = options.registry;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silent;
    this.realm = options.realm ?? options.issuer;
    this.limiter = options.limiter ?? new FailureLimiter({ clock: this.clock });
    this.assertions = new ClientAssertionVerifier({ issuer: this.issuer, tokenEndpoint: this.tokenEndpoint, clock: this.clock });
    this.minter = new AccessTokenMinter({ issuer: this.issuer, ttlSeconds: options.accessTokenTtl, keys: options.keys, clock: this.clock });
  }

  /** The registry in use. */
  get registry(): ClientRegistry {
    return this.registryNow;
  }

  /** Swaps in a reloaded registry; takes effect for the next request (e.g. a client disabled). */
  setRegistry(registry: ClientRegistry): void {
    this.registryNow = registry;
  }

  /** RFC 6749 §4.4.2–4.4.3: the client credentials grant at the token endpoint. */
  async token(request: EndpointRequest): Promise<TokenResponse> {
    const { params } = request;
    let clientId: string | undefined;
    try {
      const presented = presentedCredentials(request.authorization, params, this.realm);
      clientId = this.claimedClientId(presented);
      const requested = optional(params, "scope", "resource", "audience");
      // token.issued / token.refused say everything the demo and an operator need; the steps before
      // them are debug detail, and their lines are not even built unless debug is on (bench/FINDINGS.md §7).
      const debug = this.debugging();
      if (debug) {
        debug(
          { req_id: request.requestId, grant_type: params.get("grant_type"), auth_method: presented.method, client_id: clientId, ...requested },
          "token.requested",
        );
      }
      const { client, method, checks } = await this.authenticate(presented, clientId, request.remoteAddress);
      if (debug) debug({ req_id: request.requestId, client_id: client.clientId, auth_method: method }, "client.authenticated");

      const grantType = params.get("grant_type");
      if (grantType === undefined) throw new InvalidRequestError("grant_type is required");
      if (grantType !== "client_credentials") throw new UnsupportedGrantTypeError("only grant_type=client_credentials is supported");

      const decision = decideGrant(client, this.registryNow, requested);
      const minted = this.minter.mint({ clientId: client.clientId, audience: decision.audience.id, scope: decision.scope });
      // no object spread here: on the hot path it costs more than the rest of the line's building
      const facts = {
        client_id: client.clientId,
        grant_type: grantType,
        auth_method: method,
        // What the client asked for, as sent (scope, resource, audience; each only if present).
        requested,
        header: minted.header,
        expires_in: minted.expiresIn,
        checks: [...checks, ...decision.checks],
      };
      const issued = this.issuedLogger(facts);
      if (issued) issued.info({ req_id: request.requestId, claims: minted.claims }, "token.issued");
      else this.logger.info({ req_id: request.requestId, ...facts, claims: minted.claims }, "token.issued");
      return { access_token: minted.token, token_type: "Bearer", expires_in: minted.expiresIn, scope: decision.scope };
    } catch (error) {
      this.refused(error, clientId, request);
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
    try {
      const presented = presentedCredentials(request.authorization, request.params, this.realm);
      clientId = this.claimedClientId(presented);
      const { client } = await this.authenticate(presented, clientId, request.remoteAddress);
      const token = request.params.get("token");
      if (token === undefined) throw new InvalidRequestError("token is required");
      const result = await inspectToken(token, { issuer: this.issuer, keys: this.options.keys, registry: this.registryNow, clock: this.clock });
      this.logger.info({ req_id: request.requestId, client_id: client.clientId, active: result.active }, "token.introspected");
      return result;
    } catch (error) {
      if (error instanceof OAuthError) {
        this.logger.info(
          { req_id: request.requestId, error: error.error, error_description: error.description, client_id: clientId },
          "introspection.refused",
        );
      }
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
   * The logger `token.issued` goes through: a child carrying `facts`, which
   * are the same for every token of a client asking the same way, so pino
   * serializes them once rather than per token (about 5 % of an EdDSA
   * token's CPU). Children are kept per distinct set of facts, a bounded few.
   * `undefined` for a logger without `child`: the caller writes the whole line.
   */
  private issuedLogger(facts: IssuedFacts): EventLogger | undefined {
    const { logger } = this;
    if (logger.child === undefined) return undefined;
    // every fact is in the key: a child must never carry the facts of another token
    const { requested } = facts;
    const key = [facts.client_id, facts.grant_type, facts.auth_method, requested.scope, requested.resource, requested.audience, facts.header.kid, facts.expires_in, ...facts.checks].join("\n");
    let child = this.issuedLoggers.get(key);
    if (child === undefined) {
      if (this.issuedLoggers.size >= MAX_ISSUED_LOGGERS) this.issuedLoggers.clear();
      child = logger.child(facts);
      this.issuedLoggers.set(key, child);
    }
    return child;
  }

  /** The logger's `debug`, bound, when debug lines are written; else `undefined`. */
  private debugging(): ((fields: object, event: string) => void) | undefined {
    const { logger } = this;
    if (logger.debug === undefined || logger.isLevelEnabled?.("debug") === false) return undefined;
    return logger.debug.bind(logger);
  }

  private claimedClientId(presented: PresentedCredentials): string | undefined {
    if (presented.method === "private_key_jwt") return presented.clientId ?? this.assertions.claimedClientId(presented.assertion);
    return presented.clientId;
  }

  private async authenticate(presented: PresentedCredentials, clientId: string | undefined, address: string): Promise<Authenticated> {
    const registry = this.registryNow;
    // Lock accounting only for registered ids: made-up ids must not crowd the table or lock anyone.
    const known = clientId !== undefined && registry.client(clientId) !== undefined ? clientId : undefined;
    this.limiter.check(known, address);
    try {
      const result = await this.verifyCredentials(presented, registry);
      this.limiter.success(result.client.clientId, address);
      return result;
    } catch (error) {
      if (error instanceof InvalidClientError) this.limiter.failure(known, address);
      throw error;
    }
  }

  private async verifyCredentials(presented: PresentedCredentials, registry: ClientRegistry): Promise<Authenticated> {
    switch (presented.method) {
      case "none":
        // RFC 9110 §15.5.2: a 401 carries a challenge; Basic is the method every client here can use.
        throw new InvalidClientError("client authentication is required", { basicRealm: this.realm });
      case "client_secret_basic":
      case "client_secret_post": {
        const client = registry.client(presented.clientId);
        // Always hash and compare, even for an unknown client, so timing does not reveal which ids exist.
        const matches = await this.secrets.verify(presented.secret, client?.secretHash ?? UNMATCHABLE_HASH);
        if (client === undefined || client.secretHash === undefined || client.disabled || !matches) {
          throw new InvalidClientError(
            "client authentication failed",
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

  private refused(error: unknown, clientId: string | undefined, request: EndpointRequest): void {
    if (!(error instanceof OAuthError)) return;
    this.logger.info(
      {
        req_id: request.requestId,
        error: error.error,
        error_description: error.description,
        client_id: clientId,
      },
      "token.refused",
    );
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
