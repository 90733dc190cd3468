import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISSUER, send, startTestServer, type TestServer } from "./support.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.dispose();
});

describe("discovery", () => {
  it("publishes RFC 8414 metadata for the client credentials grant", async () => {
    const res = await send(`${server.url}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      scopes_supported: ["charge:customer", "charge:read"],
      response_types_supported: [],
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
      token_endpoint_auth_signing_alg_values_supported: expect.arrayContaining(["RS256", "PS256", "ES256", "EdDSA"]),
      introspection_endpoint: `${ISSUER}/introspect`,
      introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
      introspection_endpoint_auth_signing_alg_values_supported: expect.arrayContaining(["ES256"]),
      dpop_signing_alg_values_supported: expect.arrayContaining(["ES256", "PS256", "RS256", "EdDSA"]),
    });
    // RFC 8414 §2: "none" MUST NOT be used; HMAC would need a shared secret.
    expect(res.body.token_endpoint_auth_signing_alg_values_supported.some((alg: string) => alg === "none" || alg.startsWith("HS"))).toBe(false);
  });

  it("publishes the public signing keys only, each with kid, alg and use: sig, cacheable for a short while", async () => {
    const res = await send(`${server.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(res.body.keys).toHaveLength(1);
    const [key] = res.body.keys;
    expect(key).toMatchObject({ kty: "RSA", kid: server.keys.current().kid, alg: "RS256", use: "sig", n: expect.any(String), e: "AQAB" });
    for (const member of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(member);
  });

  it("answers /healthz and /readyz once keys are loaded", async () => {
    expect((await send(`${server.url}/healthz`)).status).toBe(200);
    expect((await send(`${server.url}/readyz`)).status).toBe(200);
    expect(server.logs.find((line) => line.msg === "keys.ready")).toMatchObject({ kids: [server.keys.current().kid], alg: "RS256" });
  });

  it("answers unknown paths with a JSON 404 and never a stack trace", async () => {
    const res = await send(`${server.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: "not_found" });
  });
});

describe("an issuer with a path (RFC 8414 §3.1)", () => {
  it("publishes the metadata under /.well-known/oauth-authorization-server/<path>, with endpoints under the issuer", async () => {
    const withPath = await startTestServer({ ISSUER: "http://auth.test/tenant-a", SIGNING_ALG: "ES256" });
    try {
      const res = await send(`${withPath.url}/.well-known/oauth-authorization-server/tenant-a`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ issuer: "http://auth.test/tenant-a", token_endpoint: "http://auth.test/tenant-a/token" });
    } finally {
      await withPath.dispose();
    }
  });
});
