import { describe, expect, it } from "vitest";
import { discoverJwksUri, metadataUrlFor } from "./discovery.js";
import { KeySourceError } from "./fetch-json.js";
import { hasScopes, requiredScopeTokens, scopeTokens } from "./scope.js";

describe("metadataUrlFor (RFC 8414 §3.1)", () => {
  it("appends the well-known path to an issuer without a path", () => {
    expect(metadataUrlFor("http://localhost:4000")).toBe("http://localhost:4000/.well-known/oauth-authorization-server");
  });

  it("inserts it between the host and the path of an issuer with one", () => {
    expect(metadataUrlFor("https://as.example/tenant/one")).toBe(
      "https://as.example/.well-known/oauth-authorization-server/tenant/one",
    );
  });
});

describe("discoverJwksUri (RFC 8414 §3)", () => {
  const METADATA = "http://issuer.test/.well-known/oauth-authorization-server";
  const serving = (body: unknown) => ({ fetch: (async () => Response.json(body)) as typeof fetch, timeoutMs: 1000 });

  it("takes jwks_uri from metadata that names the issuer exactly", async () => {
    await expect(discoverJwksUri(METADATA, "http://issuer.test", serving({ issuer: "http://issuer.test", jwks_uri: "http://issuer.test/jwks" }))).resolves.toBe(
      "http://issuer.test/jwks",
    );
  });

  it("refuses metadata that is not a JSON object, and a jwks_uri that is missing or not http(s)", async () => {
    for (const [body, reason] of [
      [[{ issuer: "http://issuer.test" }], "the metadata is not a JSON object"],
      ["http://issuer.test", "the metadata is not a JSON object"],
      [{ issuer: "http://issuer.test" }, "the metadata has no usable jwks_uri"],
      [{ issuer: "http://issuer.test", jwks_uri: "file:///etc/jwks.json" }, "the metadata has no usable jwks_uri"],
      [{ issuer: "http://issuer.test", jwks_uri: "/jwks.json" }, "the metadata has no usable jwks_uri"],
    ] as const) {
      const error = await discoverJwksUri(METADATA, "http://issuer.test", serving(body)).catch((reason: unknown) => reason);
      expect(error, JSON.stringify(body)).toBeInstanceOf(KeySourceError);
      expect((error as Error).message).toBe(`${METADATA}: ${reason}`);
    }
  });
});

describe("scope (RFC 6749 §3.3)", () => {
  it("splits on spaces and matches whole, case-sensitive tokens only", () => {
    const granted = scopeTokens("charge:customer charge:read");
    expect(hasScopes(granted, ["charge:customer"])).toBe(true);
    expect(hasScopes(granted, ["charge:customer", "charge:read"])).toBe(true);
    expect(hasScopes(scopeTokens("charge:customers"), ["charge:customer"])).toBe(false);
    expect(hasScopes(scopeTokens("charge:customer:x"), ["charge:customer"])).toBe(false);
    expect(hasScopes(scopeTokens("CHARGE:CUSTOMER"), ["charge:customer"])).toBe(false);
    expect(hasScopes(scopeTokens("charge:customer\tcharge:read"), ["charge:customer"])).toBe(false);
    expect(hasScopes(scopeTokens(""), ["charge:customer"])).toBe(false);
  });

  it.each(["", "charge:customer  charge:read", " charge:customer", "charge:customer ", 'a"b', "a\\b", "é", "a\tb"])(
    "a required scope must be scope tokens: %j is not",
    (value) => {
      expect(requiredScopeTokens(value)).toBeUndefined();
    },
  );
});
