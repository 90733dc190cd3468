import { createServer } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import { closeServer, serverUrl } from "@m2m/service-kit";
import type * as OidcProvider from "oidc-provider";
import { loadPeer } from "../peers.js";
import type { ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";
import { CHARGE_SCOPE, DEV_CLIENTS, PAYMENT_AUDIENCE, PAYMENT_RESOURCE } from "./dev-registry.js";

/**
 * The reference people would otherwise pick for issuance: panva's
 * oidc-provider with the client credentials grant, resource indicators
 * (RFC 8707) and JWT access tokens, configured with the contract's clients,
 * scopes and audience, signing with the same algorithm as ours. One of the
 * bench's peers (src/peers.ts).
 */
export async function startOidcProvider(spec: ServerSpec): Promise<RunningServer> {
  const { default: Provider, errors } = await loadPeer<typeof OidcProvider>("oidc-provider");
  const alg = spec.alg ?? "RS256";
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg, use: "sig", kid: `bench-${alg}` };

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = serverUrl(server);

  const provider = new Provider(url, {
    clients: DEV_CLIENTS.map((c) => ({
      client_id: c.clientId,
      client_secret: c.secret,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
      scope: c.scope,
      // no ID tokens here, but the client metadata must name a signing alg the key set has
      id_token_signed_response_alg: alg,
    })),
    jwks: { keys: [jwk] },
    scopes: ["charge:customer", "charge:read"],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => PAYMENT_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== PAYMENT_RESOURCE) throw new errors.InvalidTarget();
          return {
            audience: PAYMENT_AUDIENCE,
            scope: `${CHARGE_SCOPE} charge:read`,
            accessTokenTTL: 300,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg } },
          };
        },
      },
    },
    ttl: { ClientCredentials: 300 },
  });
  server.on("request", provider.callback());
  return { server, url, close: () => closeServer(server) };
}
