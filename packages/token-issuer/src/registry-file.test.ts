import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { developmentRegistry } from "./development-registry.js";
import { parseRegistry, RegistryError } from "./registry-file.js";

const HASH = "$hmac-sha256$b3JkZXItc2VydmljZS1kZQ$H5XPhk0ruPHhNViCK2-5_D3_jz7m17pQLtV5hz5AUdk";
const server = { id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer", "charge:read"] };
const client = { client_id: "order-service", client_secret_hash: HASH, scopes: ["charge:customer"], audiences: ["payment-service"] };
const doc = (overrides: { client?: Record<string, unknown>; server?: Record<string, unknown>; extra?: Record<string, unknown> } = {}) => ({
  resource_servers: [{ ...server, ...overrides.server }],
  clients: [{ ...client, ...overrides.client }],
  ...overrides.extra,
});

describe("the development registry", () => {
  it("holds exactly the contract's clients and resource server", () => {
    const registry = developmentRegistry();
    expect(registry.data.resourceServers).toEqual([server]);
    expect(registry.data.clients.map((c) => [c.clientId, c.scopes, c.audiences, c.disabled])).toEqual([
      ["order-service", ["charge:customer"], ["payment-service"], false],
      ["reporting-service", ["charge:read"], ["payment-service"], false],
    ]);
    expect(registry.resourceServerFor("https://payment.internal")?.id).toBe("payment-service");
  });
});

describe("parseRegistry", () => {
  it("accepts a valid document, with disabled clients and inline public JWKs", () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const jwk = { ...publicKey.export({ format: "jwk" }), alg: "ES256", kid: "k1" };
    const data = parseRegistry(doc({ client: { disabled: true, jwks: { keys: [jwk] } } }), "test");
    expect(data.clients[0]).toMatchObject({ clientId: "order-service", disabled: true, keys: [{ alg: "ES256", kid: "k1" }] });
  });

  const refused: [string, unknown, RegExp][] = [
    ["a plain secret", doc({ client: { client_secret: "super-secret" } }), /plain secret/],
    ["an unknown member", doc({ client: { scope: "charge:customer" } }), /unknown member "scope"/],
    ["an unknown audience", doc({ client: { audiences: ["billing"] } }), /unknown resource server "billing"/],
    ["a scope outside its audiences", doc({ client: { scopes: ["charge:refund"] } }), /not a scope of the client's audiences/],
    ["a malformed hash", doc({ client: { client_secret_hash: "$hmac-sha256$x$y" } }), /client_secret_hash/],
    ["no credential", doc({ client: { client_secret_hash: undefined } }), /needs client_secret_hash or jwks/],
    ["a relative resource indicator", doc({ server: { resources: ["payment.internal"] } }), /absolute URI/],
    ["a resource indicator with a fragment", doc({ server: { resources: ["https://p.internal/#x"] } }), /absolute URI/],
    ["a bad scope token", doc({ server: { scopes: ['charge"all'] } }), /scope token/],
    ["a duplicate client", { resource_servers: [server], clients: [client, client] }, /duplicate client/],
    ["a non-boolean disabled", doc({ client: { disabled: "yes" } }), /disabled/],
    ["an unknown top-level member", doc({ extra: { version: 2 } }), /unknown member "version"/],
  ];
  for (const [what, json, message] of refused) {
    it(`refuses ${what}, saying where`, () => {
      expect(() => parseRegistry(json, "clients.json")).toThrow(RegistryError);
      expect(() => parseRegistry(json, "clients.json")).toThrow(message);
      expect(() => parseRegistry(json, "clients.json")).toThrow(/^clients\.json: /);
    });
  }

  it("refuses private or symmetric key material and symmetric algorithms in jwks", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const priv = { ...privateKey.export({ format: "jwk" }), alg: "ES256" };
    const pub = { ...publicKey.export({ format: "jwk" }) };
    expect(() => parseRegistry(doc({ client: { jwks: { keys: [priv] } } }), "t")).toThrow(/must be a public key/);
    expect(() => parseRegistry(doc({ client: { jwks: { keys: [{ ...pub, alg: "HS256" }] } } }), "t")).toThrow(/alg: must be one of/);
    expect(() => parseRegistry(doc({ client: { jwks: { keys: [{ kty: "oct", k: "c2VjcmV0", alg: "HS256" }] } } }), "t")).toThrow(
      /must be a public key/,
    );
    expect(() => parseRegistry(doc({ client: { jwks: { keys: [{ ...pub, alg: "RS256" }] } } }), "t")).toThrow(/does not fit/);
  });
});
