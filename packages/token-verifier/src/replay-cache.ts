import { createHash } from "node:crypto";

/**
 * The DPoP proofs a resource server has accepted, by key and `jti`
 * (RFC 9449 §11.1), each remembered for the same time: as long as a proof
 * could still pass the `iat` check. Since every entry lives equally long, the
 * insertion order of the `Map` is also its expiry order, so the expired ones
 * are dropped from the front as time goes on, at no cost to a lookup.
 *
 * Bounded in memory: at most `maxEntries`, each a 22-character hash of the
 * key's thumbprint and the `jti` (whatever the `jti`'s length). When it is
 * full of proofs that are still live it refuses rather than forgets: a
 * forgotten `jti` is a replay let through. Only proofs that passed every
 * other check (a signature by the key a verified token is bound to) are
 * recorded, so only holders of a valid token and its key can fill it.
 *
 * In this process's memory: each instance of a resource server keeps its own.
 */
export class ReplayCache {
  readonly #expiries = new Map<string, number>();

  constructor(
    /** How many proofs may be remembered at once. */
    readonly maxEntries: number,
    /** How long each is remembered, milliseconds. */
    readonly ttlMs: number,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError("maxEntries must be a positive integer");
  }

  get size(): number {
    return this.#expiries.size;
  }

  /**
   * Records the proof `jti` of key `jkt` as seen at `now`. True the first
   * time; false for a replay. Throws {@link ReplayCacheFullError} when full.
   */
  use(jkt: string, jti: string, now: number): boolean {
    this.#evict(now);
    const key = createHash("sha256").update(jkt).update("\0").update(jti).digest("base64url").slice(0, 22);
    if (this.#expiries.has(key)) return false;
    if (this.#expiries.size >= this.maxEntries) {
      const oldest = this.#expiries.values().next().value as number;
      throw new ReplayCacheFullError(Math.max(1, Math.ceil((oldest - now) / 1000)));
    }
    this.#expiries.set(key, now + this.ttlMs);
    return true;
  }

  #evict(now: number): void {
    for (const [key, expiry] of this.#expiries) {
      if (expiry > now) return;
      this.#expiries.delete(key);
    }
  }
}

/** The replay cache is full of live proofs: no new one can be taken for `retryAfterSeconds`. */
export class ReplayCacheFullError extends RangeError {
  override name = "ReplayCacheFullError";

  constructor(readonly retryAfterSeconds: number) {
    super("the DPoP replay cache is full");
  }
}
