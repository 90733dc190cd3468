/**
 * Issuance for the OAuth 2.0 client credentials grant (RFC 6749 §4.4),
 * framework-free: who may ask for what, how a client proves who it is, and
 * the signed RFC 9068 access token it gets. The Express routes are the
 * `./express` subpath (`oauthRouter`).
 *
 * Start with {@link TokenIssuer}: give it a {@link ClientRegistry} and
 * {@link SigningKeys}, then call `token()` and `introspect()` (or mount
 * `oauthRouter(issuer)`). It never reads `process.env`, never listens, starts
 * no timer and logs nothing: it tells its `on*` listeners what happened.
 *
 * @packageDocumentation
 */

/** The authorization server's core: `token()`, `introspect()`, `metadata()`, `jwks()`, and its events. */
export { TokenIssuer } from "./token-issuer.js";
export type {
  DPoPOptions,
  EndpointRequest,
  RequestRefusedEvent,
  TokenIntrospectedEvent,
  TokenIssuedEvent,
  TokenIssuerOptions,
  TokenResponse,
} from "./token-issuer.js";
/** What an issued token holds (RFC 9068 §2), as `TokenIssuedEvent` reports it. */
export type { AccessTokenClaims, AccessTokenHeader } from "./access-token.js";
/** The client authentication methods of RFC 6749 §2.3 and RFC 7523 §2.2. */
export type { ClientAuthMethod } from "./client-auth.js";
/** RFC 7662 §2.2 introspection answers and RFC 8414 §2 metadata, as the issuer returns them. */
export type { IntrospectionResponse } from "./introspection.js";
export type { AuthorizationServerMetadata } from "./metadata.js";

/** Signing keys: kept in a key ring (files, or a database), generated, rotated (announce → sign → retire), published as a JWK Set. */
export { rotateKeyDirectory, rotateKeys, SigningKeys } from "./signing-keys.js";
export type { KeyLocation, LoadedKey, SigningKeysOptions, SigningKeysSchedule } from "./signing-keys.js";
export type { KeyRing, KeyRingChange } from "./key-ring.js";
export type { NewKey, StoredKey } from "./key-files.js";
/** The algorithms access tokens are signed with, and the key file format's rules. */
export { isKeyFileName, KeyFileError, SIGNING_ALGORITHMS } from "./key-files.js";
export type { SigningAlgorithm } from "./key-files.js";

/** Clients and resource servers: the registry, its file format, and the built-in development registry. */
export { ClientRegistry } from "./registry.js";
export type { ClientKey, ClientRegistration, RegistryData, ResourceServer } from "./registry.js";
export { loadRegistryFile, loadRegistryFileSync, parseRegistry, RegistryError } from "./registry-file.js";
export { DEVELOPMENT_REGISTRY, developmentRegistry } from "./development-registry.js";

/** Client secrets are stored only as hashes (`client_secret_hash` in the registry). */
export { generateSecret, hashSecret } from "./secret-hash.js";
export type { SecretHashAlgorithm } from "./secret-hash.js";

/** The brute-force limits on client authentication (RFC 6749 §10.10), to tune through `TokenIssuerOptions.limits`. */
export type { FailureLimiterOptions } from "./failure-limiter.js";

/**
 * What must outlive a request, or be seen by every instance, behind small interfaces
 * (`TokenIssuerOptions.stores`): the callers that have authenticated, the client
 * assertion `jti`s already used, and the failure counts. The in-memory implementations
 * are the defaults; a server implements them on its database, or on Redis.
 * A store in an outage throws `StoreUnavailableError` (503, fail closed).
 */
export { MemoryFailureCounts } from "./failure-counts.js";
export type { FailureBucket, FailureCounts, FailureReservation, FailureTable } from "./failure-counts.js";
export { MemoryTrustedCallers } from "./trusted-callers.js";
export type { TrustedCallers } from "./trusted-callers.js";
export { MemoryUsedIdentifiers, ReplayQuotaError } from "./used-identifiers.js";
export type { UsedIdentifiers } from "./used-identifiers.js";

/**
 * One error class per OAuth error code: `status`, `headers`, `expose`, `toJSON()` for the app's error handler;
 * `invalid_dpop_proof` and `use_dpop_nonce` are RFC 9449's (§5, §8).
 */
export {
  InvalidClientError,
  InvalidDPoPProofError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  OAuthError,
  ServerError,
  StoreUnavailableError,
  TooManyRequestsError,
  UnsupportedGrantTypeError,
  UseDPoPNonceError,
} from "./errors.js";

/** Time, injectable so tests can move it. */
export { systemClock } from "./clock.js";
export type { Clock } from "./clock.js";
