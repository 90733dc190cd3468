/**
 * The DPoP proof checks (RFC 9449 §4.3) that an authorization server and a
 * resource server make alike, in one place so the two sides cannot drift:
 * the proof's syntax, header and signature, `htm` and `htu` (compared after
 * RFC 3986 §6.2.2 normalisation), the `iat` window, and stateless server
 * nonces (§8) that every instance sharing a secret accepts. What only one
 * side does (remembering `jti`s, `ath`, the key binding of a token) is left
 * to it: token-issuer and token-verifier build on this. Both also refuse a
 * JOSE header or claims set that names a member twice, with the scan here.
 *
 * @packageDocumentation
 */

/** Checks one request's `DPoP` header fields against what the request was; throws on the first check that fails. */
export { checkProof, NonceNeeded, ProofCheckFailed } from "./dpop-checks.js";
export type { CheckedProof, ProofExpectations } from "./dpop-checks.js";
/** Stateless server nonces: derived from a secret and a time step. */
export { DPoPNonces } from "./dpop-nonce.js";
export type { DPoPNonceOptions } from "./dpop-nonce.js";
/** The form in which `htu` is compared with the request URI. */
export { normalizeHtu } from "./htu.js";
/** A JOSE header or JWT Claims Set as both sides read it: UTF-8 JSON, an object, no member name twice (RFC 7515 §5.2, RFC 7519 §4). */
export { hasDuplicateMemberNames, parseJsonObject } from "./json.js";
