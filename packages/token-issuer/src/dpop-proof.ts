import { checkProof, NonceNeeded, ProofCheckFailed, type DPoPNonces } from "@m2m/dpop-proof";
import { InvalidDPoPProofError, OAuthError, ServerError, TooManyRequestsError, UseDPoPNonceError } from "./errors.js";
import { ASSERTION_ALGORITHMS } from "./registry-file.js";
import { ReplayQuotaError, type UsedIdentifiers } from "./used-identifiers.js";

/**
 * The algorithms a DPoP proof may be signed with, as the metadata announces
 * them (`dpop_signing_alg_values_supported`, RFC 9449 §5.1): asymmetric
 * only (RFC 9449 §4.3 check 5: "not none", and an HMAC key could not be
 * carried in a public `jwk`), the same list as for client assertions.
 */
export const DPOP_ALGORITHMS: readonly string[] = ASSERTION_ALGORITHMS;

export interface DPoPProofVerifierOptions {
  /** `alg`s accepted; default {@link DPOP_ALGORITHMS}. */
  algorithms?: readonly string[];
  /** How old a proof's `iat` may be, seconds (default 60). */
  maxAgeSeconds?: number;
  /** How far in the future a proof's `iat` may be, for clock skew, seconds (default 5). */
  leewaySeconds?: number;
  /** When given, every proof must carry one of its nonces (RFC 9449 §8). */
  nonces?: DPoPNonces;
  /** Where each proof's `jti` is remembered until the proof is too old to use. */
  usedIdentifiers: UsedIdentifiers;
  clock: () => number;
}

/** A proof that passed every check: the key it proves, as the access token will be bound to it. */
export interface VerifiedDPoPProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key: the token's `cnf.jkt` (RFC 9449 §6.1). */
  jkt: string;
  alg: string;
  /** Whether the proof carried a server nonce that was checked. */
  nonceChecked: boolean;
}

/**
 * The DPoP proof checks of a token request: checks 1 to 11 of RFC 9449 §4.3
 * (`checkProof`, shared with the resource server's), each refusal an
 * {@link InvalidDPoPProofError} whose `reason` names the check, or a
 * {@link UseDPoPNonceError} with the nonce to use; then, once everything
 * else holds, the `jti` was not used before by the same key (§11.1),
 * remembered in the {@link UsedIdentifiers} store (the auth-server's
 * database) until the proof is too old to pass check 11 anyway.
 */
export class DPoPProofVerifier {
  private readonly algorithms: ReadonlySet<string>;
  private readonly maxAge: number;
  private readonly leeway: number;

  constructor(private readonly options: DPoPProofVerifierOptions) {
    this.algorithms = new Set(options.algorithms ?? DPOP_ALGORITHMS);
    for (const alg of this.algorithms) {
      if (!DPOP_ALGORITHMS.includes(alg)) throw new TypeError(`${JSON.stringify(alg)} is not an asymmetric JWS algorithm; refusing it for DPoP proofs`);
    }
    this.maxAge = options.maxAgeSeconds ?? 60;
    this.leeway = options.leewaySeconds ?? 5;
  }

  /** The algorithms accepted, for `dpop_signing_alg_values_supported`. */
  get supportedAlgorithms(): string[] {
    return [...this.algorithms];
  }

  /**
   * Checks the `DPoP` header fields of a request sent to `request.uri` with
   * `request.method`. Resolves with the proven key, or rejects with
   * `invalid_dpop_proof` or `use_dpop_nonce` (or 429 / 503 when the `jti`
   * store refuses to take more).
   */
  async verify(fields: readonly string[], request: { method: string; uri: string }): Promise<VerifiedDPoPProof> {
    const now = this.options.clock();
    let proof;
    try {
      proof = await checkProof(fields, {
        algorithms: this.algorithms,
        method: request.method,
        uri: request.uri,
        nonces: this.options.nonces,
        now,
        maxAgeSeconds: this.maxAge,
        leewaySeconds: this.leeway,
      });
    } catch (error) {
      if (error instanceof ProofCheckFailed) throw new InvalidDPoPProofError(error.reason);
      if (error instanceof NonceNeeded) throw new UseDPoPNonceError(error.nonce);
      throw error;
    }
    // remembered until the proof is too old for check 11; the space keeps keys apart from client ids (an id has none)
    const until = Math.ceil((proof.iat + this.maxAge) * 1000) + 1000;
    let fresh: boolean;
    try {
      fresh = await this.options.usedIdentifiers.use(`DPoP ${proof.jkt}`, proof.jti, until, now);
    } catch (error) {
      if (error instanceof ReplayQuotaError) throw new TooManyRequestsError("too many DPoP proofs of this key in flight; retry shortly", this.maxAge);
      // a shared store that cannot answer (StoreUnavailableError: 503, Retry-After) says so itself
      if (error instanceof OAuthError) throw error;
      throw new ServerError("too many DPoP proofs in flight; retry shortly");
    }
    if (!fresh) throw new InvalidDPoPProofError("jti was used before by this key");
    return { jkt: proof.jkt, alg: proof.alg, nonceChecked: this.options.nonces !== undefined };
  }
}
