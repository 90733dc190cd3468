export { ASYMMETRIC_ALGORITHMS, checkAlgorithms } from "./algorithms.js";
export type { AsymmetricAlgorithm } from "./algorithms.js";
export { authorizationFields, extractBearerToken } from "./bearer.js";
export type { BearerRequest } from "./bearer.js";
export { checkRequiredClaims, checkTimes } from "./claims.js";
export type { AccessTokenClaims } from "./claims.js";
export { discoverJwksUri, metadataUrlFor } from "./discovery.js";
export {
  BearerError,
  bearerChallenge,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  TemporarilyUnavailableError,
  UnauthorizedError,
} from "./errors.js";
export { KeySourceError } from "./fetch-json.js";
export type { JwksLoadedEvent, JwksLoadReason } from "./jwks-cache.js";
export { BearerGuard } from "./guard.js";
export type { EventLogger, GuardedRequest, GuardOptions, RequireAccessTokenOptions } from "./guard.js";
export { hasScopes, parseScope } from "./scope.js";
export { createVerifier } from "./verifier.js";
export type { TokenVerifier, VerifiedAccessToken, VerifierOptions } from "./verifier.js";
