import type { DPoPMode } from "./dpop.js";
import { InvalidRequestError, UnauthorizedError } from "./errors.js";

/** Where a request may have put an access token. */
export interface BearerRequest {
  /** Every `Authorization` header field of the request (Node: `req.headersDistinct.authorization`). */
  authorization: readonly string[] | string | undefined;
  /** The query string carried an `access_token` parameter (RFC 6750 §2.3). */
  tokenInQuery?: boolean;
  /** A parsed form body carried an `access_token` parameter (RFC 6750 §2.2). */
  tokenInBody?: boolean;
  /** Every `DPoP` header field of the request (RFC 9449 §4.1), for a token sent with the `DPoP` scheme. */
  dpop?: readonly string[];
  /** The HTTP method, for the proof's `htm`. */
  method?: string;
  /** The request's absolute URI as clients address it, for the proof's `htu`. */
  url?: string;
}

/**
 * Every field of the header `lowerCaseName` of a request, from Node's
 * `rawHeaders` (`[name, value, name, value, …]`): `req.headers` keeps only
 * the first of repeated `Authorization` fields and joins repeated `DPoP`
 * ones with a comma, and `req.headersDistinct` builds an array for every
 * header of the request just to look at one or two.
 */
export function headerFields(rawHeaders: readonly string[], lowerCaseName: string): string[] {
  const fields: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName) fields.push(rawHeaders[i + 1]!);
  }
  return fields;
}

/** Every `Authorization` field of a request (see {@link headerFields}). */
export function authorizationFields(rawHeaders: readonly string[]): string[] {
  return headerFields(rawHeaders, "authorization");
}

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; RFC 9449 §7.1: "DPoP" 1*SP token68, the same
// characters; the scheme is case-insensitive (RFC 7235 §2.1)
const CREDENTIALS = /^(bearer|dpop) +([A-Za-z0-9\-._~+/]+=*)$/i;
const SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/** The schemes a resource server takes, by its DPoP mode. */
const SCHEMES: Record<DPoPMode, readonly string[]> = { off: ["bearer"], allowed: ["bearer", "dpop"], required: ["dpop"] };

/** An access token, and the scheme it came with. */
export interface PresentedToken {
  scheme: "bearer" | "dpop";
  token: string;
}

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
  return extractAccessToken(request, "off").token;
}

/**
 * {@link extractBearerToken}, with the `DPoP` scheme (RFC 9449 §7.1) too
 * when `mode` takes it: `allowed` takes both schemes, `required` only
 * `DPoP`. A scheme the mode does not take is answered like any other
 * unsupported one, with the bare challenge.
 */
export function extractAccessToken(request: BearerRequest, mode: DPoPMode): PresentedToken {
  const fields = request.authorization === undefined ? [] : typeof request.authorization === "string" ? [request.authorization] : request.authorization;
  if (fields.length > 1) throw new InvalidRequestError("the request has more than one Authorization header");
  const field = fields[0]?.trim();
  const scheme = field === undefined ? undefined : SCHEME.exec(field)?.[0].toLowerCase();
  if (scheme === undefined || !SCHEMES[mode].includes(scheme)) {
    throw mode === "required" ? new UnauthorizedError("this resource needs a DPoP-bound access token and a DPoP proof") : new UnauthorizedError();
  }
  if (request.tokenInQuery || request.tokenInBody) {
    throw new InvalidRequestError("the access token must be sent in the Authorization header only");
  }
  const match = CREDENTIALS.exec(field!);
  if (!match) throw new InvalidRequestError(`the Authorization header is not ${scheme === "dpop" ? "DPoP" : "Bearer"} followed by one token`);
  return { scheme: scheme as PresentedToken["scheme"], token: match[2]! };
}
