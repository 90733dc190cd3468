import { InvalidClientError, InvalidRequestError } from "./errors.js";
import { JWT_BEARER_ASSERTION_TYPE } from "./client-assertion.js";

/** Client authentication methods (RFC 8414 §2 `token_endpoint_auth_methods_supported` values). */
export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "private_key_jwt";

/** What a request presents to authenticate the client, before anything is checked. */
export type PresentedCredentials =
  | { method: "client_secret_basic" | "client_secret_post"; clientId: string; secret: string }
  | { method: "private_key_jwt"; clientId?: string; assertion: string }
  | { method: "none"; clientId?: string };

/**
 * Finds the one client authentication method a request uses (RFC 6749
 * §2.3: "The client MUST NOT use more than one authentication method in
 * each request"). More than one is `invalid_request`; a malformed Basic
 * header is `invalid_client` with a Basic challenge (RFC 6749 §5.2).
 */
export function presentedCredentials(
  authorization: string | undefined,
  params: ReadonlyMap<string, string>,
  realm: string,
): PresentedCredentials {
  const found: PresentedCredentials[] = [];
  if (authorization !== undefined) found.push(fromAuthorizationHeader(authorization, realm));
  const secret = params.get("client_secret");
  if (secret !== undefined) {
    const clientId = params.get("client_id");
    if (clientId === undefined) throw new InvalidRequestError("client_secret given without client_id");
    found.push({ method: "client_secret_post", clientId, secret });
  }
  const assertion = params.get("client_assertion");
  const assertionType = params.get("client_assertion_type");
  if (assertion !== undefined || assertionType !== undefined) {
    if (assertion === undefined || assertionType === undefined) {
      throw new InvalidRequestError("client_assertion and client_assertion_type go together");
    }
    if (assertionType !== JWT_BEARER_ASSERTION_TYPE) {
      throw new InvalidClientError(`unsupported client_assertion_type (expected ${JWT_BEARER_ASSERTION_TYPE})`);
    }
    found.push({ method: "private_key_jwt", assertion, ...withClientId(params) });
  }
  if (found.length > 1) throw new InvalidRequestError("more than one client authentication method used");
  const only = found[0];
  if (only === undefined) return { method: "none", ...withClientId(params) };
  // A client_id parameter next to Basic must name the same client (RFC 6749 §2.3.1 allows it, never a second identity).
  const bodyId = params.get("client_id");
  if (only.method === "client_secret_basic" && bodyId !== undefined && bodyId !== only.clientId) {
    throw new InvalidRequestError("client_id does not match the client of the Authorization header");
  }
  return only;
}

function withClientId(params: ReadonlyMap<string, string>): { clientId?: string } {
  const clientId = params.get("client_id");
  return clientId === undefined ? {} : { clientId };
}

/**
 * RFC 6749 §2.3.1: `Basic base64(urlencode(client_id) ":" urlencode(secret))`,
 * each part form-urlencoded (RFC 6749 Appendix B), so `%3A` in an id stays a colon of the id.
 */
function fromAuthorizationHeader(header: string, realm: string): PresentedCredentials {
  const challenge = { basicRealm: realm };
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (match === null) {
    const scheme = header.split(" ", 1)[0] ?? "";
    if (scheme.toLowerCase() === "basic") throw new InvalidClientError("malformed Basic credentials", challenge);
    throw new InvalidClientError("unsupported authentication scheme (use Basic)", challenge);
  }
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) throw new InvalidClientError("malformed Basic credentials", challenge);
  try {
    const clientId = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    if (secret === "") throw new InvalidClientError("malformed Basic credentials", challenge);
    return { method: "client_secret_basic", clientId, secret };
  } catch (error) {
    if (error instanceof InvalidClientError) throw error;
    throw new InvalidClientError("malformed Basic credentials", challenge);
  }
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, " "));
}
