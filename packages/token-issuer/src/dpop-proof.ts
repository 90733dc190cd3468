import { calculateJwkThumbprint, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type JWK, type JWTPayload } from "jose";
import type { Clock } from "./clock.js";
import type { DPoPNonces } from "./dpop-nonce.js";
import { InvalidDPoPProofError, ServerError, TooManyRequestsError, UseDPoPNonceError } from "./errors.js";
import { normalizeHtu } from "./htu.js";
import { ASSERTION_ALGORITHMS } from "./registry-file.js";
import { ReplayQuotaError, type UsedIdentifiers } from "./used-identifiers.js";

/**
 * The algorithms a DPoP proof may be signed with, as the metadata announces
 * them (`dpop_signing_alg_values_supported`, RFC 9449 §5.1): asymmetric
 * only (RFC 9449 §4.3 check 5: "not none", and an HMAC key could not be
 * carried in a public `jwk`), the same list as for client assertions.
 */
export const DPOP_ALGORITHMS: readonly string[] = ASSERTION_ALGORITHMS;

/** A proof is a few hundred bytes (an RSA 4096 key makes it about 2 KiB): anything longer is refused before it is parsed. */
const MAX_PROOF_LENGTH = 4096;
/** The `jti` is kept until the proof is too old to use; a long one would only be a way to fill the store. */
const MAX_JTI_LENGTH = 256;
/** RFC 7515 §7.1: three base64url parts, no padding, no whitespace. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** JWK members that only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

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
  clock: Clock;
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
 * The DPoP proof checks of a token request (RFC 9449 §4.3), numbered as the
 * RFC numbers them, each refusal an {@link InvalidDPoPProofError} whose
 * `reason` names the check. They run in that order but for check 3: the
 * claims are read only once the signature has verified.
 *
 * 1. exactly one `DPoP` header field;
 * 2. a well-formed compact JWS, at most 4 KiB;
 * 3. the required claims, with their types (`jti`, `htm`, `htu`, `iat`);
 * 4. `typ` exactly `dpop+jwt`;
 * 5. an asymmetric `alg` of the allow-list;
 * 6. the signature verifies with the header's `jwk`;
 * 7. the `jwk` is a public key: no private or symmetric members;
 * 8. `htm` is the request's method;
 * 9. `htu` is the request's URI, compared after RFC 3986 §6.2.2 and §6.2.3
 *    normalisation, without query and fragment;
 * 10. the server nonce, when nonces are required ({@link UseDPoPNonceError});
 * 11. `iat` within the window: at most `maxAgeSeconds` old, at most
 *    `leewaySeconds` ahead;
 *
 * and last, once everything else holds, the `jti` was not used before by
 * the same key (§11.1), remembered in the {@link UsedIdentifiers} store until
 * the proof is too old to pass check 11 anyway.
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
    if (fields.length !== 1) throw new InvalidDPoPProofError(fields.length === 0 ? "no DPoP header" : "more than one DPoP header");
    const proof = fields[0]!;
    if (proof.length > MAX_PROOF_LENGTH) throw new InvalidDPoPProofError("the proof is too large");
    if (!COMPACT_JWS.test(proof)) throw new InvalidDPoPProofError("the proof is not a compact JWS");
    const header = readHeader(proof);
    if (header.typ !== "dpop+jwt") throw new InvalidDPoPProofError("typ is not dpop+jwt");
    const alg = header.alg;
    if (typeof alg !== "string" || !this.algorithms.has(alg)) throw new InvalidDPoPProofError("alg is not an allowed asymmetric algorithm");
    const jwk = publicJwk(header.jwk, alg);
    const payload = await verifySignature(proof, jwk, alg, this.options.clock());
    const claims = requiredClaims(payload);

    if (claims.htm !== request.method) throw new InvalidDPoPProofError("htm does not match the request method");
    const htu = normalizeHtu(claims.htu);
    if (htu === undefined || htu !== normalizeHtu(request.uri)) throw new InvalidDPoPProofError("htu does not match the request URI");
    const { nonces } = this.options;
    if (nonces !== undefined && (typeof payload.nonce !== "string" || !nonces.accepts(payload.nonce))) {
      throw new UseDPoPNonceError(nonces.current());
    }
    const now = this.options.clock() / 1000;
    if (claims.iat > now + this.leeway) throw new InvalidDPoPProofError("iat is in the future");
    if (claims.iat < now - this.maxAge) throw new InvalidDPoPProofError("iat is too old");

    const jkt = await calculateJwkThumbprint(jwk, "sha256");
    await this.remember(jkt, claims);
    return { jkt, alg, nonceChecked: nonces !== undefined };
  }

  /** RFC 9449 §11.1: a `jti` is good once per key within the window; after it, check 11 refuses the proof anyway. */
  private async remember(jkt: string, claims: ProofClaims): Promise<void> {
    const until = Math.ceil((claims.iat + this.maxAge) * 1000) + 1000;
    let fresh: boolean;
    try {
      // the space keeps the keys' namespace apart from the client ids' (an id has no space)
      fresh = await this.options.usedIdentifiers.use(`DPoP ${jkt}`, claims.jti, until, this.options.clock());
    } catch (error) {
      if (error instanceof ReplayQuotaError) throw new TooManyRequestsError("too many DPoP proofs of this key in flight; retry shortly", this.maxAge);
      throw new ServerError("too many DPoP proofs in flight; retry shortly");
    }
    if (!fresh) throw new InvalidDPoPProofError("jti was used before by this key");
  }
}

