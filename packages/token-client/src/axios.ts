import { isAxiosError, type AxiosInstance, type InternalAxiosRequestConfig } from "axios";
import type { AccessToken, TokenParams } from "./token-client.js";
import { isInvalidTokenChallenge } from "./www-authenticate.js";

/** What the interceptor needs from a token client (a {@link TokenClient} has it). */
export interface TokenSource {
  getToken(params: TokenParams): Promise<AccessToken>;
  invalidate(params?: TokenParams, token?: string): void;
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
  bearerToken?: { sent?: string; retried?: boolean };
}

/**
 * Makes every request of `instance` carry `Authorization: Bearer <token>`
 * (RFC 6750 §2.1) with a token from `tokens` for `options`' target and
 * scope. When the resource server answers `401` with
 * `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1), for
 * example because it rotated keys or the token was revoked, the rejected
 * token is dropped, a new one obtained, and the request sent once more;
 * a second `401` is returned to the caller as it is, never looped on.
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
    config.headers.set("Authorization", `Bearer ${token.accessToken}`);
    config.bearerToken = { ...config.bearerToken, sent: token.accessToken };
    return config;
  });

  const response = instance.interceptors.response.use(undefined, async (error: unknown) => {
    if (!isAxiosError(error) || !error.config || error.response?.status !== 401) throw error;
    const config = error.config as Tracked;
    if (config.bearerToken?.retried || !isInvalidTokenChallenge(headerValue(error.response.headers["www-authenticate"]))) {
      throw error;
    }
    tokens.invalidate(params, config.bearerToken?.sent);
    config.bearerToken = { retried: true };
    return instance.request(config);
  });

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
