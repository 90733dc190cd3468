import { fetchJson, KeySourceError, type FetchJsonOptions } from "./fetch-json.js";

/**
 * The RFC 8414 §3.1 metadata URL of an issuer: the well-known suffix goes
 * between the host and any path component of the issuer identifier
 * (`https://as.example/tenant` → `https://as.example/.well-known/oauth-authorization-server/tenant`).
 */
export function metadataUrlFor(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/+$/, "");
  return `${url.origin}/.well-known/oauth-authorization-server${path}`;
}

/**
 * Fetches an issuer's RFC 8414 metadata and returns its `jwks_uri`.
 *
 * RFC 8414 §3.3: "The "issuer" value returned MUST be identical to the
 * authorization server's issuer identifier value [...]. If these values are
 * not identical, the data contained in the response MUST NOT be used." The
 * comparison is exact (no trailing-slash or case folding), as for `iss`.
 */
export async function discoverJwksUri(metadataUrl: string, issuer: string, options: FetchJsonOptions): Promise<string> {
  const metadata = await fetchJson(metadataUrl, options);
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new KeySourceError(`${metadataUrl}: the metadata is not a JSON object`);
  }
  const { issuer: published, jwks_uri: jwksUri } = metadata as Record<string, unknown>;
  if (published !== issuer) {
    throw new KeySourceError(
      `${metadataUrl}: the metadata names issuer ${JSON.stringify(published)}, expected ${JSON.stringify(issuer)} (RFC 8414 §3.3)`,
    );
  }
  if (typeof jwksUri !== "string" || !isHttpUrl(jwksUri)) {
    throw new KeySourceError(`${metadataUrl}: the metadata has no usable jwks_uri`);
  }
  return jwksUri;
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
}
