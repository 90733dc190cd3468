import { isAxiosError, type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from "axios";
import type { DPoPKey } from "./dpop.js";
import type { AccessToken, TokenParams } from "./token-client.js";
import { isInvalidTokenChallenge, isNonceChallenge } from "./www-authenticate.js";

/** What the interceptor needs from a token client (a {@link TokenClient} has it). */
export interface TokenSource {
  getToken(params: TokenParams): Promise<AccessToken>;
  invalidate(params?: TokenParams, token?: string): void;
  /** The key `DPoP` tokens are bound to, which proves them at the resource server. */
  readonly dpop?: DPoPKey | undefined;
}

export interface BearerTokenOptions extends TokenParams {
  /**
   * Origins (`https://payment.internal:8443`) the token may be sent to.
   * Default: the origin of the instance's `baseURL` when it has one, so a
   * stray absolute URL cannot carry the token to another server (a token is
   * a bearer credential: whoever holds it can use it). Empty: any origin.
   */
  allowedOrigins?: readonly string[];
}

/** Kept on the request config (axios copies unknown config keys into a retry). */
interface Tracked extends InternalAxiosRequestConfig {
  bearerToken?: { sent?: string; retried?: boolean; nonceRetried?: boolean };
}

/**
 * Makes every request of `instance` carry `Authorization: Bearer <token>`
 * (RFC 6750 §2.1) with a token from `tokens` for `options`' target and
 * scope; or, for a DPoP-bound token, `Authorization: DPoP <token>` and a
 * `DPoP` header with a fresh proof of the client's key for this request and
 * token (RFC 9449 §7). When the resource server answers `401` with
 * `error="invalid_token"` (RFC 6750 §3.1, RFC 9449 §7.1), for example
 * because it rotated keys or the token was revoked, the rejected token is
 * dropped, a new one obtained, and the request sent once more; a second
 * `401` is returned to the caller as it is, never looped on. When it answers
 * `401` with `error="use_dpop_nonce"` (RFC 9449 §9), the request is sent once
 * more with a proof carrying the nonce it sent; a `DPoP-Nonce` on any answer
 * is remembered for the next proofs to that origin.
 *
 * Token acquisition errors (`TokenRequestError`, `AuthServerUnavailableError`)
 * reject the request as they are, so the caller can tell them apart.
 *
 * @returns a function that removes the interceptors.
 */
export function withBearerToken(instance: AxiosInstance, tokens: TokenSource, options: BearerTokenOptions = {}): () => void {
  const { allowedOrigins, ...params } = options;
  const origins = allowedOrigins ?? (instance.defaults.baseURL ? [new URL(instance.defaults.baseURL).origin] : []);

  const request = instance.interceptors.request.use(async (config: Tracked) => {
    if (origins.length > 0) {
      const origin = new URL(instance.getUri(config)).origin;
      if (!origins.includes(origin)) throw new Error(`refusing to send a bearer token to ${origin}`);
    }
    const token = await tokens.getToken(params);
    if (token.tokenType === "DPoP") {
      if (!tokens.dpop) throw new Error("a DPoP-bound token, but no DPoP key to prove it with");
      const htu = instance.getUri(config);
      config.headers.set("Authorization", `DPoP ${token.accessToken}`);
      config.headers.set("DPoP", await tokens.dpop.proof({ htm: (config.method ?? "get").toUpperCase(), htu, accessToken: token.accessToken }));
    } else {
      config.headers.set("Authorization", `Bearer ${token.accessToken}`);
    }
    config.bearerToken = { ...config.bearerToken, sent: token.accessToken };
    return config;
  });

  const response = instance.interceptors.response.use(
    (answer: AxiosResponse) => {
      rememberNonce(answer);
      return answer;
    },
    async (error: unknown) => {
      if (!isAxiosError(error) || !error.config || !error.response) throw error;
      rememberNonce(error.response);
      if (error.response.status !== 401) throw error;
      const config = error.config as Tracked;
      const challenge = headerValue(error.response.headers["www-authenticate"]);
      const tracked = config.bearerToken ?? {};
      if (tokens.dpop && !tracked.nonceRetried && isNonceChallenge(challenge)) {
        config.bearerToken = { ...tracked, nonceRetried: true };
        return instance.request(config);
      }
      if (tracked.retried || !isInvalidTokenChallenge(challenge)) throw error;
      tokens.invalidate(params, tracked.sent);
      config.bearerToken = { retried: true, nonceRetried: tracked.nonceRetried ?? false };
      return instance.request(config);
    },
  );

  /** RFC 9449 §8.2: a server may send a new nonce on any answer; the next proof to it carries it. */
  function rememberNonce(answer: AxiosResponse): void {
    const nonce = answer.headers["dpop-nonce"];
    if (tokens.dpop && typeof nonce === "string" && nonce !== "" && answer.config) tokens.dpop.rememberNonce(instance.getUri(answer.config), nonce);
  }

  return () => {
    instance.interceptors.request.eject(request);
    instance.interceptors.response.eject(response);
  };
}

function headerValue(value: unknown): string | string[] | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(String);
  return undefined;
}
