import { inspect } from "node:util";
import axios, { type AxiosInstance } from "axios";
import type { ClientAuth, ClientAuthMethod } from "./client-auth.js";
import type { DPoPKey } from "./dpop.js";
import { fetchMetadata } from "./discovery.js";
import { AuthServerUnavailableError } from "./errors.js";
import { fingerprint } from "./fingerprint.js";
import { exchange, isObject, type Answer, type ExchangeLimits } from "./http.js";
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from "./retry.js";
import { readTokenResponse } from "./token-response.js";
import { inSpan, tracedListeners } from "./tracing.js";

/** What a token was asked for, as the events report it. */
export interface TokenRequestDescription {
  clientId: string;
  /** The target, as asked for: `audience` or `resource` (RFC 8707), or neither. */
  audience?: string;
  resource?: string;
  /** The scope granted, or as requested when the server did not say. */
  scope: string | undefined;
}

/**
 * How one `getToken` call was answered: `hit`, the cached token; `refresh`,
 * the cached token, and a background refresh started (refresh ahead);
 * `wait`, by joining another caller's request in flight; `miss`, by a new
 * request to the token endpoint.
 */
export type TokenCacheOutcome = "hit" | "refresh" | "wait" | "miss";

/** `onLookup`: a `getToken` call, and how the cache answered it. */
export interface TokenLookupEvent extends TokenRequestDescription {
  outcome: TokenCacheOutcome;
}

/** `onFetched`: the token endpoint answered with a new token. */
export interface TokenFetchedEvent extends TokenRequestDescription {
  authMethod: ClientAuthMethod;
  /** `expires_in` as the server sent it, seconds. */
  expiresIn: number | undefined;
  /**
   * The lifetime the cache counts with, seconds: `expiresIn` (or
   * `defaultExpiresIn`) in whole seconds, within the lifetime bounds.
   */
  lifetimeSeconds: number;
  /** `sha256:` and 12 hex digits of the token: enough to correlate, never the token. */
  tokenFingerprint: string;
  /**
   * For a DPoP-bound token (RFC 9449 §5): the thumbprint of the key it is
   * bound to, and whether the server asked for its nonce first (one retry).
   */
  dpop?: { jkt: string; nonceRetried: boolean };
}

/** `onReused`: a cached token was handed out without asking the server. */
export interface TokenReusedEvent extends TokenRequestDescription {
  tokenFingerprint: string;
  /** Whole seconds until the cached token stops being handed out. */
  expiresInSeconds: number;
}

/** `onRefreshFailed`: a background refresh failed; the cached token is still used. */
export interface TokenRefreshFailedEvent extends TokenRequestDescription {
  error: unknown;
}

/** `onRetry`: a token request failed transiently and is tried again after `delayMs`. */
export interface TokenRetryEvent extends TokenRequestDescription {
  /** The attempt that failed, 1 for the first. */
  attempt: number;
  delayMs: number;
  error: AuthServerUnavailableError;
}

