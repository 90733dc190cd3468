/**
 * DPoP proofs (RFC 9449 §4.2) made where the load is generated, never in the
 * measured server: ES256 (or RS256 with an RSA key), signed synchronously with
 * node:crypto (about 30 µs of the load core's time per ES256 proof, about a
 * millisecond per RS256 one), each with a new `jti` and `iat` now, so a proof
 * is always inside the server's `iat` window however long a run lasts. Used
 * by the load worker and by the bench's probes alike.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type JsonWebKey, type KeyObject } from "node:crypto";

/** How the load generator makes a proof for every request. */
export interface DPoPProofSpec {
  htm: string;
  /** The URI the proofs name, query-less: the token endpoint, or the resource's public URL and path. */
  htu: string;
  /**
   * The private JWK to sign with, P-256 (ES256) or RSA (RS256) (at a
   * resource server: the key the token is bound to). Unset: the load
   * generator makes a new P-256 key every `proofsPerKey` proofs, as many
   * clients would (at the token endpoint any key will do, and auth-server
   * counts and caps the live `jti`s of each key).
   */
  key?: JsonWebKey;
  /** With no `key`: how many proofs each generated key signs (default 16). */
  proofsPerKey?: number;
  /** The access token the request carries (`Authorization: DPoP`), hashed into `ath`. */
  accessToken?: string;
  /** A server nonce (RFC 9449 §8) to put in every proof. */
  nonce?: string;
}

/** A key pair for proofs: the private JWK (to hand to the load generator) and the RFC 7638 thumbprint (`cnf.jkt`). */
export interface ProofKey {
  privateJwk: JsonWebKey;
  jkt: string;
}

/** A new proof key: P-256 for ES256 proofs (what order-service makes by default), or RSA 2048 for RS256 ones. */
export function generateProofKey(alg: "ES256" | "RS256" = "ES256"): ProofKey {
  const { privateKey } = alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateJwk: privateKey.export({ format: "jwk" }), jkt: thumbprint(publicJwkOf(privateKey)) };
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** The required public members of a P-256 or RSA key, in the order RFC 7638 hashes them. */
function publicJwkOf(key: KeyObject): Record<string, string> {
  const { crv, e, kty, n, x, y } = createPublicKey(key).export({ format: "jwk" });
  return kty === "RSA" ? { e: e!, kty, n: n! } : { crv: crv!, kty: kty!, x: x!, y: y! };
}

function thumbprint(jwk: Record<string, string>): string {
  return createHash("sha256").update(JSON.stringify(jwk)).digest("base64url");
}

/** One signer: a key, its proofs' header made once. */
function signer(privateKey: KeyObject): (claims: object) => string {
  const rsa = privateKey.asymmetricKeyType === "rsa";
  const header = b64({ typ: "dpop+jwt", alg: rsa ? "RS256" : "ES256", jwk: publicJwkOf(privateKey) });
  return (claims) => {
    const input = `${header}.${b64(claims)}`;
    const signature = sign("sha256", Buffer.from(input), rsa ? privateKey : { key: privateKey, dsaEncoding: "ieee-p1363" });
    return `${input}.${signature.toString("base64url")}`;
  };
}

/**
 * A function that makes the next proof: a `jti` of this maker's 96 random
 * bits and a counter (unique, and no per-proof random bytes), `iat` from
 * `clock`.
 */
export function proofMaker(spec: DPoPProofSpec, clock: () => number = Date.now): () => string {
  const prefix = randomBytes(12).toString("base64url");
  const ath = spec.accessToken === undefined ? undefined : createHash("sha256").update(spec.accessToken).digest("base64url");
  const perKey = spec.proofsPerKey ?? 16;
  const fixed = spec.key === undefined ? undefined : signer(createPrivateKey({ key: spec.key, format: "jwk" }));
  let current = fixed;
  let n = 0;
  return () => {
    if (fixed === undefined && (current === undefined || n % perKey === 0)) {
      current = signer(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
    }
    const claims = {
      jti: `${prefix}.${(n++).toString(36)}`,
      htm: spec.htm,
      htu: spec.htu,
      iat: Math.floor(clock() / 1000),
      ...(ath === undefined ? {} : { ath }),
      ...(spec.nonce === undefined ? {} : { nonce: spec.nonce }),
    };
    return current!(claims);
  };
}
