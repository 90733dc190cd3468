/**
 * The JWS algorithms (RFC 7518 §3, RFC 8037 §3.1) an access token may be
 * signed with: asymmetric only. `none` is never accepted, and neither is
 * HMAC: a resource server that accepted `HS256` could be handed a token
 * "signed" with the issuer's public key as the HMAC secret (RFC 8725 §2.1,
 * §3.1).
 */
export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;

export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

const allowed = new Set<string>(ASYMMETRIC_ALGORITHMS);

/**
 * Checks a configured allow-list: every entry must be an asymmetric JWS
 * algorithm. Misconfiguration (`none`, `HS256`, a typo) fails at start
 * rather than weakening verification.
 */
export function checkAlgorithms(algorithms: readonly string[]): string[] {
  if (algorithms.length === 0) throw new TypeError("algorithms must not be empty");
  for (const alg of algorithms) {
    if (!allowed.has(alg)) {
      throw new TypeError(`algorithm ${JSON.stringify(alg)} is not an asymmetric JWS algorithm; refusing to accept it`);
    }
  }
  return [...algorithms];
}