export interface TokenClientOptions {
  /** The authorization server's issuer identifier (RFC 8414 §2); metadata must name exactly this. */
  issuer: string;
  /** Where to reach the server for discovery, when not at `issuer` (a container network name). */
  authServerUrl?: string;
  /** Skip discovery and use this token endpoint. */
  tokenEndpoint?: string;
  clientId: string;
  /** How the client authenticates: {@link clientSecretBasic}, {@link clientSecretPost} or {@link privateKeyJwt}. */
  clientAuth: ClientAuth;
  /**
   * Ask for DPoP-bound tokens (RFC 9449), proving this key
   * ({@link generateDPoPKey}, {@link importDPoPKey}) in every token request;
   * `withBearerToken` then sends them with the `DPoP` scheme and a proof.
   * A server that answers with a Bearer token anyway is refused.
   */
  dpop?: DPoPKey;
  /** The axios instance used to reach the authorization server (default: a fresh one). */
  http?: AxiosInstance;
  /**
   * Total time one request to the authorization server may take,
   * milliseconds (default 5,000): connecting, sending, and the status,
   * headers and entire body. Not an idle timeout (axios's `timeout` in Node
   * is one), which a server sending a byte now and then never triggers. It
   * ends the attempt as a network failure (`ETIMEDOUT`), which is retried
   * within `retry`.
   */
  requestTimeoutMs?: number;
  /** Share of a token's lifetime after which the next use starts a background refresh (default 0.8). */
  refreshAfter?: number;
  /**
   * How much earlier than `refreshAfter` a refresh may be due, as a share of
   * it, in [0, 1) (default 0.1): each token's refresh is due at
   * `lifetime × refreshAfter × (1 − u × refreshJitter)`, `u` drawn from
   * `random`, so with the defaults between 72 % and 80 % of its life.
   * Instances started together (a deployment) then do not all ask the
   * authorization server again in the same second.
   */
  refreshJitter?: number;
  /**
   * A token is not handed out during its last `expiryMarginMs` (default
   * 5,000, at most a tenth of its lifetime), so it does not expire on the way.
   */
  expiryMarginMs?: number;
  /** Lifetime assumed when a response has no `expires_in`, seconds (default 60). */
  defaultExpiresIn?: number;
  /**
   * Shortest lifetime counted with, seconds (default 1). `expires_in` is a
   * whole number of seconds (RFC 6749 §5.1, Appendix A.14), so the default
   * only lifts what that grammar cannot express, like `0.001`, which would
   * otherwise make every call a request. A higher floor keeps tokens past
   * the life the server gave them, to be rejected by the resource server.
   */
  minLifetimeSeconds?: number;
  /**
   * Longest lifetime counted with, seconds (default 86,400: a day). A token
   * said to live longer is replaced after this anyway, so `1e308` is not
   * cached forever, and revocations and key or scope changes reach the
   * client within a day.
   */
  maxLifetimeSeconds?: number;
  retry?: Partial<RetryPolicy>;
  /**
   * Once aborted (at shutdown), requests in flight end, no retry is waited
   * for or started, and `getToken` rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /** Called for every `getToken` call, with how the cache answered it (count hits and misses here). */
  onLookup?: (event: TokenLookupEvent) => void;
  /** Called for every token obtained from the server (log `token.fetched` here). */
  onFetched?: (event: TokenFetchedEvent) => void;
  /** Called for every cached token handed out (log `token.reused` here). */
  onReused?: (event: TokenReusedEvent) => void;
  /** Called when a background refresh fails. */
  onRefreshFailed?: (event: TokenRefreshFailedEvent) => void;
  /** Called before each retry of a token request. */
  onRetry?: (event: TokenRetryEvent) => void;
  /** Milliseconds since the epoch (default `Date.now`); tests inject one. */
  clock?: () => number;
  /** Waits between retries (default `setTimeout`, cut short by `signal`); tests inject one. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1), for retries and refresh ahead (default `Math.random`). */
  random?: () => number;
}

/**
 * What to ask a token for. At most one target: `resource` (RFC 8707, an
 * absolute URI) or `audience` (a resource server's identifier).
 */
export interface TokenParams {
  audience?: string;
  resource?: string;
  /** Space-delimited string or a list; order and duplicates do not matter. */
  scope?: string | readonly string[];
}

/** An access token as the client holds it. */
export interface AccessToken {
  readonly accessToken: string;
  /** `DPoP` for a token bound to the client's DPoP key: it is sent with a proof of that key (RFC 9449 §7). */
  readonly tokenType: "Bearer" | "DPoP";
  /** When the token stops being handed out, milliseconds on the client's clock. */
  readonly expiresAt: number;
  /** The scope granted (RFC 6749 §5.1), `undefined` when the server did not say. */
  readonly scope: string | undefined;
}

interface Cached {
  token: AccessToken;
  /** From the next use on, a background refresh starts. */
  refreshAt: number;
}

