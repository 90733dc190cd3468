import { createHmac, randomBytes, scrypt as scryptCallback, timingSafeEqual } from "node:crypto";
import { Semaphore } from "./semaphore.js";

/**
 * Client secrets are stored only as hashes, in a self-describing string in
 * the style of the PHC string format, fields base64url without padding:
 *
 * - `$hmac-sha256$<salt>$<hash>`: HMAC-SHA-256 keyed with a random 16-byte
 *   salt. The default, for machine-generated secrets of at least 128 bits of
 *   entropy (what {@link generateSecret} makes): guessing such a secret is
 *   out of reach whatever the hash speed, so a slow password hash would only
 *   slow down `/token` (one verification per request) without adding
 *   security. The salt keeps equal secrets from having equal hashes.
 * - `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>`: for secrets a human
 *   chose (low entropy). Verification is slow by design, so a successful
 *   result is remembered in memory (keyed by an HMAC of hash and secret
 *   under a per-process key) and later requests with the same secret are as
 *   fast as the HMAC path.
 *
 * Comparisons are constant-time ({@link timingSafeEqual}).
 */
export type SecretHash =
  | { readonly algorithm: "hmac-sha256"; readonly salt: Buffer; readonly hash: Buffer; readonly encoded: string }
  | {
      readonly algorithm: "scrypt";
      readonly log2N: number;
      readonly r: number;
      readonly p: number;
      readonly salt: Buffer;
      readonly hash: Buffer;
      readonly encoded: string;
    };

/** The hash algorithms {@link hashSecret} can produce. */
export type SecretHashAlgorithm = SecretHash["algorithm"];

const B64URL = /^[A-Za-z0-9_-]+$/;

/** Thrown by {@link parseSecretHash} on a string that is not a supported hash; never holds the string. */
export class SecretHashFormatError extends Error {
  override name = "SecretHashFormatError";
}

/** Parses and validates a stored hash string (once, at registry load). */
export function parseSecretHash(encoded: string): SecretHash {
  const parts = encoded.split("$");
  if (parts[0] !== "") throw new SecretHashFormatError("a secret hash starts with \"$<algorithm>$\"");
  if (parts[1] === "hmac-sha256") {
    if (parts.length !== 4) throw new SecretHashFormatError("expected $hmac-sha256$<salt>$<hash>");
    const salt = b64(parts[2]!, "salt");
    const hash = b64(parts[3]!, "hash");
    if (salt.length < 16) throw new SecretHashFormatError("the salt must be at least 16 bytes");
    if (hash.length !== 32) throw new SecretHashFormatError("the hash must be 32 bytes");
    return { algorithm: "hmac-sha256", salt, hash, encoded };
  }
  if (parts[1] === "scrypt") {
    if (parts.length !== 5) throw new SecretHashFormatError("expected $scrypt$ln=..,r=..,p=..$<salt>$<hash>");
    const params = new Map(parts[2]!.split(",").map((kv) => kv.split("=", 2) as [string, string]));
    const log2N = Number(params.get("ln"));
    const r = Number(params.get("r"));
    const p = Number(params.get("p"));
    if (params.size !== 3 || !Number.isInteger(log2N) || !Number.isInteger(r) || !Number.isInteger(p)) {
      throw new SecretHashFormatError("scrypt parameters must be ln=<int>,r=<int>,p=<int>");
    }
    if (log2N < 14 || log2N > 20 || r < 8 || r > 32 || p < 1 || p > 4) {
      throw new SecretHashFormatError("scrypt parameters out of range (ln 14-20, r 8-32, p 1-4)");
    }
    const salt = b64(parts[3]!, "salt");
    const hash = b64(parts[4]!, "hash");
    if (salt.length < 16) throw new SecretHashFormatError("the salt must be at least 16 bytes");
    if (hash.length < 32) throw new SecretHashFormatError("the hash must be at least 32 bytes");
    return { algorithm: "scrypt", log2N, r, p, salt, hash, encoded };
  }
  throw new SecretHashFormatError("unsupported secret hash algorithm (expected hmac-sha256 or scrypt)");
}

function b64(value: string, what: string): Buffer {
  if (!B64URL.test(value)) throw new SecretHashFormatError(`the ${what} must be base64url without padding`);
  return Buffer.from(value, "base64url");
}

/** A new random client secret: 32 bytes (256 bits) from the CSPRNG, base64url. */
export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** Hashes a secret for the registry file. */
export async function hashSecret(secret: string, algorithm: SecretHashAlgorithm = "hmac-sha256"): Promise<string> {
  const salt = randomBytes(16);
  if (algorithm === "hmac-sha256") {
    return `$hmac-sha256$${salt.toString("base64url")}$${hmacSha256(salt, secret).toString("base64url")}`;
  }
  const params = { log2N: 15, r: 8, p: 1 };
  const hash = await scrypt(secret, salt, params);
  return `$scrypt$ln=${params.log2N},r=${params.r},p=${params.p}$${salt.toString("base64url")}$${hash.toString("base64url")}`;
}

function hmacSha256(key: Buffer, secret: string): Buffer {
  return createHmac("sha256", key).update(secret, "utf8").digest();
}

function scrypt(secret: string, salt: Buffer, params: { log2N: number; r: number; p: number }, keylen = 32): Promise<Buffer> {
  const N = 2 ** params.log2N;
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, keylen, { N, r: params.r, p: params.p, maxmem: 256 * N * params.r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/**
 * Verifies presented secrets against stored hashes. Holds the cache of
 * successful scrypt verifications, bounded in size, and lets at most
 * `maxConcurrentSlow` scrypt computations run at once: each takes a thread of
 * libuv's pool (four by default) for tens of milliseconds, and a burst of
 * guesses must not leave none for the rest of the server's work (signing
 * tokens, reading files).
 */
export class SecretVerifier {
  private readonly cacheKey = randomBytes(32);
  private readonly verified = new Map<string, true>();
  private readonly slow: Semaphore;

  constructor(
    private readonly maxCached = 1024,
    maxConcurrentSlow = 2,
  ) {
    this.slow = new Semaphore(maxConcurrentSlow);
  }

  /** True when `secret` matches `stored`, compared in constant time. */
  async verify(secret: string, stored: SecretHash): Promise<boolean> {
    if (stored.algorithm === "hmac-sha256") {
      return timingSafeEqual(hmacSha256(stored.salt, secret), stored.hash);
    }
    const cacheId = createHmac("sha256", this.cacheKey).update(stored.encoded).update("\0").update(secret).digest("base64url");
    if (this.verified.has(cacheId)) return true;
    const computed = await this.slow.run(() => scrypt(secret, stored.salt, stored, stored.hash.length));
    const ok = timingSafeEqual(computed, stored.hash);
    if (ok) {
      if (this.verified.size >= this.maxCached) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(cacheId, true);
    }
    return ok;
  }
}

/**
 * A hash no secret matches, compared against when the client is unknown so
 * that an unknown client and a wrong secret take the same time.
 */
export const UNMATCHABLE_HASH: SecretHash = parseSecretHash(
  `$hmac-sha256$${Buffer.alloc(16).toString("base64url")}$${Buffer.alloc(32).toString("base64url")}`,
);
