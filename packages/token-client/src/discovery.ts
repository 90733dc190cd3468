import type { AxiosInstance } from "axios";
import { InvalidResponseError } from "./errors.js";
import { exchange, isObject, isUnavailableStatus, unavailable, type ExchangeLimits } from "./http.js";

/** The RFC 8414 §2 metadata this package reads; servers publish more. */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  [name: string]: unknown;
}

/**
 * The metadata URL of RFC 8414 §3.1: `/.well-known/oauth-authorization-server`
 * inserted between the host and the path of the server's URL, so that
 * `https://as.example` gives `https://as.example/.well-known/oauth-authorization-server`
 * and `https://as.example/tenant` gives `.../oauth-authorization-server/tenant`.
 */
export function metadataUrl(authServerUrl: string): string {
  const url = new URL(authServerUrl);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/+$/, "");
  return `${url.origin}/.well-known/oauth-authorization-server${path}`;
}

/**
 * Fetches and validates RFC 8414 metadata. The `issuer` must equal the one
 * expected, character for character (RFC 8414 §3.3), or the metadata may be
 * another server's; the `token_endpoint` must be an absolute http(s) URL.
 */
export async function fetchMetadata(
  http: AxiosInstance,
  authServerUrl: string,
  expectedIssuer: string,
  options: ExchangeLimits & { now: () => number },
): Promise<AuthorizationServerMetadata> {
  const url = metadataUrl(authServerUrl);
  const answer = await exchange(http, { method: "GET", url, headers: { accept: "application/json" } }, "discovery", options);
  if (isUnavailableStatus(answer.status)) throw unavailable(answer, "discovery", options.now());
  if (answer.status !== 200 || !isObject(answer.json)) {
    throw new InvalidResponseError(`discovery: ${url} answered ${answer.status} without metadata`, answer.status);
  }
  const { issuer, token_endpoint: tokenEndpoint } = answer.json;
  if (issuer !== expectedIssuer) {
    throw new InvalidResponseError(
      `discovery: metadata issuer ${JSON.stringify(issuer)} is not the expected ${JSON.stringify(expectedIssuer)}`,
      answer.status,
    );
  }
  if (typeof tokenEndpoint !== "string" || !isHttpUrl(tokenEndpoint)) {
    throw new InvalidResponseError("discovery: metadata has no valid token_endpoint", answer.status);
  }
  return answer.json as AuthorizationServerMetadata;
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
}
