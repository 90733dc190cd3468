import { ASSERTION_ALGORITHMS } from "./registry-file.js";
import type { ClientRegistry } from "./registry.js";

/** The RFC 8414 §2 members this server publishes. */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
  scopes_supported: string[];
  response_types_supported: string[];
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported: string[];
  introspection_endpoint: string;
  introspection_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_signing_alg_values_supported: string[];
  /** RFC 9449 §5.1: the algorithms DPoP proofs may be signed with. */
  dpop_signing_alg_values_supported: string[];
}

/**
 * RFC 8414 §2 metadata. `response_types_supported` is REQUIRED there; this
 * server has no authorization endpoint, so the truthful value is the empty
 * list (and no `authorization_endpoint`, which §2 only requires when a
 * grant type uses it).
 */
export function authorizationServerMetadata(server: {
  issuer: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  jwksUri: string;
  registry: ClientRegistry;
  dpopAlgorithms: string[];
}): AuthorizationServerMetadata {
  const authMethods = ["client_secret_basic", "client_secret_post", "private_key_jwt"];
  const signingAlgs = [...ASSERTION_ALGORITHMS];
  return {
    issuer: server.issuer,
    token_endpoint: server.tokenEndpoint,
    jwks_uri: server.jwksUri,
    scopes_supported: server.registry.scopesSupported(),
    response_types_supported: [],
    grant_types_supported: ["client_credentials"],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: signingAlgs,
    introspection_endpoint: server.introspectionEndpoint,
    introspection_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_signing_alg_values_supported: signingAlgs,
    dpop_signing_alg_values_supported: server.dpopAlgorithms,
  };
}
