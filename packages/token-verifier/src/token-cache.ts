/**
 * A bounded least-recently-used map from token to the result of verifying
 * it. Only successfully verified tokens go in (a flood of distinct bogus
 * tokens never reaches it), and at most `maxEntries` of them: the oldest
 * unused entry leaves first. A `Map` keeps insertion order, so re-inserting
 * on each hit is the whole LRU.
 *
 * Keyed by the compact token itself: the signature is part of the string, so
 * a tampered token can never hit the entry of the genuine one.
 */
export class TokenCache<V> {
  readonly #entries = new Map<string, V>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new TypeError("maxEntries must be a non-negative integer");
  }

  get size(): number {
    return this.#entries.size;
  }

  get(token: string): V | undefined {
    const value = this.#entries.get(token);
    if (value !== undefined) {
      this.#entries.delete(token);
      this.#entries.set(token, value);
    }
    return value;
  }

  set(token: string, value: V): void {
    if (this.maxEntries === 0) return;
    this.#entries.delete(token);
    this.#entries.set(token, value);
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  delete(token: string): void {
    this.#entries.delete(token);
  }

  clear(): void {
    this.#entries.clear();
  }
}
