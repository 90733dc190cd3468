import { createPublicKey, type JsonWebKeyInput } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { ClientKey, ClientRegistration, RegistryData, ResourceServer } from "./registry.js";
import { isScopeToken } from "./scope.js";
import { parseSecretHash, SecretHashFormatError } from "./secret-hash.js";

/**
 * Asymmetric JWS algorithms accepted for client assertions (RFC 8725 §3.1:
 * never `none`; never HMAC, whose key would be a shared secret).
 */
export const ASSERTION_ALGORITHMS = [
  "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519",
] as const;

/** Thrown when a registry file is not valid; the message says where and why, never a secret. */
export class RegistryError extends Error {
  override name = "RegistryError";
}

/** Reads and validates a registry file (at start, synchronously). */
export function loadRegistryFileSync(path: string): RegistryData {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new RegistryError(`cannot read ${path}`);
  }
  return parseRegistryText(text, path);
}

/** Reads and validates a registry file (for reloads, off the event loop). */
export async function loadRegistryFile(path: string): Promise<RegistryData> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new RegistryError(`cannot read ${path}`);
  }
  return parseRegistryText(text, path);
}

function parseRegistryText(text: string, source: string): RegistryData {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RegistryError(`${source}: not valid JSON`);
  }
  return parseRegistry(json, source);
}

/**
 * Validates a registry document strictly (unknown members are errors, so a
 * typo cannot silently widen or narrow what a client may do):
 *
 * ```json
 * { "resource_servers": [ { "id", "resources": [uri], "scopes": [scope] } ],
 *   "clients": [ { "client_id", "client_secret_hash"?, "jwks"?: { "keys": [jwk] },
 *                  "scopes": [scope], "audiences": [resource server id], "disabled"?: bool,
 *                  "dpop_bound_access_tokens"?: bool } ] }
 * ```
 */
export function parseRegistry(json: unknown, source: string): RegistryData {
  const fail = (where: string, problem: string): never => {
    throw new RegistryError(`${source}: ${where}: ${problem}`);
  };
  const root = object(json, "the document", fail);
  onlyKeys(root, ["resource_servers", "clients"], "the document", fail);

  const resourceServers: ResourceServer[] = [];
  const serverIds = new Set<string>();
  const resourceIndicators = new Set<string>();
  array(root.resource_servers, "resource_servers", fail).forEach((raw, i) => {
    const where = `resource_servers[${i}]`;
    const entry = object(raw, where, fail);
    onlyKeys(entry, ["id", "resources", "scopes"], where, fail);
    const id = identifier(entry.id, `${where}.id`, fail);
    if (serverIds.has(id)) fail(`${where}.id`, `duplicate resource server ${JSON.stringify(id)}`);
    serverIds.add(id);
    const resources = strings(entry.resources, `${where}.resources`, fail);
    resources.forEach((resource, j) => {
      if (!isResourceIndicator(resource)) {
        fail(`${where}.resources[${j}]`, "must be an absolute URI without a fragment (RFC 8707 §2)");
      }
      if (resourceIndicators.has(resource)) fail(`${where}.resources[${j}]`, "names another resource server too");
      resourceIndicators.add(resource);
    });
    const scopes = scopeList(entry.scopes, `${where}.scopes`, fail);
    resourceServers.push(Object.freeze({ id, resources, scopes }));
  });

  const clients: ClientRegistration[] = [];
  const clientIds = new Set<string>();
  array(root.clients, "clients", fail).forEach((raw, i) => {
    const where = `clients[${i}]`;
    const entry = object(raw, where, fail);
    if ("client_secret" in entry) fail(where, "holds a plain secret; store client_secret_hash instead (npm run hash-secret)");
    onlyKeys(entry, ["client_id", "client_secret_hash", "jwks", "scopes", "audiences", "disabled", "dpop_bound_access_tokens"], where, fail);
    const clientId = identifier(entry.client_id, `${where}.client_id`, fail);
    if (clientIds.has(clientId)) fail(`${where}.client_id`, `duplicate client ${JSON.stringify(clientId)}`);
    clientIds.add(clientId);

    let secretHash: ClientRegistration["secretHash"];
    if (entry.client_secret_hash !== undefined) {
      if (typeof entry.client_secret_hash !== "string") fail(`${where}.client_secret_hash`, "must be a string");
      try {
        secretHash = parseSecretHash(entry.client_secret_hash as string);
      } catch (error) {
        if (error instanceof SecretHashFormatError) fail(`${where}.client_secret_hash`, error.message);
        throw error;
      }
    }
    const keys = entry.jwks === undefined ? undefined : clientKeys(entry.jwks, `${where}.jwks`, fail);
    if (secretHash === undefined && keys === undefined) {
      fail(where, "needs client_secret_hash or jwks to authenticate with");
    }

    const audiences = strings(entry.audiences, `${where}.audiences`, fail);
    audiences.forEach((audience, j) => {
      if (!serverIds.has(audience)) fail(`${where}.audiences[${j}]`, `unknown resource server ${JSON.stringify(audience)}`);
    });
    const scopes = scopeList(entry.scopes, `${where}.scopes`, fail);
    scopes.forEach((scope, j) => {
      const owned = resourceServers.some((s) => audiences.includes(s.id) && s.scopes.includes(scope));
      if (!owned) fail(`${where}.scopes[${j}]`, `${JSON.stringify(scope)} is not a scope of the client's audiences`);
    });
    if (entry.disabled !== undefined && typeof entry.disabled !== "boolean") fail(`${where}.disabled`, "must be true or false");
    const dpopBound = entry.dpop_bound_access_tokens;
    if (dpopBound !== undefined && typeof dpopBound !== "boolean") fail(`${where}.dpop_bound_access_tokens`, "must be true or false");

    clients.push(
      Object.freeze({
        clientId,
        disabled: entry.disabled === true,
        ...(secretHash ? { secretHash } : {}),
        ...(keys ? { keys } : {}),
        scopes,
        audiences,
        dpopBoundAccessTokens: dpopBound === true,
      }),
    );
  });

  return Object.freeze({ resourceServers, clients });
}

