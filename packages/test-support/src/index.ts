/**
 * What the tests of several workspaces share: the DPoP proofs of
 * token-verifier's, auth-server's and payment-service's tests, and the
 * other spellings of a base64url segment that token-verifier's and
 * payment-service's tests send. Private, never packed: a devDependency of
 * each.
 *
 * @packageDocumentation
 */
export { ath, proofKey, rawJws, signProof } from "./dpop-proofs.js";
export type { ProofFor, ProofKey, ProofParts } from "./dpop-proofs.js";
export { otherSpellings } from "./base64url-spellings.js";