interface ProofClaims {
  jti: string;
  htm: string;
  htu: string;
  iat: number;
}

function readHeader(proof: string): Record<string, unknown> {
  try {
    return decodeProtectedHeader(proof) as Record<string, unknown>;
  } catch {
    throw new InvalidDPoPProofError("the proof's header is not a JSON object");
  }
}

/** Check 7, before the key is used: a public key of the type `alg` needs, and nothing of a private one. */
function publicJwk(value: unknown, alg: string): JWK {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidDPoPProofError("no jwk in the header");
  const jwk = value as JWK;
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) throw new InvalidDPoPProofError("the jwk holds private or symmetric key material");
  if (jwk.alg !== undefined && jwk.alg !== alg) throw new InvalidDPoPProofError("the jwk is for another alg");
  if (jwk.use !== undefined && jwk.use !== "sig") throw new InvalidDPoPProofError("the jwk is not for signatures");
  return jwk;
}

/** Check 6: jose verifies the signature with the embedded key, `typ` once more, and `exp`/`nbf` if a proof has them. */
async function verifySignature(proof: string, jwk: JWK, alg: string, now: number): Promise<JWTPayload> {
  try {
    const key = await importJWK(jwk, alg);
    if (key instanceof Uint8Array) throw new InvalidDPoPProofError("the jwk is a symmetric key");
    const { payload } = await jwtVerify(proof, key, { algorithms: [alg], typ: "dpop+jwt", currentDate: new Date(now) });
    return payload;
  } catch (error) {
    if (error instanceof InvalidDPoPProofError) throw error;
    throw new InvalidDPoPProofError(
      error instanceof joseErrors.JWSSignatureVerificationFailed
        ? "the signature does not verify with the jwk"
        : error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired
          ? `the ${error.claim} claim is not acceptable`
          : "the jwk cannot verify this proof",
    );
  }
}

/** Check 3: RFC 9449 §4.2's claims, with their types. */
function requiredClaims(payload: JWTPayload): ProofClaims {
  const { jti, htm, htu, iat } = payload;
  if (typeof jti !== "string" || jti === "" || jti.length > MAX_JTI_LENGTH) throw new InvalidDPoPProofError("jti is missing or not a short string");
  if (typeof htm !== "string") throw new InvalidDPoPProofError("htm is missing");
  if (typeof htu !== "string") throw new InvalidDPoPProofError("htu is missing");
  if (typeof iat !== "number" || !Number.isFinite(iat)) throw new InvalidDPoPProofError("iat is missing or not a NumericDate");
  return { jti, htm, htu, iat };
}
