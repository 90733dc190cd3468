import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { metadataUrl } from "./discovery.js";
import { clientSecretBasic, InvalidResponseError, TokenClient } from "./index.js";
import { startFakeAuthServer, type FakeAuthServer } from "./testing/fake-auth-server.js";

let as: FakeAuthServer;
beforeEach(async () => {
  as = await startFakeAuthServer();
});
afterEach(() => as.close());

describe("discovery (RFC 8414)", () => {
  it("builds the well-known URL as RFC 8414 §3.1 says", () => {
    expect(metadataUrl("http://localhost:4000")).toBe("http://localhost:4000/.well-known/oauth-authorization-server");
    expect(metadataUrl("http://localhost:4000/")).toBe("http://localhost:4000/.well-known/oauth-authorization-server");
    expect(metadataUrl("https://as.example/tenant/a/")).toBe("https://as.example/.well-known/oauth-authorization-server/tenant/a");
  });

  it("fetches the metadata once and uses its token_endpoint", async () => {
    as.metadata({ issuer: as.issuer, token_endpoint: `${as.url}/token` });
    const tokens = new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: clientSecretBasic("super-secret") });
    await Promise.all(["a", "b", "c"].map((audience) => tokens.getToken({ audience })));
    expect(as.metadataRequests).toBe(1);
    expect(as.tokenRequests).toHaveLength(3);
  });

  it("can be reached at another URL than the issuer, and still requires the expected issuer", async () => {
    as.metadata({ issuer: "http://auth-server:4000", token_endpoint: `${as.url}/token` });
    const tokens = new TokenClient({
      issuer: "http://auth-server:4000",
      authServerUrl: as.url,
      clientId: "order-service",
      clientAuth: clientSecretBasic("super-secret"),
    });
    expect((await tokens.getToken()).accessToken).toBe("tok-1");
  });

  it("refuses metadata that names another issuer, and sends no credentials", async () => {
    as.metadata({ issuer: "https://evil.example", token_endpoint: "https://evil.example/token" });
    const tokens = new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: clientSecretBasic("super-secret") });
    const error = await tokens.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect((error as Error).message).toMatch(/issuer/);
    expect(as.tokenRequests).toHaveLength(0);
  });

  it("refuses metadata that is not a JSON object, or without an http(s) token_endpoint, and sends no credentials", async () => {
    for (const document of [
      ["not", "an", "object"],
      { issuer: as.issuer },
      { issuer: as.issuer, token_endpoint: "/token" },
      { issuer: as.issuer, token_endpoint: "javascript:alert(1)" },
    ]) {
      as.metadata(document as unknown as Record<string, unknown>);
      const tokens = new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: clientSecretBasic("super-secret") });
      const error = await tokens.getToken().catch((e: unknown) => e);
      expect(error, JSON.stringify(document)).toBeInstanceOf(InvalidResponseError);
    }
    expect(as.tokenRequests).toHaveLength(0);
  });

  it("skips discovery when the token endpoint is given", async () => {
    const tokens = new TokenClient({
      issuer: as.issuer,
      tokenEndpoint: `${as.url}/token`,
      clientId: "order-service",
      clientAuth: clientSecretBasic("super-secret"),
    });
    await tokens.getToken();
    expect(as.metadataRequests).toBe(0);
    expect(as.tokenRequests).toHaveLength(1);
  });

  it("refuses a token response without a Bearer token", async () => {
    as.respond(() => ({ status: 200, body: { access_token: "x", token_type: "mac", expires_in: 300 } }));
    const tokens = new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: clientSecretBasic("super-secret") });
    await expect(tokens.getToken()).rejects.toBeInstanceOf(InvalidResponseError);
  });
});
