import { InvalidScopeError, InvalidTargetError } from "./errors.js";
import type { ClientRegistration, ClientRegistry, ResourceServer } from "./registry.js";
import { formatScope, parseScope } from "./scope.js";

/** The target and scope parameters of a token request, as sent. */
export interface GrantRequest {
  scope?: string;
  /** RFC 8707 §2 resource indicator. */
  resource?: string;
  /** A resource server identifier (the `audience` parameter of Auth0 and Ory Hydra). */
  audience?: string;
}

/** What the client gets, and the checks that passed, in words (for the `token.issued` log). */
export interface GrantDecision {
  audience: ResourceServer;
  scope: string;
  checks: string[];
}

/**
 * Step 2 after authentication (RFC 6749 §3.3, §4.4.2; RFC 8707 §2): every
 * requested scope exists and is allowed to the client (no `scope`: the
 * client's whole allowed set for the target); the target, named by
 * `resource` or `audience` (at most one) or else inferred as the one
 * resource server owning all requested scopes, is allowed to the client.
 */
export function decideGrant(client: ClientRegistration, registry: ClientRegistry, request: GrantRequest): GrantDecision {
  const checks: string[] = [];
  if (request.resource !== undefined && request.audience !== undefined) {
    throw new InvalidTargetError("give resource or audience, not both");
  }
  const requested = request.scope === undefined ? undefined : parseScope(request.scope);
  if (requested) {
    for (const scope of requested) {
      if (!registry.hasScope(scope)) throw new InvalidScopeError(`unknown scope ${JSON.stringify(scope)}`);
      if (!client.scopes.includes(scope)) throw new InvalidScopeError(`the client may not request scope ${JSON.stringify(scope)}`);
    }
  }

  const audience = target(client, registry, request, requested);
  checks.push(`audience allowed: ${audience.id}`);

  let granted: string[];
  if (requested) {
    for (const scope of requested) {
      if (!audience.scopes.includes(scope)) {
        throw new InvalidTargetError(`scope ${JSON.stringify(scope)} is not a scope of ${audience.id}`);
      }
    }
    granted = requested;
  } else {
    granted = client.scopes.filter((scope) => audience.scopes.includes(scope));
    if (granted.length === 0) throw new InvalidScopeError(`the client may not have any scope of ${audience.id}`);
  }
  checks.unshift(...granted.map((scope) => `scope allowed: ${scope}`));
  return { audience, scope: formatScope(granted), checks };
}

function target(
  client: ClientRegistration,
  registry: ClientRegistry,
  request: GrantRequest,
  requested: string[] | undefined,
): ResourceServer {
  if (request.resource !== undefined) {
    // a registered resource is a valid one (the registry checked it when loaded): parse only the others
    const server = registry.resourceServerFor(request.resource);
    if (server === undefined) {
      if (!isAbsoluteUriWithoutFragment(request.resource)) {
        throw new InvalidTargetError("resource must be an absolute URI without a fragment (RFC 8707 §2)");
      }
      throw new InvalidTargetError("unknown resource");
    }
    if (!client.audiences.includes(server.id)) throw new InvalidTargetError("the resource is not allowed for this client");
    return server;
  }
  if (request.audience !== undefined) {
    const server = registry.resourceServer(request.audience);
    if (server === undefined) throw new InvalidTargetError("unknown audience");
    if (!client.audiences.includes(server.id)) throw new InvalidTargetError("the audience is not allowed for this client");
    return server;
  }
  const allowed = client.audiences.map((id) => registry.resourceServer(id)).filter((s): s is ResourceServer => s !== undefined);
  const candidates = requested ? allowed.filter((s) => requested.every((scope) => s.scopes.includes(scope))) : allowed;
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) throw new InvalidTargetError("the requested scopes belong to several resource servers; ask for one at a time");
  throw new InvalidTargetError("several resource servers fit; name one with resource or audience");
}

function isAbsoluteUriWithoutFragment(value: string): boolean {
  if (value.includes("#") || !/^[a-z][a-z0-9+.-]*:/i.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
