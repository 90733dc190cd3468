import { InvalidRequestError, UnauthorizedError } from "./errors.js";

/** Where a request may have put an access token. */
export interface BearerRequest {
  /** Every `Authorization` header field of the request (Node: `req.headersDistinct.authorization`). */
  authorization: readonly string[] | string | undefined;
  /** The query string carried an `access_token` parameter (RFC 6750 §2.3). */
  tokenInQuery?: boolean;
  /** A parsed form body carried an `access_token` parameter (RFC 6750 §2.2). */
  tokenInBody?: boolean;
}

/**
 * Every `Authorization` field of a request, from Node's `rawHeaders`
 * (`[name, value, name, value, …]`): `req.headers` keeps only the first of
 * repeated ones, and `req.headersDistinct` builds an array for every header
 * of the request just to look at one.
 */
export function authorizationFields(rawHeaders: readonly string[]): string[] {
  const fields: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === "authorization") fields.push(rawHeaders[i + 1]!);
  }
  return fields;
}

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 7235 §2.1)
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/**
 * Extracts the access token from a request, the RFC 6750 §2.1 way only.
 *
 * - No `Authorization` header, or one with another scheme (`Basic ...`):
 *   {@link UnauthorizedError}, the bare challenge, because the request
 *   "lacks any authentication information" or "attempted using an
 *   unsupported authentication method" (RFC 6750 §3.1).
 * - A token only in the query string or a form body: the same. RFC 6750 §2.2
 *   and §2.3 are optional methods and this resource server supports neither:
 *   a URI leaks into logs, history and `Referer` (RFC 6750 §5.3, RFC 9700
 *   §4.3.2), so such a token is not a credential here; it is never read.
 * - A Bearer header and also a query or body token: `invalid_request` (400),
 *   RFC 6750 §3.1 "uses more than one method for including an access token".
 * - Two `Authorization` fields, or a Bearer header that does not match
 *   `Bearer 1*SP b64token` (no token, a second scheme, a space inside):
 *   `invalid_request` (400), "repeats the same parameter" / "otherwise malformed".
 *
 * The scheme is matched case-insensitively (`bearer` is fine, RFC 7235 §2.1).
 */
export function extractBearerToken(request: BearerRequest): string {
  const fields = request.authorization === undefined ? [] : typeof request.authorization === "string" ? [request.authorization] : request.authorization;
  if (fields.length > 1) throw new InvalidRequestError("the request has more than one Authorization header");
  const field = fields[0]?.trim();
  if (field === undefined || field === "" || SCHEME.exec(field)?.[0].toLowerCase() !== "bearer") {
    throw new UnauthorizedError();
  }
  if (request.tokenInQuery || request.tokenInBody) {
    throw new InvalidRequestError("the access token must be sent in the Authorization header only");
  }
  const match = BEARER.exec(field);
  if (!match) throw new InvalidRequestError("the Authorization header is not Bearer followed by one token");
  return match[1] as string;
}
