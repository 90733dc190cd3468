import { createHash, createPrivateKey, createPublicKey, KeyObject, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

/** Asymmetric algorithms only (RFC 9449 §4.2: "MUST NOT be none or an identifier for a symmetric algorithm"). */
const DPOP_ALGORITHMS = new Set(["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA", "Ed25519"]);

/** The members of a public JWK its RFC 7638 thumbprint is made of: all a proof's `jwk` needs to carry. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = { EC: ["kty", "crv", "x", "y"], RSA: ["kty", "n", "e"], OKP: ["kty", "crv", "x"] };

/** What a proof is for: the request (RFC 9449 §4.2 `htm`, `htu`) and, at a resource server, the token (§7 `ath`). */
export interface DPoPProofRequest {
  /** The HTTP method, e.g. `POST`. */
  htm: string;
  /** The request's URI; its query and fragment are left out of `htu`. */
  htu: string;
  /** The access token the request carries, hashed into `ath`. */
  accessToken?: string;
}

/**
 * A client's DPoP key pair (RFC 9449), as a value like the client
 * authentication methods: it makes one fresh proof per request and keeps
 * the last nonce each server handed out (§8, §9), per origin. The private
 * key stays in the closure as a non-extractable key: logging or inspecting
 * the value shows the algorithm and the thumbprint, never the key.
 */
export interface DPoPKey {
  /** The proofs' `alg`. */
  readonly alg: string;
  /** The RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of the tokens bound to it. */
  readonly jkt: string;
  /**
   * A new proof (RFC 9449 §4.2) for one request: a new `jti`, `iat` now,
   * `htm`, `htu` without query and fragment, `ath` when a token is given,
   * and the nonce last remembered for the origin of `htu`, if any.
   */
  proof(request: DPoPProofRequest): Promise<string>;
  /** Remembers the `DPoP-Nonce` a server sent, for the next proofs to its origin. */
  rememberNonce(url: string, nonce: string): void;
}

export interface DPoPKeyOptions {
  /** The proofs' algorithm. Default: `ES256` for a generated key; for a given one, its JWK's `alg`, else what the key type implies. */
  alg?: string;
  /** Milliseconds since the epoch, for `iat` (default `Date.now`). */
  clock?: () => number;
}

/** A new key pair for DPoP, made in this process and never written anywhere: ES256 unless `alg` says otherwise. */
export async function generateDPoPKey(options: DPoPKeyOptions = {}): Promise<DPoPKey> {
  const alg = options.alg ?? "ES256";
  checkAlgorithm(alg);
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: false });
  return makeKey(alg, privateKey, await exportJWK(publicKey), options.clock ?? Date.now);
}

/**
 * A configured key pair for DPoP, from its private key: a `KeyObject`, a
 * private JWK, or a PKCS#8 PEM string (or a JWK as JSON text), as read from
 * a key file. The public key is derived from it.
 */
export async function importDPoPKey(privateKey: KeyObject | JWK | string, options: DPoPKeyOptions = {}): Promise<DPoPKey> {
  let key: KeyObject;
  let jwkAlg: string | undefined;
  try {
    if (privateKey instanceof KeyObject) key = privateKey;
    else if (typeof privateKey === "string" && privateKey.trimStart().startsWith("-----BEGIN")) key = createPrivateKey(privateKey);
    else {
      const jwk = (typeof privateKey === "string" ? JSON.parse(privateKey) : privateKey) as JWK;
      jwkAlg = jwk.alg;
      key = createPrivateKey({ key: jwk as never, format: "jwk" });
    }
  } catch {
    // the key material stays out of the message
    throw new TypeError("DPoP: the key is neither a PKCS#8 PEM nor a private JWK");
  }
  if (key.type !== "private") throw new TypeError("DPoP: the key is not a private key");
  const alg = options.alg ?? jwkAlg ?? algorithmOf(key);
  checkAlgorithm(alg);
  return makeKey(alg, key, createPublicKey(key).export({ format: "jwk" }) as JWK, options.clock ?? Date.now);
}

async function makeKey(alg: string, privateKey: CryptoKey | KeyObject, publicJwk: JWK, clock: () => number): Promise<DPoPKey> {
  const members = PUBLIC_MEMBERS[publicJwk.kty ?? ""];
  if (members === undefined) throw new TypeError(`DPoP: unsupported key type ${JSON.stringify(publicJwk.kty)}`);
  const jwk = Object.fromEntries(members.map((name) => [name, publicJwk[name as keyof JWK]])) as JWK;
  const jkt = await calculateJwkThumbprint(jwk, "sha256");
  const nonces = new Map<string, string>();
  const key = {
    alg,
    jkt,
    async proof({ htm, htu, accessToken }: DPoPProofRequest) {
      const target = new URL(htu);
      const nonce = nonces.get(target.origin);
      target.search = "";
      target.hash = "";
      const claims = {
        // 128 bits of randomness: RFC 9449 §4.2 asks for at least 96
        jti: randomBytes(16).toString("base64url"),
        htm,
        htu: target.href,
        iat: Math.floor(clock() / 1000),
        ...(accessToken === undefined ? {} : { ath: createHash("sha256").update(accessToken).digest("base64url") }),
        ...(nonce === undefined ? {} : { nonce }),
      };
      return new SignJWT(claims).setProtectedHeader({ typ: "dpop+jwt", alg, jwk }).sign(privateKey);
    },
    rememberNonce(url: string, nonce: string) {
      nonces.set(new URL(url).origin, nonce);
    },
    [inspect.custom]: () => `DPoPKey { alg: ${alg}, jkt: ${jkt} }`,
    toJSON: () => ({ alg, jkt }),
  };
  return key;
}

function checkAlgorithm(alg: string): void {
  if (!DPOP_ALGORITHMS.has(alg)) throw new TypeError(`DPoP: unsupported algorithm ${JSON.stringify(alg)} (asymmetric ones only)`);
}

/** The algorithm a key's type implies when nothing says which. */
function algorithmOf(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case "ec":
      return ({ prime256v1: "ES256", secp384r1: "ES384", secp521r1: "ES512" } as Record<string, string>)[key.asymmetricKeyDetails?.namedCurve ?? ""] ?? "ES256";
    case "ed25519":
      return "EdDSA";
    case "rsa-pss":
      return "PS256";
    default:
      return "RS256";
  }
}
