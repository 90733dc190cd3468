import { Buffer } from "node:buffer";
import { createPublicKey, type JsonWebKey } from "node:crypto";
import { createLocalJWKSet, errors, type JWK, type JWSHeaderParameters } from "jose";
import { InvalidTokenError } from "./errors.js";
import { KeySourceError } from "./fetch-json.js";

type KeyLike = Awaited<ReturnType<ReturnType<typeof createLocalJWKSet>>>;

/**
 * One snapshot of the issuer's JWK Set (RFC 7517 §5), ready to pick the key
 * a token names. Immutable: a refetch builds a new one.
 */
export interface KeySet {
  /** The `kid`s present, to tell an unknown `kid` (worth a refetch) from a mismatch. */
  readonly kids: ReadonlySet<string>;
  /** Canonical text of the usable keys; equal fingerprints mean the same key set. */
  readonly fingerprint: string;
  /** The key for a token's protected header; throws {@link InvalidTokenError} when none fits. */
  select(header: JWSHeaderParameters): Promise<KeyLike>;
}

const SIGNATURE_KEY_TYPES = new Set(["RSA", "EC", "OKP"]);
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/**
 * Builds a {@link KeySet} from a fetched JWK Set. Only public signature keys
 * are kept: symmetric keys (`kty: "oct"`) and anything holding private
 * members are dropped, so no token can ever be checked against a secret;
 * keys with `use` other than `sig` are ignored by jose's selection too.
 * So is every key that could not safely verify anything (see
 * {@link isSafePublicKey}): one that does not import, or an RSA key too
 * small, with a public exponent of 1, or with the ROCA weakness. A set with
 * no usable key is refused, so a broken response never replaces good keys.
 */
export function buildKeySet(json: unknown, source: string): KeySet {
  if (typeof json !== "object" || json === null || !Array.isArray((json as { keys?: unknown }).keys)) {
    throw new KeySourceError(`${source}: not a JWK Set (RFC 7517 §5: a "keys" array)`);
  }
  const usable = ((json as { keys: unknown[] }).keys as unknown[]).filter((key): key is JWK => isPublicSignatureKey(key) && isSafePublicKey(key));
  if (usable.length === 0) throw new KeySourceError(`${source}: the JWK Set holds no usable public signature key`);

  let local: ReturnType<typeof createLocalJWKSet>;
  try {
    local = createLocalJWKSet({ keys: usable });
  } catch (error) {
    throw new KeySourceError(`${source}: malformed JWK Set`, { cause: error });
  }
  const kids = new Set(usable.flatMap((jwk) => (typeof jwk.kid === "string" ? [jwk.kid] : [])));
  const fingerprint = JSON.stringify(usable.map(canonical).sort());

  return {
    kids,
    fingerprint,
    async select(header) {
      try {
        return await local(header);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey) {
          throw new InvalidTokenError("no key of the issuer matches the access token's kid and alg");
        }
        if (error instanceof errors.JWKSMultipleMatchingKeys) {
          throw new InvalidTokenError("the access token does not name its key (kid)");
        }
        throw error;
      }
    },
  };
}

function isPublicSignatureKey(value: unknown): value is JWK {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const jwk = value as Record<string, unknown>;
  return (
    typeof jwk.kty === "string" &&
    SIGNATURE_KEY_TYPES.has(jwk.kty) &&
    PRIVATE_MEMBERS.every((member) => !(member in jwk)) &&
    (jwk.use === undefined || jwk.use === "sig")
  );
}

function canonical(jwk: JWK): string {
  return JSON.stringify(Object.keys(jwk).sort().map((name) => [name, (jwk as Record<string, unknown>)[name]]));
}

/**
 * Whether a public JWK is one a signature by it means something, checked
 * once, when the set is built, instead of failing (or passing) on each token
 * (Google's Wycheproof JWK vectors found each of these):
 * - it imports: an EC point off its curve, or members of another `kty`,
 *   would otherwise make every token naming it a server error;
 * - an RSA modulus of at least 2048 bits (RFC 7518 §3.3; jose throws on
 *   smaller ones at verification, which would be a 500);
 * - an RSA public exponent that is odd and at least 3: with `e = 1` the
 *   "signature" is the padded message itself, which anyone can write;
 * - not an RSA modulus with the ROCA fingerprint (CVE-2017-15361, keys from
 *   Infineon chips whose private key can be computed from the public one).
 */
function isSafePublicKey(jwk: JWK): boolean {
  let details: ReturnType<typeof createPublicKey>["asymmetricKeyDetails"];
  try {
    details = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" }).asymmetricKeyDetails;
  } catch {
    return false;
  }
  if (jwk.kty !== "RSA") return true;
  const { modulusLength = 0, publicExponent = 0n } = details ?? {};
  return modulusLength >= 2048 && publicExponent >= 3n && publicExponent % 2n === 1n && !hasRocaFingerprint(jwk.n!);
}

/** The small primes of the ROCA test (Nemec et al., CCS 2017), each with the powers of 65537 modulo it. */
const ROCA_PRINTS: ReadonlyArray<readonly [bigint, ReadonlySet<bigint>]> = [
  3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137,
  139, 149, 151, 157, 163, 167,
].map((p) => {
  const prime = BigInt(p);
  const powers = new Set<bigint>();
  for (let power = 1n; !powers.has(power); power = (power * 65537n) % prime) powers.add(power);
  return [prime, powers] as const;
});

/**
 * The ROCA fingerprint: a modulus made by the flawed generator is, modulo
 * each of those primes, a power of 65537. A sound key passes this by chance
 * with a probability below 2^-150.
 */
export function hasRocaFingerprint(modulus: string): boolean {
  const n = BigInt(`0x${Buffer.from(modulus, "base64url").toString("hex") || "0"}`);
  return ROCA_PRINTS.every(([prime, powers]) => powers.has(n % prime));
}
