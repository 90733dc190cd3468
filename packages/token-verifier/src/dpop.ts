import { createHash, type KeyObject } from "node:crypto";
import { ASYMMETRIC_ALGORITHMS, checkAlgorithms } from "./algorithms.js";
import { checkProof, DPoPNonces, NonceNeeded, ProofCheckFailed } from "@m2m/dpop-proof";
import { InvalidDPoPProofError, InvalidTokenError, TemporarilyUnavailableError, UseDPoPNonceError } from "./errors.js";
import { ReplayCache, ReplayCacheFullError } from "./replay-cache.js";

/**
 * What a resource server does with DPoP (RFC 9449 §7):
 *
 * - `off`: only `Bearer`; a DPoP-bound token is refused, since it could not be checked;
 * - `allowed`: `Bearer` tokens as before, and DPoP-bound tokens with the `DPoP` scheme and a valid proof;
 * - `required`: only DPoP-bound tokens with a valid proof.
 */
export type DPoPMode = "off" | "allowed" | "required";
export const DPOP_MODES: readonly DPoPMode[] = ["off", "allowed", "required"];

export interface DPoPOptions {
  /** Default `allowed`. */
  mode?: DPoPMode;
  /** Proof `alg`s accepted, asymmetric only (default: RS, PS, ES, EdDSA); sent as `algs` in every `DPoP` challenge. */
  algorithms?: readonly string[];
  /** How old a proof's `iat` may be, seconds (default 30). */
  maxAgeSeconds?: number;
  /** How far ahead of this server's clock a proof's `iat` may be, seconds (default 5). */
  leewaySeconds?: number;
  /** Every proof must carry a current nonce of this server (RFC 9449 §9); default false. */
  requireNonce?: boolean;
  /** What nonces are derived from; instances that share it accept each other's (default: random, this process only). */
  nonceSecret?: string | Uint8Array | KeyObject;
  /** How long one nonce is handed out, seconds (default 60). */
  nonceStepSeconds?: number;
  /** How many proofs the replay cache remembers at most (default 200,000, about 20 MB). */
  replayCacheMaxEntries?: number;
  /**
   * The origin (`https://payments.example`) `htu` is compared with, as
   * clients reach this server. Unset, `requireAccessToken` takes the
   * request's protocol and `Host` (forwarded headers only if Express's
   * `trust proxy` says so): a convenience for development, which lets a
   * client choose the origin its proofs are checked against.
   */
  publicUrl?: string;
  /** Milliseconds since the epoch. Default `Date.now`. */
  clock?: () => number;
}

/** What a proof, checked for one request and one token, proved. */
export interface VerifiedDPoPProof {
  /** The thumbprint of the proof's key: the token's `cnf.jkt`. */
  readonly jkt: string;
  readonly alg: string;
  readonly nonceChecked: boolean;
}

/** The request a proof is checked for, and the token it goes with. */
export interface DPoPRequest {
  /** The HTTP method, as received. */
  method: string;
  /** The absolute URI of the request as clients address it (query and fragment are ignored). */
  url: string;
  /** The access token of the `Authorization: DPoP` header, for `ath`. */
  accessToken: string;
  /** The verified token's `cnf.jkt`, the key the proof must be signed with. */
  jkt: string;
}

/** A resource server's DPoP checks (RFC 9449 §4.3, §7), with its replay cache and nonces: one per server, shared by its routes. */
export interface DPoPVerifier {
  readonly mode: DPoPMode;
  /** The proof algorithms accepted, as `algs` names them. */
  readonly algorithms: readonly string[];
  readonly publicUrl: string | undefined;
  /** The nonce to send in `DPoP-Nonce` now, or `undefined` when nonces are not required. */
  nonce(): string | undefined;
  /**
   * Checks the `DPoP` header fields of a request that presented a
   * DPoP-bound token. Resolves with what the proof proved; rejects with
   * `InvalidDPoPProofError`, `UseDPoPNonceError`, `InvalidTokenError` (the
   * token is bound to another key), or `TemporarilyUnavailableError` (the
   * replay cache is full).
   */
  verify(fields: readonly string[], request: DPoPRequest): Promise<VerifiedDPoPProof>;
  /** Proofs the replay cache remembers now. */
  readonly replayCacheSize: number;
}