interface Entry {
  cached?: Cached;
  inflight?: Promise<AccessToken>;
  /** No background refresh before this, after one failed. */
  refreshPausedUntil: number;
}

interface LifetimePolicy {
  /** Without `expires_in`. */
  defaultSeconds: number;
  minSeconds: number;
  maxSeconds: number;
}

interface Request {
  key: string;
  scopes: string[] | undefined;
  target: { name: "audience" | "resource"; value: string } | undefined;
}

/** After a failed background refresh, wait this long before the next one. */
const REFRESH_FAILURE_PAUSE_MS = 1_000;

/** The lifetime bounds' defaults, seconds: see {@link TokenClientOptions.minLifetimeSeconds}. */
const DEFAULT_MIN_LIFETIME_SECONDS = 1;
const DEFAULT_MAX_LIFETIME_SECONDS = 86_400;

/**
 * Obtains access tokens with the client credentials grant (RFC 6749 §4.4)
 * and keeps them:
 *
 * - one cached token per (token endpoint, client, target, scope set);
 * - expiry from `expires_in` on the local clock, counted from when the
 *   request was sent (the token cannot be older), never from the token's `exp`,
 *   in whole seconds between a floor and a ceiling (1 s and a day by default);
 * - refresh ahead: past `refreshAfter` of its life, less a random share of
 *   up to `refreshJitter` of that, the next use starts a background refresh
 *   and still gets the current token;
 * - single flight: concurrent callers without a valid token share one request;
 * - bounded retries with exponential backoff and full jitter on network
 *   errors, `5xx`, `408` and `429` (honouring `Retry-After`); OAuth errors are
 *   permanent and never retried.
 *
 * Logs nothing: it tells its `on*` listeners what happened, with token
 * fingerprints only; it never throws a credential either.
 */
export class TokenClient {
  readonly #issuer: string;
  readonly #authServerUrl: string;
  readonly #clientId: string;
  readonly #auth: ClientAuth;
  readonly #dpop: DPoPKey | undefined;
  readonly #http: AxiosInstance;
  readonly #requestTimeoutMs: number;
  readonly #refreshAfter: number;
  readonly #refreshJitter: number;
  readonly #marginMs: number;
  readonly #lifetime: LifetimePolicy;
  readonly #retry: RetryPolicy;
  readonly #signal: AbortSignal | undefined;
  /** The `on*` listeners of the options, each after describing its event on the active span. */
  readonly #events: ReturnType<typeof tracedListeners>;
  readonly #clock: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #entries = new Map<string, Entry>();
  #tokenEndpoint: Promise<string> | undefined;

  constructor(options: TokenClientOptions) {
    if (!options.clientId) throw new TypeError("clientId is required");
    if (!options.issuer) throw new TypeError("issuer is required");
    const requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    if (!(requestTimeoutMs > 0 && requestTimeoutMs < Infinity)) throw new TypeError("requestTimeoutMs must be a positive number");
    const refreshAfter = options.refreshAfter ?? 0.8;
    if (!(refreshAfter > 0 && refreshAfter <= 1)) throw new TypeError("refreshAfter must be in (0, 1]");
    const refreshJitter = options.refreshJitter ?? 0.1;
    if (!(refreshJitter >= 0 && refreshJitter < 1)) throw new TypeError("refreshJitter must be in [0, 1)");
    this.#issuer = options.issuer;
    this.#authServerUrl = options.authServerUrl ?? options.issuer;
    this.#clientId = options.clientId;
    this.#auth = options.clientAuth;
    this.#dpop = options.dpop;
    this.#http = options.http ?? axios.create();
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#refreshAfter = refreshAfter;
    this.#refreshJitter = refreshJitter;
    this.#marginMs = options.expiryMarginMs ?? 5_000;
    this.#lifetime = lifetimePolicy(options);
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#signal = options.signal;
    this.#events = tracedListeners(options);
    this.#clock = options.clock ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => sleep(ms, options.signal));
    this.#random = options.random ?? Math.random;
    if (options.tokenEndpoint !== undefined) this.#tokenEndpoint = Promise.resolve(options.tokenEndpoint);
  }

