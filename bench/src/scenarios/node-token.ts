import { constants, sign, type KeyObject } from "node:crypto";
import type { SigningAlg } from "../servers/protocol.js";

/**
 * A JWS compact serialization (RFC 7515 §7.1) of `claims` with node:crypto
 * alone: the header encoded once, then per token the claims' JSON in
 * base64url and one `crypto.sign`. The signer jose is weighed against.
 */
export function nodeTokenSigner(alg: SigningAlg, key: KeyObject): (claims: object) => string {
  const header = Buffer.from(JSON.stringify({ alg, typ: "at+jwt", kid: "bench" })).toString("base64url");
  const { hash, params } = nodeOptions(alg);
  return (claims) => {
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    return `${input}.${sign(hash, Buffer.from(input), { key, ...params }).toString("base64url")}`;
  };
}

/** `crypto.sign`'s digest and options for a JWS algorithm (ES256 signatures as JWS wants them, r || s). */
export function nodeOptions(alg: SigningAlg): { hash: string | null; params: Record<string, number | string> } {
  switch (alg) {
    case "RS256":
      return { hash: "sha256", params: {} };
    case "PS256":
      return { hash: "sha256", params: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } };
    case "ES256":
      return { hash: "sha256", params: { dsaEncoding: "ieee-p1363" } };
    case "EdDSA":
      return { hash: null, params: {} };
  }
}