/**
 * The checks RFC 9449 §4.3 and §7 ask of a resource server: checks 1 to 11
 * of §4.3 (`checkProof`, shared with the authorization server's: one `DPoP`
 * header, a compact JWS of at most 4 KiB, the claims, `typ` exactly
 * `dpop+jwt`, an asymmetric `alg`, the signature by the header's public
 * `jwk`, `htm`, `htu` against `publicUrl` and the path after RFC 3986
 * normalisation, a current nonce when required, `iat` at most
 * `maxAgeSeconds` old and `leewaySeconds` ahead), each refusal an
 * {@link InvalidDPoPProofError} whose `reason` names the check, or a
 * {@link UseDPoPNonceError}; check 12, `ath` is the base64url SHA-256 of the
 * access token; then, §7: the proof's key is the one the token is bound to (its RFC 7638
 * thumbprint is `cnf.jkt`; otherwise `invalid_token`, so a client holding a
 * token of an old key fetches a new one), and last the `jti` was not seen
 * before with that key, in a {@link ReplayCache} of this process.
 */
export function createDPoPVerifier(options: DPoPOptions = {}): DPoPVerifier {
  const mode = options.mode ?? "allowed";
  const algorithms = checkAlgorithms(options.algorithms ?? ASYMMETRIC_ALGORITHMS);
  const accepted = new Set(algorithms);
  const maxAge = options.maxAgeSeconds ?? 30;
  const leeway = options.leewaySeconds ?? 5;
  if (!(maxAge > 0 && leeway >= 0)) throw new TypeError("maxAgeSeconds must be positive and leewaySeconds not negative");
  const clock = options.clock ?? Date.now;
  const publicUrl = options.publicUrl === undefined ? undefined : publicOrigin(options.publicUrl);
  const nonces = options.requireNonce ? new DPoPNonces({ secret: options.nonceSecret, stepSeconds: options.nonceStepSeconds, clock }) : undefined;
  // a proof is good until its iat is maxAge old, and its iat may be leeway ahead of now
  const replays = new ReplayCache(options.replayCacheMaxEntries ?? 200_000, (maxAge + leeway + 1) * 1000);

  return {
    mode,
    algorithms,
    publicUrl,
    nonce: () => nonces?.current(),
    get replayCacheSize() {
      return replays.size;
    },
    async verify(fields, request) {
      const now = clock();
      let proof;
      try {
        proof = await checkProof(fields, { algorithms: accepted, method: request.method, uri: request.url, nonces, now, maxAgeSeconds: maxAge, leewaySeconds: leeway });
      } catch (error) {
        if (error instanceof ProofCheckFailed) throw new InvalidDPoPProofError(error.reason);
        if (error instanceof NonceNeeded) throw new UseDPoPNonceError(error.nonce);
        throw error;
      }
      // check 12
      if (proof.claims.ath !== createHash("sha256").update(request.accessToken).digest("base64url")) {
        throw new InvalidDPoPProofError(typeof proof.claims.ath === "string" ? "ath is not the hash of the access token" : "ath is missing");
      }
      if (proof.jkt !== request.jkt) throw new InvalidTokenError("the access token is bound to another key than the DPoP proof's");
      let fresh: boolean;
      try {
        fresh = replays.use(proof.jkt, proof.jti, now);
      } catch (error) {
        if (!(error instanceof ReplayCacheFullError)) throw error;
        throw new TemporarilyUnavailableError(error.retryAfterSeconds, { description: "too many DPoP proofs to remember right now" });
      }
      if (!fresh) throw new InvalidDPoPProofError("jti was used before by this key");
      return Object.freeze({ jkt: proof.jkt, alg: proof.alg, nonceChecked: nonces !== undefined });
    },
  };
}

/** The origin of a configured public URL; a path, query or fragment (an empty `?` or `#` too) is a mistake worth stopping for. */
function publicOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError("publicUrl must be an absolute http(s) URL");
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.pathname !== "/" || /[?#]/.test(value)) {
    throw new TypeError("publicUrl must be an origin: scheme, host and port only");
  }
  return url.origin;
}
