import { ClientRegistry } from "./registry.js";
import { parseRegistry } from "./registry-file.js";

/**
 * The built-in development registry of the wire contract (docs/wire-contract.md): `order-service`
 * (secret `super-secret`, `charge:customer`) and `reporting-service`
 * (secret `reporting-secret`, `charge:read`), both for `payment-service`
 * (resource indicator `https://payment.internal`). The secrets are public
 * knowledge, which is why production refuses this registry; even so only
 * their hashes are held here.
 */
export function developmentRegistry(): ClientRegistry {
  return new ClientRegistry(parseRegistry(DEVELOPMENT_REGISTRY, "the development registry"));
}

/** The development registry in the file format (see the auth-server README). */
export const DEVELOPMENT_REGISTRY = {
  resource_servers: [
    { id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer", "charge:read"] },
  ],
  clients: [
    {
      client_id: "order-service",
      // hmac-sha256 of "super-secret"
      client_secret_hash: "$hmac-sha256$b3JkZXItc2VydmljZS1kZQ$H5XPhk0ruPHhNViCK2-5_D3_jz7m17pQLtV5hz5AUdk",
      scopes: ["charge:customer"],
      audiences: ["payment-service"],
    },
    {
      client_id: "reporting-service",
      // hmac-sha256 of "reporting-secret"
      client_secret_hash: "$hmac-sha256$cmVwb3J0aW5nLWRldi0wMQ$vjip-30YnRyfQjqYuJZgcrOw_j3i5yvCqah-J6ued5g",
      scopes: ["charge:read"],
      audiences: ["payment-service"],
    },
  ],
} as const;
