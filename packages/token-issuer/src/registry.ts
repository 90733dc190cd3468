import type { KeyObject } from "node:crypto";
import type { SecretHash } from "./secret-hash.js";

/** A protected API that tokens are issued for (the token's `aud`). */
export interface ResourceServer {
  /** Its identifier, the `aud` of its tokens and the `audience` parameter (e.g. `payment-service`). */
  readonly id: string;
  /** RFC 8707 resource indicators (absolute URIs) that name it. */
  readonly resources: readonly string[];
  /** The scopes it defines. */
  readonly scopes: readonly string[];
}

/** A public key a client signs its `private_key_jwt` assertions with (RFC 7523 §2.2). */
export interface ClientKey {
  readonly kid?: string;
  /** The one JWS algorithm this key may be used with. */
  readonly alg: string;
  readonly key: KeyObject;
}

/** What the authorization server knows about one client. */
export interface ClientRegistration {
  readonly clientId: string;
  /** A disabled client cannot authenticate, and its tokens introspect as inactive. */
  readonly disabled: boolean;
  /** For `client_secret_basic` and `client_secret_post`; never the secret itself. */
  readonly secretHash?: SecretHash;
  /** For `private_key_jwt`. */
  readonly keys?: readonly ClientKey[];
  /** Scopes the client may request; with no `scope` parameter it gets all of them. */
  readonly scopes: readonly string[];
  /** Resource server ids the client may get tokens for. */
  readonly audiences: readonly string[];
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: every token request of this client must carry a DPoP proof. */
  readonly dpopBoundAccessTokens: boolean;
}

/** Everything the registry holds, validated. */
export interface RegistryData {
  readonly resourceServers: readonly ResourceServer[];
  readonly clients: readonly ClientRegistration[];
}

/**
 * The clients and resource servers known to the authorization server,
 * immutable: a reload builds a new registry.
 */
export class ClientRegistry {
  private readonly clients = new Map<string, ClientRegistration>();
  private readonly servers = new Map<string, ResourceServer>();
  private readonly byResource = new Map<string, ResourceServer>();
  private readonly scopes: ReadonlySet<string>;

  constructor(readonly data: RegistryData) {
    for (const client of data.clients) this.clients.set(client.clientId, client);
    for (const server of data.resourceServers) {
      this.servers.set(server.id, server);
      for (const resource of server.resources) this.byResource.set(resource, server);
    }
    this.scopes = new Set(data.resourceServers.flatMap((server) => server.scopes));
  }

  /** The client registered under `clientId`, disabled or not. */
  client(clientId: string): ClientRegistration | undefined {
    return this.clients.get(clientId);
  }

  /** The resource server whose identifier is `id` (the `audience` parameter). */
  resourceServer(id: string): ResourceServer | undefined {
    return this.servers.get(id);
  }

  /** The resource server an RFC 8707 resource indicator names. */
  resourceServerFor(resource: string): ResourceServer | undefined {
    return this.byResource.get(resource);
  }

  /** Every scope of every resource server, for `scopes_supported` (RFC 8414 §2). */
  scopesSupported(): string[] {
    return [...this.scopes];
  }

  /** True when some resource server defines `scope`. */
  hasScope(scope: string): boolean {
    return this.scopes.has(scope);
  }
}
