/*
 * The DPoP proof checks that the authorization server and a resource server
 * make alike (RFC 9449 §4.3): one module, so the two sides cannot drift.
 */
import { calculateJwkThumbprint, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type CryptoKey, type JWK, type JWTPayload } from "jose";
import type { DPoPNonces } from "./dpop-nonce.js";
import { normalizeHtu } from "./htu.js";

/** A proof is a few hundred bytes (an RSA 4096 key makes it about 2 KiB): anything longer is refused before it is parsed. */
const MAX_PROOF_LENGTH = 4096;
/** The `jti` is remembered until the proof is too old to use; a long one would only be a way to fill the memory. */
const MAX_JTI_LENGTH = 256;
/** RFC 7515 §7.1: three base64url parts, no padding, no whitespace (the last empty for `alg: none`, refused by name). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/**
 * How many imported proof keys are kept. A client signs every proof with the
 * same key for as long as it runs, so importing its JWK once, rather than for
 * every request, takes the largest cost of a proof after the signature
 * itself off the hot path (the bench's profile of `/token` with DPoP: 16 % of
 * the request in `importJWK`; and its thumbprint, 37 µs more, measured alone). Past the bound, the key imported longest ago
 * is dropped.
 */
const MAX_IMPORTED_KEYS = 1024;
/** A proof key once imported: the key, and its RFC 7638 thumbprint. */
interface ImportedKey {
  key: CryptoKey;
  jkt: string;
}
/** Imported public keys by the `alg` and the exact JSON of the header's `jwk`: the same text always imports to the same key. */
const importedKeys = new Map<string, Promise<ImportedKey>>();

/** JWK members that only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** One check of RFC 9449 §4.3 failed; `reason` says which, for the log. Each side answers with its own `invalid_dpop_proof`. */
export class ProofCheckFailed extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Check 10 failed: the proof needs the server's nonce, which is `nonce` now (`use_dpop_nonce`). */
export class NonceNeeded extends Error {
  constructor(readonly nonce: string) {
    super("a current server nonce is required");
  }
}

export interface ProofExpectations {
  /** The `alg`s accepted: asymmetric ones only, never `none` or HMAC. */
  algorithms: ReadonlySet<string>;
  /** The request's method, for `htm`. */
  method: string;
  /** The request's URI as clients address it, for `htu`. */
  uri: string;
  /** When given, the proof must carry one of its nonces. */
  nonces: DPoPNonces | undefined;
  /** Milliseconds since the epoch. */
  now: number;
  /** How old `iat` may be, seconds. */
  maxAgeSeconds: number;
  /** How far ahead of `now` `iat` may be, seconds. */
  leewaySeconds: number;
}

/** A proof that passed checks 1 to 11: its key, and its claims. */
export interface CheckedProof {
  alg: string;
  /** RFC 7638 SHA-256 thumbprint of the proof's public key. */
  jkt: string;
  jti: string;
  iat: number;
  /** Every claim, for what only one side checks (`ath`). */
  claims: JWTPayload;
}

/**
 * Checks 1 to 11 of RFC 9449 §4.3, numbered as there, in that order but for
 * check 3: claims are read only once the signature has verified.
 *
 * 1. exactly one `DPoP` header field; 2. a compact JWS of at most 4 KiB;
 * 3. `jti`, `htm`, `htu` and `iat`, with their types; 4. `typ` exactly
 * `dpop+jwt`; 5. an `alg` of the allow-list; 6. the signature verifies with
 * the header's `jwk` (jose also checks `typ` again, and `exp`/`nbf` when a
 * proof has them); 7. that `jwk` is a public key; 8. `htm` is the method,
 * exactly; 9. `htu` is the URI, after RFC 3986 §6.2.2 and §6.2.3
 * normalisation, without query and fragment; 10. a current server nonce,
 * when nonces are required; 11. `iat` within the window.
 *
 * @throws {ProofCheckFailed} or {@link NonceNeeded}.
 */
