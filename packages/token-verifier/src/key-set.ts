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
 * A set with no usable key is refused, so a broken response never replaces
 * good keys.
 */
export function buildKeySet(json: unknown, source: string): KeySet {
  if (typeof json !== "object" || json === null || !Array.isArray((json as { keys?: unknown }).keys)) {
    throw new KeySourceError(`${source}: not a JWK Set (RFC 7517 §5: a "keys" array)`);
  }
  const usable = ((json as { keys: unknown[] }).keys as unknown[]).filter(isPublicSignatureKey);
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
