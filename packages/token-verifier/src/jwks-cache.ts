import type { JWSHeaderParameters } from "jose";
import { discoverJwksUri } from "./discovery.js";
import { InvalidTokenError, TemporarilyUnavailableError } from "./errors.js";
import { fetchJson } from "./fetch-json.js";
import { buildKeySet, type KeySet } from "./key-set.js";

/** Reported after every successful fetch of the JWK Set. */
export interface JwksLoadedEvent {
  kids: string[];
  /** `true` when the key set differs from the one held before (or none was). */
  changed: boolean;
  jwksUri: string;
  /** Why it was fetched: first load (or a scheduled `load()`), a token naming an unknown `kid`, or age. */
  reason: JwksLoadReason;
}

export type JwksLoadReason = "load" | "unknown-kid" | "max-age";

export interface JwksCacheOptions {
  issuer: string;
  /** Where the RFC 8414 metadata is (unused when `jwksUri` is given). */
  metadataUrl: string;
  /** Skip discovery and fetch this JWK Set directly. */
  jwksUri?: string;
  fetch: typeof fetch;
  headers?: Readonly<Record<string, string>>;
  timeoutMs: number;
  /** Minimum time between two fetches caused by tokens (unknown `kid`, no keys yet). */
  cooldownMs: number;
  /** After this age the keys are refreshed in the background, still serving the old ones. */
  maxAgeMs: number;
  /** After this long without a fetch that worked, the keys held are no longer used. At least `maxAgeMs`. */
  maxStaleMs: number;
  clock: () => number;
  onLoaded?: (event: JwksLoadedEvent) => void;
  onError?: (error: Error) => void;
}

/**
 * The issuer's signing keys, fetched through its metadata and kept in
 * memory. Modelled on jose's remote JWK Set (`src/jwks/remote.ts`: one fetch
 * in flight, a timeout, a cooldown before refetching for an unknown `kid`, a
 * maximum age), with three differences that matter to a resource server:
 *
 * - Keys older than `maxAgeMs` are refreshed in the background, never on
 *   the request path: the request that finds them old is still served with
 *   them (RFC 5861 §3, stale-while-revalidate). Short (a minute, the
 *   `max-age` auth-server gives its JWK Set), so a key the issuer withdraws
 *   is soon no longer trusted. Only a request starts it: call `load()` on a
 *   schedule for a bound that does not wait for traffic.
 * - It keeps serving the keys it holds when a refresh fails, so an outage of
 *   the authorization server does not stop tokens signed by known keys from
 *   being verified (RFC 5861 §4, stale-if-error), but only for `maxStaleMs`
 *   after the last fetch that worked: keys the issuer cannot vouch for are
 *   not trusted forever. Past that, `ready` is false and each token needs a
 *   fetch, and is answered {@link TemporarilyUnavailableError} while that fails.
 * - A token naming a `kid` it does not hold causes at most one refetch per
 *   cooldown (a flood of bogus `kid`s cannot hammer the issuer). When the
 *   key cannot be had because the JWK Set is unreachable, the answer is
 *   {@link TemporarilyUnavailableError}, not `invalid_token`: the token may
 *   be good, the outage is ours.
 *
 * `generation` increases whenever the key set changes, so caches derived
 * from it (verified tokens) can be flushed.
 */
export class JwksCache {
  #keys: KeySet | undefined;
  #jwksUri: string | undefined;
  #inflight: Promise<KeySet> | undefined;
  #loadedAt = Number.NEGATIVE_INFINITY;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #lastAttemptFailed = false;
  #lastOnDemandAt = Number.NEGATIVE_INFINITY;
  #generation = 0;

  constructor(private readonly options: JwksCacheOptions) {
    this.#jwksUri = options.jwksUri;
  }

  /** `true` while it holds keys that a fetch confirmed within `maxStaleMs`. */
  get ready(): boolean {
    return this.#usableKeys(this.options.clock()) !== undefined;
  }

  /** Increases each time the key set changes. */
  get generation(): number {
    return this.#generation;
  }

  get kids(): string[] {
    return this.#keys ? [...this.#keys.kids] : [];
  }

