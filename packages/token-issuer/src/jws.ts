import { constants, sign, type KeyObject } from "node:crypto";
import sodium from "sodium-native";
import type { SigningAlgorithm } from "./key-files.js";

/**
 * Compact JWS (RFC 7515 §3.1, §7.1) signed synchronously, with
 * `node:crypto` (Ed25519 with libsodium, see {@link ed25519Signature}), for
 * the one thing this server signs in volume: its own access tokens.
 *
 * Why not jose's `SignJWT`: jose 6 signs through WebCrypto (`crypto.subtle`)
 * on every runtime, so each token is an async job on the libuv pool plus a
 * promise. `crypto.sign` is synchronous and, per CPU-second on the bench
 * machine, ES256 10,538 → 27,596, EdDSA 10,945 → 30,668, RS256 2,366 → 3,090
 * signatures (bench/FINDINGS.md §3a); with libsodium, ~47,000 whole EdDSA
 * tokens (§9). Only our own header and claims go in
 * here; everything that parses untrusted input (verification, introspection,
 * client assertions) stays with jose.
 */
export class CompactJwsSigner {
  /** `BASE64URL(UTF8(JWS Protected Header)) || '.'`: the header is constant per key, so encoded once. */
  private readonly prefix: string;
  private readonly signature: (input: Buffer) => Buffer;

  constructor(header: { readonly alg: SigningAlgorithm; readonly typ?: string; readonly kid?: string }, key: KeyObject) {
    this.prefix = `${base64url(JSON.stringify(header))}.`;
    this.signature = signatureFunction(header.alg, key);
  }

  /** `header.payload.signature`, the payload being the JSON of `payload`. */
  sign(payload: object): string {
    const input = this.prefix + base64url(JSON.stringify(payload));
    return `${input}.${this.signature(Buffer.from(input, "latin1")).toString("base64url")}`;
  }
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

/** The signature over the JWS Signing Input, per RFC 7518 §3; refuses a key that does not fit `alg`. */
function signatureFunction(alg: SigningAlgorithm, key: KeyObject): (input: Buffer) => Buffer {
  if (key.type !== "private") throw new TypeError(`${alg} signing needs a private key`);
  const type = key.asymmetricKeyType;
  switch (alg) {
    case "RS256":
      expectKey(alg, type === "rsa");
      // RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256.
      return (input) => sign("sha256", input, key);
    case "PS256": {
      expectKey(alg, type === "rsa");
      // RFC 7518 §3.5: RSASSA-PSS with SHA-256, MGF1 with SHA-256, salt as long as the hash (32 bytes).
      const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
      return (input) => sign("sha256", input, options);
    }
    case "ES256": {
      expectKey(alg, type === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1");
      // RFC 7518 §3.4: the signature is R || S, 32 bytes each, not DER.
      const options = { key, dsaEncoding: "ieee-p1363" as const };
      return (input) => sign("sha256", input, options);
    }
    case "EdDSA":
      expectKey(alg, type === "ed25519");
      return ed25519Signature(key);
  }
}

function expectKey(alg: SigningAlgorithm, fits: boolean): void {
  if (!fits) throw new TypeError(`the key does not fit ${alg}`);
}

/**
 * RFC 8037 §3.1: Ed25519 (RFC 8032 §5.1.6), signed by libsodium. It makes
 * the signature `crypto.sign(null, input, key)` makes (Ed25519 is
 * deterministic) for about 60 % of the CPU (17.6 against 28.7 µs on the
 * bench machine): node:crypto goes through OpenSSL 3's EVP layer, which
 * fetches the algorithm by name and sets up a new context on every call
 * (bench/FINDINGS.md §9).
 * The private key is copied once into libsodium's guarded memory (guard
 * pages, locked out of swap, read-only after the copy, wiped when freed).
 */
function ed25519Signature(key: KeyObject): (input: Buffer) => Buffer {
  const { d } = key.export({ format: "jwk" });
  if (d === undefined) throw new TypeError("EdDSA signing needs an Ed25519 private key");
  // the JWK's `d` is the RFC 8032 seed; libsodium expands it into its own secret key form
  const seed = Buffer.from(d, "base64url");
  const secretKey = sodium.sodium_malloc(sodium.crypto_sign_SECRETKEYBYTES);
  sodium.crypto_sign_seed_keypair(Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES), secretKey, seed);
  seed.fill(0);
  sodium.sodium_mprotect_readonly(secretKey);
  return (input) => {
    const signature = Buffer.allocUnsafe(sodium.crypto_sign_BYTES);
    sodium.crypto_sign_detached(signature, input, secretKey);
    return signature;
  };
}
