export { AccessTokenMinter } from "./access-token.js";
export type { AccessTokenClaims, AccessTokenHeader, MintedToken } from "./access-token.js";
export { CompactJwsSigner } from "./jws.js";
export { ClientAssertionVerifier, JWT_BEARER_ASSERTION_TYPE } from "./client-assertion.js";
export type { ClientAssertionOptions } from "./client-assertion.js";
export { presentedCredentials } from "./client-auth.js";
export type { ClientAuthMethod, PresentedCredentials } from "./client-auth.js";
export { systemClock } from "./clock.js";
export type { Clock, EventLogger } from "./clock.js";
export {
  InvalidClientError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  OAuthError,
  ServerError,
  TooManyRequestsError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
} from "./errors.js";
export { FailureLimiter } from "./failure-limiter.js";
export type { FailureLimiterOptions } from "./failure-limiter.js";
export { isFormContentType, parseForm } from "./form.js";
export type { FormLimits } from "./form.js";
export { generatePrivateKey, isKeyFileName, KeyFileError, readKeys, SIGNING_ALGORITHMS, writeNewKey } from "./key-files.js";
export type { SigningAlgorithm, StoredKey } from "./key-files.js";
export { KeySchedule } from "./key-set.js";
export type { KeyTiming } from "./key-set.js";
export { authorizationServerMetadata } from "./metadata.js";
export type { AuthorizationServerMetadata } from "./metadata.js";
export { decideGrant } from "./policy.js";
export type { GrantDecision, GrantRequest } from "./policy.js";
export { ClientRegistry, DEVELOPMENT_REGISTRY, developmentRegistry } from "./registry.js";
export type { ClientKey, ClientRegistration, RegistryData, ResourceServer } from "./registry.js";
export { ASSERTION_ALGORITHMS, loadRegistryFile, loadRegistryFileSync, parseRegistry, RegistryError } from "./registry-file.js";
export { ReplayCache, ReplayQuotaError } from "./replay-cache.js";
export { formatScope, isScopeToken, parseScope } from "./scope.js";
export {
  generateSecret,
  hashSecret,
  parseSecretHash,
  SecretHashFormatError,
  SecretVerifier,
} from "./secret-hash.js";
export type { SecretHash, SecretHashAlgorithm } from "./secret-hash.js";
export { rotateKeyDirectory, SigningKeys } from "./signing-keys.js";
export type { LoadedKey, SigningKeysOptions } from "./signing-keys.js";
export { inspectToken } from "./introspection.js";
export type { IntrospectionResponse } from "./introspection.js";
export { TokenIssuer } from "./token-issuer.js";
export type { EndpointRequest, TokenIssuerOptions, TokenResponse } from "./token-issuer.js";