  /** The client id this client authenticates as. */
  get clientId(): string {
    return this.#clientId;
  }

  /** The key its tokens are bound to, when it asks for DPoP-bound tokens. */
  get dpop(): DPoPKey | undefined {
    return this.#dpop;
  }

  /**
   * An access token for `params`: the cached one while it is valid,
   * otherwise a new one (one request whatever the number of callers).
   *
   * @throws {TokenRequestError} the server refused (RFC 6749 §5.2); permanent.
   * @throws {AuthServerUnavailableError} the server could not be reached, after retries.
   * @throws {InvalidResponseError} the server's answer broke the protocol.
   * @throws the reason of the client's `signal`, once it is aborted.
   */
  getToken(params: TokenParams = {}): Promise<AccessToken> {
    return inSpan("TokenClient.getToken", () => this.#lookup(params));
  }

  async #lookup(params: TokenParams): Promise<AccessToken> {
    const request = this.#normalize(params);
    let entry = this.#entries.get(request.key);
    if (!entry) {
      entry = { refreshPausedUntil: 0 };
      this.#entries.set(request.key, entry);
    }
    const now = this.#clock();
    const cached = entry.cached;
    if (cached && now < cached.token.expiresAt) {
      const refresh = now >= cached.refreshAt && !entry.inflight && now >= entry.refreshPausedUntil;
      if (refresh) this.#refreshInBackground(request, entry);
      this.#events.onLookup({ ...this.#describe(request, cached.token.scope), outcome: refresh ? "refresh" : "hit" });
      this.#events.onReused({
        ...this.#describe(request, cached.token.scope),
        tokenFingerprint: fingerprint(cached.token.accessToken),
        expiresInSeconds: Math.floor((cached.token.expiresAt - now) / 1000),
      });
      return cached.token;
    }
    this.#events.onLookup({ ...this.#describe(request), outcome: entry.inflight ? "wait" : "miss" });
    return entry.inflight ?? this.#fetch(request, entry);
  }

  /**
   * Drops cached tokens: the one for `params` (all when omitted). With
   * `token`, only if that is still the cached one, so many callers reporting
   * the same rejected token drop it once and do not discard its successor.
   */
  invalidate(params?: TokenParams, token?: string): void {
    if (params === undefined) {
      for (const entry of this.#entries.values()) entry.cached = undefined;
      return;
    }
    const entry = this.#entries.get(this.#normalize(params).key);
    if (entry?.cached && (token === undefined || entry.cached.token.accessToken === token)) entry.cached = undefined;
  }

  [inspect.custom](): string {
    return `TokenClient { issuer: ${JSON.stringify(this.#issuer)}, clientId: ${JSON.stringify(this.#clientId)}, auth: ${this.#auth.method} }`;
  }

  toJSON(): Record<string, string> {
    return { issuer: this.#issuer, clientId: this.#clientId, auth: this.#auth.method };
  }

  #refreshInBackground(request: Request, entry: Entry): void {
    // its own span: it outlives the call that started it
    void inSpan("TokenClient.refresh", () =>
      this.#fetch(request, entry).catch((error: unknown) => {
        entry.refreshPausedUntil = this.#clock() + REFRESH_FAILURE_PAUSE_MS;
        this.#events.onRefreshFailed({ ...this.#describe(request), error });
      }),
    );
  }

  #fetch(request: Request, entry: Entry): Promise<AccessToken> {
    const inflight: Promise<AccessToken> = this.#requestWithRetry(request)
      .then((cached) => {
        // Stored before the flight ends, so a caller never finds neither.
        entry.cached = cached;
        return cached.token;
      })
      .finally(() => {
        if (entry.inflight === inflight) entry.inflight = undefined;
      });
    entry.inflight = inflight;
    return inflight;
  }

  async #requestWithRetry(request: Request): Promise<Cached> {
    const started = this.#clock();
    let attempts = 0;
    for (;;) {
      attempts += 1;
      this.#signal?.throwIfAborted();
      try {
        return await this.#requestOnce(request);
      } catch (error) {
        if (!(error instanceof AuthServerUnavailableError)) throw error;
        const delay = backoffDelay(this.#retry, attempts - 1, this.#random, error.details.retryAfterSeconds);
        const outOfTime = this.#clock() + delay - started > this.#retry.maxElapsedMs;
        if (attempts >= this.#retry.maxAttempts || outOfTime) {
          throw new AuthServerUnavailableError(error.message, { ...error.details, attempts });
        }
        this.#events.onRetry({ ...this.#describe(request), attempt: attempts, delayMs: delay, error });
        await this.#sleep(delay);
      }
    }
  }

  async #requestOnce(request: Request): Promise<Cached> {
    const tokenEndpoint = await this.#discover();
    const sentAt = this.#clock();
    let answer = await this.#post(request, tokenEndpoint, sentAt);
    // RFC 9449 §8: the server wants its nonce in the proof; the one retry carries it (remembered by #post), never more
    const nonceRetried = this.#dpop !== undefined && isNonceChallenge(answer);
    if (nonceRetried) answer = await this.#post(request, tokenEndpoint, this.#clock());
    const response = readTokenResponse(answer, this.#clock(), this.#dpop ? "DPoP" : "Bearer");
    const lifetimeSeconds = this.#lifetimeSeconds(response.expiresIn);
    const lifetimeMs = lifetimeSeconds * 1000;
    const margin = Math.min(this.#marginMs, lifetimeMs / 10);
    const token: AccessToken = {
      accessToken: response.accessToken,
      tokenType: this.#dpop ? "DPoP" : "Bearer",
      expiresAt: sentAt + lifetimeMs - margin,
      scope: response.scope ?? request.scopes?.join(" "),
    };
    this.#events.onFetched({
      ...this.#describe(request, token.scope),
      authMethod: this.#auth.method,
      expiresIn: response.expiresIn,
      lifetimeSeconds,
      tokenFingerprint: fingerprint(token.accessToken),
      ...(this.#dpop ? { dpop: { jkt: this.#dpop.jkt, nonceRetried } } : {}),
    });
    // Jittered per token, so that clients which fetched together drift apart at the next refresh.
    const refreshShare = this.#refreshAfter * (1 - this.#random() * this.#refreshJitter);
    return { token, refreshAt: sentAt + lifetimeMs * refreshShare };
  }

  /**
   * One token request: the form, the client's authentication (applied anew
   * each time, so a `private_key_jwt` assertion is rebuilt with a new `jti`
   * for a retry) and, with DPoP, a fresh proof of the client's key. A
   * `DPoP-Nonce` in any answer is remembered for the next proof.
   */
  async #post(request: Request, tokenEndpoint: string, now: number): Promise<Answer> {
    const body = new URLSearchParams({ grant_type: "client_credentials" });
    if (request.scopes?.length) body.set("scope", request.scopes.join(" "));
    if (request.target) body.set(request.target.name, request.target.value);
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    };
    await this.#auth.apply({ clientId: this.#clientId, issuer: this.#issuer, tokenEndpoint, now }, body, headers);
    if (this.#dpop) headers.dpop = await this.#dpop.proof({ htm: "POST", htu: tokenEndpoint });
    const answer = await exchange(this.#http, { method: "POST", url: tokenEndpoint, data: body.toString(), headers }, "token request", this.#limits());
    const nonce = answer.headers["dpop-nonce"];
    if (this.#dpop && typeof nonce === "string" && nonce !== "") this.#dpop.rememberNonce(tokenEndpoint, nonce);
    return answer;
  }

  /**
   * The lifetime to count with: `expires_in`, or the default without one, in
   * whole seconds (RFC 6749 §5.1 sends whole seconds; a fraction is dropped,
   * so never more is counted than the server said), within the bounds.
   */
  #lifetimeSeconds(expiresIn: number | undefined): number {
    const { defaultSeconds, minSeconds, maxSeconds } = this.#lifetime;
    return Math.min(maxSeconds, Math.max(minSeconds, Math.floor(expiresIn ?? defaultSeconds)));
  }

  /** The token endpoint: given, or discovered once (RFC 8414); a failed discovery is retried next time. */
  #discover(): Promise<string> {
    if (!this.#tokenEndpoint) {
      const discovered = fetchMetadata(this.#http, this.#authServerUrl, this.#issuer, { ...this.#limits(), now: this.#clock }).then(
        (metadata) => metadata.token_endpoint,
      );
      discovered.catch(() => {
        if (this.#tokenEndpoint === discovered) this.#tokenEndpoint = undefined;
      });
      this.#tokenEndpoint = discovered;
    }
    return this.#tokenEndpoint;
  }

  /** Each request to the authorization server: its total deadline, and the client's signal. */
  #limits(): ExchangeLimits {
    return { totalTimeoutMs: this.#requestTimeoutMs, ...(this.#signal ? { signal: this.#signal } : {}) };
  }

  #normalize(params: TokenParams): Request {
    if (params.audience !== undefined && params.resource !== undefined) {
      throw new TypeError("give audience or resource, not both");
    }
    const target =
      params.resource !== undefined
        ? { name: "resource" as const, value: params.resource }
        : params.audience !== undefined
          ? { name: "audience" as const, value: params.audience }
          : undefined;
    const list = typeof params.scope === "string" ? params.scope.split(" ") : (params.scope ?? []);
    const unique = [...new Set(list.filter((s) => s !== ""))].sort();
    const scopes = params.scope === undefined ? undefined : unique;
    // The endpoint is fixed per client (given, or discovered from one server), so it is named by where it comes from;
    // a DPoP-bound token is good only with its key, so the key is part of what a token is cached for.
    const key = JSON.stringify([this.#authServerUrl, this.#clientId, target?.name, target?.value, scopes, this.#dpop?.jkt]);
    return { key, scopes, target };
  }

  #describe(request: Request, grantedScope?: string): TokenRequestDescription {
    return {
      clientId: this.#clientId,
      ...(request.target === undefined ? {} : { [request.target.name]: request.target.value }),
      scope: grantedScope ?? request.scopes?.join(" "),
    };
  }
}

