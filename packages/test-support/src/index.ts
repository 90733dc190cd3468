/**
 * What the tests of several workspaces share: the DPoP proofs of
 * token-verifier's, auth-server's and payment-service's tests. Private,
 * never packed: a devDependency of each.
 *
 * @packageDocumentation
 */
export { ath, proofKey, rawJws, signProof } from "./dpop-proofs.js";
export type { ProofFor, ProofKey, ProofParts } from "./dpop-proofs.js";
