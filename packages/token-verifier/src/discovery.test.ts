import { describe, expect, it } from "vitest";
import { discoverJwksUri, metadataUrlFor } from "./discovery.js";
import { KeySourceError } from "./fetch-json.js";

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