/** The lifetime options, checked once so that every lifetime counted is a finite number of seconds. */
function lifetimePolicy(options: TokenClientOptions): LifetimePolicy {
  const policy = {
    defaultSeconds: options.defaultExpiresIn ?? 60,
    minSeconds: options.minLifetimeSeconds ?? DEFAULT_MIN_LIFETIME_SECONDS,
    maxSeconds: options.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS,
  };
  const positive = (n: number) => Number.isFinite(n) && n > 0;
  if (!positive(policy.defaultSeconds)) throw new TypeError("defaultExpiresIn must be a positive number");
  if (!positive(policy.minSeconds)) throw new TypeError("minLifetimeSeconds must be a positive number");
  if (!positive(policy.maxSeconds) || policy.maxSeconds < policy.minSeconds) {
    throw new TypeError("maxLifetimeSeconds must be a number no less than minLifetimeSeconds");
  }
  return policy;
}

/** `ms` of waiting, ended early by `signal`, rejecting with its reason. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** RFC 9449 §8: `400 use_dpop_nonce`, and the nonce to use in `DPoP-Nonce`. */
function isNonceChallenge(answer: Answer): boolean {
  return answer.status === 400 && isObject(answer.json) && answer.json.error === "use_dpop_nonce" && typeof answer.headers["dpop-nonce"] === "string";
}