type Fail = (where: string, problem: string) => never;

function object(value: unknown, where: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(where, "must be an object");
  return value as Record<string, unknown>;
}

function array(value: unknown, where: string, fail: Fail): unknown[] {
  if (!Array.isArray(value)) fail(where, "must be an array");
  return value as unknown[];
}

function onlyKeys(value: Record<string, unknown>, allowed: string[], where: string, fail: Fail): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(where, `unknown member ${JSON.stringify(key)} (allowed: ${allowed.join(", ")})`);
  }
}

function strings(value: unknown, where: string, fail: Fail): string[] {
  const list = array(value, where, fail);
  list.forEach((item, i) => {
    if (typeof item !== "string" || item === "") fail(`${where}[${i}]`, "must be a non-empty string");
  });
  if (new Set(list).size !== list.length) fail(where, "has duplicates");
  return list as string[];
}

function scopeList(value: unknown, where: string, fail: Fail): string[] {
  const list = strings(value, where, fail);
  list.forEach((scope, i) => {
    if (!isScopeToken(scope)) fail(`${where}[${i}]`, "is not a valid scope token (RFC 6749 §3.3)");
  });
  return list;
}

/** Client ids and resource server ids: printable ASCII without spaces or `:` (RFC 6749 §2.3.1 puts ids in Basic). */
function identifier(value: unknown, where: string, fail: Fail): string {
  if (typeof value !== "string" || !/^[\x21-\x7E]{1,128}$/.test(value)) {
    fail(where, "must be 1 to 128 printable ASCII characters without spaces");
  }
  return value as string;
}

function isResourceIndicator(value: string): boolean {
  try {
    const url = new URL(value);
    return url.hash === "" && !value.includes("#") && /^[a-z][a-z0-9+.-]*:/i.test(value);
  } catch {
    return false;
  }
}

function clientKeys(value: unknown, where: string, fail: Fail): ClientKey[] {
  const jwks = object(value, where, fail);
  onlyKeys(jwks, ["keys"], where, fail);
  const keys = array(jwks.keys, `${where}.keys`, fail);
  if (keys.length === 0) fail(`${where}.keys`, "must hold at least one key");
  return keys.map((raw, i) => {
    const at = `${where}.keys[${i}]`;
    const jwk = object(raw, at, fail);
    for (const privateMember of ["d", "p", "q", "dp", "dq", "qi", "k"]) {
      if (privateMember in jwk) fail(at, "must be a public key (it holds private or symmetric key material)");
    }
    const alg = jwk.alg;
    if (typeof alg !== "string" || !(ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) {
      fail(`${at}.alg`, `must be one of ${ASSERTION_ALGORITHMS.join(", ")}`);
    }
    if (jwk.use !== undefined && jwk.use !== "sig") fail(`${at}.use`, 'must be "sig" when present');
    if (jwk.kid !== undefined && typeof jwk.kid !== "string") fail(`${at}.kid`, "must be a string");
    let key;
    try {
      key = createPublicKey({ key: jwk, format: "jwk" } as JsonWebKeyInput);
    } catch {
      return fail(at, "is not a valid public JWK");
    }
    if (!keyFitsAlgorithm(key.asymmetricKeyType, alg as string)) fail(`${at}.alg`, `does not fit a ${key.asymmetricKeyType} key`);
    return Object.freeze({ ...(typeof jwk.kid === "string" ? { kid: jwk.kid } : {}), alg: alg as string, key });
  });
}

function keyFitsAlgorithm(type: string | undefined, alg: string): boolean {
  if (alg.startsWith("RS") || alg.startsWith("PS")) return type === "rsa";
  if (alg.startsWith("ES")) return type === "ec";
  return type === "ed25519";
}
