// Hand-built JWS for the attack suite. jose refuses to produce most of these
// tokens (`alg: none`, HMAC keyed with a public key, unknown `crit`), which is
// exactly why they are built here byte by byte with node:crypto.
import { constants, createHmac, createPrivateKey, randomUUID, sign, type KeyObject } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export type Json = Record<string, unknown>;

export const b64url = (value: string | Uint8Array | Json): string =>
  Buffer.from(typeof value === "string" || value instanceof Uint8Array ? value : JSON.stringify(value)).toString("base64url");

/** A JWS signer: the JWS Signing Input in, the raw signature out. */
export type Signer = (input: string) => Buffer;

/** Compact JWS (RFC 7515 §7.1) from a header, a payload (an object, or raw text) and a signer. */
export function forge(header: Json, payload: Json | string, signer: Signer = () => Buffer.alloc(0)): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${signer(input).toString("base64url")}`;
}

/** Signs the way RFC 7518 §3 (and RFC 8037 for EdDSA) says `alg` signs. */
export function signerFor(alg: string, key: KeyObject): Signer {
  return (input) => {
    const data = Buffer.from(input);
    switch (alg) {
      case "RS256":
        return sign("sha256", data, key);
      case "PS256":
        return sign("sha256", data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
      case "ES256":
        return sign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
      case "EdDSA":
        return sign(null, data, key);
      default:
        throw new Error(`no signer for ${alg}`);
    }
  };
}

/** HS256 keyed with any bytes: the algorithm-confusion attack (RFC 8725 §2.1). */
export const hmacSigner =
  (secret: string | Uint8Array): Signer =>
  (input) =>
    createHmac("sha256", secret).update(input).digest();

/** Replaces the payload of a signed token and keeps its header and signature. */
export function withPayload(token: string, change: (claims: Json) => Json): string {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Json;
  return `${header}.${b64url(change(claims))}.${signature}`;
}

/** Copies `claims` without the named members. */
export function without(claims: Json, ...names: string[]): Json {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !names.includes(name)));
}

export const nowSec = () => Math.floor(Date.now() / 1000);

/** The claims docs/wire-contract.md puts in a good access token for order-service. */
export function goodClaims(issuer: string, overrides: Json = {}): Json {
  const now = nowSec();
  return {
    iss: issuer,
    sub: "order-service",
    client_id: "order-service",
    aud: "payment-service",
    scope: "charge:customer",
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
    ...overrides,
  };
}

export interface IssuerKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  /** The issuer's signer: a token built with it carries a genuine signature. */
  signer: Signer;
}

/**
 * The auth server's own private signing key, read from its DATA_DIR (the test
 * owns that folder). Tokens signed with it test the claim checks alone: the
 * signature is genuine, so only `typ`, `iss`, `aud`, times and scope can
 * refuse them.
 */
export function readIssuerKey(dataDir: string, kid: string): IssuerKey {
  for (const file of walk(dataDir)) {
    if (!file.endsWith(".json")) continue;
    let jwk: Json;
    try {
      jwk = JSON.parse(readFileSync(file, "utf8")) as Json;
    } catch {
      continue;
    }
    if (jwk.kid !== kid || typeof jwk.d !== "string") continue;
    const privateKey = createPrivateKey({ key: jwk as never, format: "jwk" });
    const alg = typeof jwk.alg === "string" ? jwk.alg : "RS256";
    return { kid, alg, privateKey, signer: signerFor(alg, privateKey) };
  }
  throw new Error(`no private key with kid ${kid} under ${dataDir}`);
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
