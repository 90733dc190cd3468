import { AuthServerUnavailableError, InvalidResponseError, TokenRequestError } from "./errors.js";
import { isObject, isUnavailableStatus, unavailable, type Answer } from "./http.js";

/** A successful token response (RFC 6749 §5.1), as this package reads it. */
export interface TokenResponse {
  accessToken: string;
  /** Seconds, as the server sent it, or `undefined` when it sent none. */
  expiresIn: number | undefined;
  /** The granted scope; RFC 6749 §5.1: absent means as requested. */
  scope: string | undefined;
}

/**
 * Error codes a server may send with a `4xx` that mean "try later", not
 * "no": RFC 6749 §4.1.2.1 defines them for the authorization endpoint and
 * some servers reuse them at the token endpoint.
 */
const TRANSIENT_ERRORS = new Set(["server_error", "temporarily_unavailable"]);

/**
 * Reads a token endpoint answer: a token (RFC 6749 §5.1) of the type
 * expected (`Bearer`, or `DPoP` when a proof was sent), a permanent OAuth
 * error (§5.2) as {@link TokenRequestError}, a transient failure as
 * {@link AuthServerUnavailableError}, or a protocol violation as
 * {@link InvalidResponseError}.
 */
export function readTokenResponse(answer: Answer, now: number, expectedType: "Bearer" | "DPoP" = "Bearer"): TokenResponse {
  const { status, json } = answer;
  if (status === 200) {
    if (!isObject(json)) throw new InvalidResponseError("token response is not a JSON object", status);
    const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = json;
    if (typeof accessToken !== "string" || accessToken === "") {
      throw new InvalidResponseError("token response has no access_token", status);
    }
    // RFC 6749 §7.1: the type is case-insensitive. A client that proved a DPoP key takes only a token bound to it
    // (RFC 9449 §5), never a bearer token it did not ask for; one that did not takes only a Bearer token.
    if (typeof tokenType !== "string" || tokenType.toLowerCase() !== expectedType.toLowerCase()) {
      throw new InvalidResponseError(`token response token_type is not ${expectedType}`, status);
    }
    const seconds = typeof expiresIn === "string" && /^\d+$/.test(expiresIn) ? Number(expiresIn) : expiresIn;
    if (seconds !== undefined && (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0)) {
      throw new InvalidResponseError("token response expires_in is not a positive number", status);
    }
    return { accessToken, expiresIn: seconds, scope: typeof scope === "string" ? scope : undefined };
  }
  if (isUnavailableStatus(status)) throw unavailable(answer, "token request", now);
  if (isObject(json) && typeof json.error === "string" && json.error !== "") {
    const description = typeof json.error_description === "string" ? json.error_description : undefined;
    if (TRANSIENT_ERRORS.has(json.error)) {
      throw new AuthServerUnavailableError(`token request failed: ${json.error}`, { status, attempts: 1 });
    }
    throw new TokenRequestError(json.error, description, status);
  }
  throw new InvalidResponseError(`token endpoint answered ${status} without an OAuth error`, status);
}