export async function checkProof(fields: readonly string[], expected: ProofExpectations): Promise<CheckedProof> {
  if (fields.length !== 1) throw new ProofCheckFailed(fields.length === 0 ? "no DPoP header" : "more than one DPoP header");
  const proof = fields[0]!;
  if (proof.length > MAX_PROOF_LENGTH) throw new ProofCheckFailed("the proof is too large");
  if (!COMPACT_JWS.test(proof)) throw new ProofCheckFailed("the proof is not a compact JWS");
  const header = readHeader(proof);
  if (header.typ !== "dpop+jwt") throw new ProofCheckFailed("typ is not dpop+jwt");
  const alg = header.alg;
  if (typeof alg !== "string" || !expected.algorithms.has(alg)) throw new ProofCheckFailed("alg is not an allowed asymmetric algorithm");
  const jwk = publicJwk(header.jwk, alg);
  const { claims, jkt } = await verifySignature(proof, jwk, alg, expected.now);
  const { jti, htm, htu, iat } = claims;
  if (typeof jti !== "string" || jti === "" || jti.length > MAX_JTI_LENGTH) throw new ProofCheckFailed("jti is missing or not a short string");
  if (typeof htm !== "string") throw new ProofCheckFailed("htm is missing");
  if (typeof htu !== "string") throw new ProofCheckFailed("htu is missing");
  if (typeof iat !== "number" || !Number.isFinite(iat)) throw new ProofCheckFailed("iat is missing or not a NumericDate");

  if (htm !== expected.method) throw new ProofCheckFailed("htm does not match the request method");
  const normalized = normalizeHtu(htu);
  if (normalized === undefined || normalized !== normalizeHtu(expected.uri)) throw new ProofCheckFailed("htu does not match the request URI");
  const { nonces } = expected;
  if (nonces !== undefined && (typeof claims.nonce !== "string" || !nonces.accepts(claims.nonce))) throw new NonceNeeded(nonces.current());
  const now = expected.now / 1000;
  if (iat > now + expected.leewaySeconds) throw new ProofCheckFailed("iat is in the future");
  if (iat < now - expected.maxAgeSeconds) throw new ProofCheckFailed("iat is too old");
  return { alg, jkt, jti, iat, claims };
}

function readHeader(proof: string): Record<string, unknown> {
  try {
    return decodeProtectedHeader(proof) as Record<string, unknown>;
  } catch {
    throw new ProofCheckFailed("the proof's header is not a JSON object");
  }
}

/** Check 7, before the key is used: nothing of a private or symmetric key, and no word of another use. */
function publicJwk(value: unknown, alg: string): JWK {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ProofCheckFailed("no jwk in the header");
  const jwk = value as JWK;
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) throw new ProofCheckFailed("the jwk holds private or symmetric key material");
  if (jwk.alg !== undefined && jwk.alg !== alg) throw new ProofCheckFailed("the jwk is for another alg");
  if (jwk.use !== undefined && jwk.use !== "sig") throw new ProofCheckFailed("the jwk is not for signatures");
  return jwk;
}

/** Check 6, by jose: the key must fit `alg` (an RSA key of 2048 bits at least), and the signature verify. */
async function verifySignature(proof: string, jwk: JWK, alg: string, now: number): Promise<{ claims: JWTPayload; jkt: string }> {
  try {
    const { key, jkt } = await importPublicKey(jwk, alg);
    const { payload } = await jwtVerify(proof, key, { algorithms: [alg], typ: "dpop+jwt", currentDate: new Date(now) });
    return { claims: payload, jkt };
  } catch (error) {
    if (error instanceof ProofCheckFailed) throw error;
    throw new ProofCheckFailed(
      error instanceof joseErrors.JWSSignatureVerificationFailed
        ? "the signature does not verify with the jwk"
        : error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired
          ? `the ${error.claim} claim is not acceptable`
          : "the jwk cannot verify this proof",
    );
  }
}

/**
 * jose's `importJWK` and the key's thumbprint, once per distinct key: the promise is kept, so proofs
 * that arrive together share one import, and dropped if the import fails,
 * so a key that cannot be imported is tried again, never remembered as good.
 * Only the import is shared: every proof's signature is still verified.
 */
function importPublicKey(jwk: JWK, alg: string): Promise<ImportedKey> {
  const id = `${alg} ${JSON.stringify(jwk)}`;
  let entry = importedKeys.get(id);
  if (entry === undefined) {
    entry = importJWK(jwk, alg).then(async (imported) => {
      if (imported instanceof Uint8Array) throw new ProofCheckFailed("the jwk is a symmetric key");
      return { key: imported, jkt: await calculateJwkThumbprint(jwk, "sha256") };
    });
    entry.catch(() => importedKeys.delete(id));
    if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.delete(importedKeys.keys().next().value!);
    importedKeys.set(id, entry);
  }
  return entry;
}