  /**
   * Fetches the JWK Set now (discovering `jwks_uri` first if needed). Only one
   * fetch is in flight at a time: concurrent callers share it. Rejects with a
   * `KeySourceError` when the issuer cannot be reached or answers wrongly.
   */
  load(reason: JwksLoadReason = "load"): Promise<KeySet> {
    this.#inflight ??= this.#fetch(reason).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /**
   * The key for a token's header (a jose key resolver). Throws
   * {@link InvalidTokenError} when the issuer has no such key, and
   * {@link TemporarilyUnavailableError} when it cannot be known now.
   */
  async resolve(header: JWSHeaderParameters): Promise<Awaited<ReturnType<KeySet["select"]>>> {
    const { kid } = header;
    if (kid !== undefined && typeof kid !== "string") throw new InvalidTokenError("the access token is malformed");
    let keys = this.#usableKeys(this.options.clock()) ?? (await this.#loadOnDemand(this.#keys ? "max-age" : "load"));
    if (kid !== undefined && !keys.kids.has(kid)) {
      keys = await this.#loadOnDemand("unknown-kid");
      if (!keys.kids.has(kid)) throw new InvalidTokenError("the key that signed the access token is unknown");
    } else {
      this.refreshIfOld();
    }
    return keys.select(header);
  }

  /**
   * Starts a background refresh once the keys are older than `maxAgeMs` (at
   * most one attempt per cooldown while the issuer is unreachable), so a key
   * the issuer withdrew stops being trusted even if no token ever names an
   * unknown `kid`. Never waits, never throws.
   */
  refreshIfOld(): void {
    const now = this.options.clock();
    if (this.#inflight || !this.#keys || now - this.#loadedAt < this.options.maxAgeMs) return;
    if (now - this.#lastAttemptAt < this.options.cooldownMs) return;
    this.load("max-age").catch(() => {
      // reported through onError; the keys held stay in use, up to maxStaleMs
    });
  }

  /** The keys held, unless the last fetch that worked is more than `maxStaleMs` ago. */
  #usableKeys(now: number): KeySet | undefined {
    return now - this.#loadedAt < this.options.maxStaleMs ? this.#keys : undefined;
  }

  /**
   * A fetch caused by a token: joins the one in flight, or starts one if the
   * cooldown allows. Otherwise: if the keys held are current (last fetch
   * worked), the caller's `kid` is simply unknown; if the last fetch failed,
   * or no usable keys are held, the key cannot be had now.
   */
  async #loadOnDemand(reason: JwksLoadReason): Promise<KeySet> {
    if (!this.#inflight) {
      const now = this.options.clock();
      const wait = this.#lastOnDemandAt + this.options.cooldownMs - now;
      if (wait > 0) {
        const keys = this.#usableKeys(now);
        if (keys && !this.#lastAttemptFailed) return keys;
        throw new TemporarilyUnavailableError(wait / 1000);
      }
      this.#lastOnDemandAt = now;
    }
    try {
      return await this.load(reason);
    } catch (error) {
      throw new TemporarilyUnavailableError(this.options.cooldownMs / 1000, { cause: error });
    }
  }

  async #fetch(reason: JwksLoadReason): Promise<KeySet> {
    const { options } = this;
    this.#lastAttemptAt = options.clock();
    const http = { fetch: options.fetch, timeoutMs: options.timeoutMs, headers: options.headers };
    try {
      const jwksUri = this.#jwksUri ?? (await discoverJwksUri(options.metadataUrl, options.issuer, http));
      let next: KeySet;
      try {
        next = buildKeySet(await fetchJson(jwksUri, http), jwksUri);
      } catch (error) {
        // the issuer may have moved its keys: discover again next time
        if (options.jwksUri === undefined) this.#jwksUri = undefined;
        throw error;
      }
      this.#jwksUri = jwksUri;
      const changed = next.fingerprint !== this.#keys?.fingerprint;
      if (changed) {
        this.#keys = next;
        this.#generation += 1;
      }
      this.#loadedAt = options.clock();
      this.#lastAttemptFailed = false;
      options.onLoaded?.({ kids: [...next.kids], changed, jwksUri, reason });
      return this.#keys as KeySet;
    } catch (error) {
      this.#lastAttemptFailed = true;
      options.onError?.(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }
}
