import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, send, startTestStack, tokenRequest, type Stack } from "./support.js";

// docs/wire-contract.md, auth-server: POST /token and discovery, against the built app
// running as its own process.
let stack: Stack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.dispose();
});

const orderService = basic("order-service", "super-secret");
const grant = { grant_type: "client_credentials" };

function expectOAuthError(res: { status: number; headers: Headers; body: any }, status: number, error: string) {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({ error });
  expect(typeof res.body.error_description).toBe("string");
  expect(res.headers.get("cache-control")).toContain("no-store");
}

describe("POST /token: success", () => {
  it("issues an RFC 9068 access token for payment-service to order-service", async () => {
    const res = await tokenRequest(stack.urls.auth, { ...grant, scope: "charge:customer" }, { authorization: orderService });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toContain("no-store");
    expect(res.body).toMatchObject({ token_type: "Bearer", expires_in: 300, scope: "charge:customer" });

    const header = decodeProtectedHeader(res.body.access_token);
    expect(header).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    expect(typeof header.kid).toBe("string");

    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({
      iss: stack.urls.auth,
      sub: "order-service",
      client_id: "order-service",
      aud: "payment-service",
      scope: "charge:customer",
    });
    expect(claims.exp! - claims.iat!).toBe(300);
    expect(typeof claims.jti).toBe("string");
    for (const userClaim of ["nonce", "auth_time", "email", "name"]) expect(claims).not.toHaveProperty(userClaim);
  });

  it("accepts client_secret_post, and grants the client's full set when scope is absent", async () => {
    const res = await tokenRequest(stack.urls.auth, { ...grant, client_id: "reporting-service", client_secret: "reporting-secret" });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe("charge:read");
    expect(decodeJwt(res.body.access_token).aud).toBe("payment-service");
  });

  it("names the audience by RFC 8707 resource indicator or by audience identifier, always as the resource server's id", async () => {
    const targets: Record<string, string>[] = [{ resource: "https://payment.internal" }, { audience: "payment-service" }];
    for (const target of targets) {
      const res = await tokenRequest(stack.urls.auth, { ...grant, scope: "charge:customer", ...target }, { authorization: orderService });
      expect(res.status, JSON.stringify(target)).toBe(200);
      expect(decodeJwt(res.body.access_token).aud).toBe("payment-service");
    }
  });
});

describe("POST /token: errors", () => {
  it("401 invalid_client for an unknown client, with a Basic challenge since Basic was tried", async () => {
    const res = await tokenRequest(stack.urls.auth, grant, { authorization: basic("nobody", "x") });
    expectOAuthError(res, 401, "invalid_client");
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="/);
  });

  it("401 invalid_client for a wrong secret, and the secret is not echoed", async () => {
    const res = await tokenRequest(stack.urls.auth, grant, { authorization: basic("order-service", "wrong-secret-xyz") });
    expectOAuthError(res, 401, "invalid_client");
    expect(JSON.stringify(res.body)).not.toContain("wrong-secret-xyz");
  });

  it("401 invalid_client without any client authentication", async () => {
    expectOAuthError(await tokenRequest(stack.urls.auth, grant), 401, "invalid_client");
  });

  it("400 invalid_request for a missing grant_type, a repeated parameter, a wrong content type, a malformed body", async () => {
    expectOAuthError(await tokenRequest(stack.urls.auth, { scope: "charge:customer" }, { authorization: orderService }), 400, "invalid_request");
    expectOAuthError(
      await tokenRequest(stack.urls.auth, "grant_type=client_credentials&scope=charge:customer&scope=charge:customer", { authorization: orderService }),
      400,
      "invalid_request",
    );
    const asJson = await send(`${stack.urls.auth}/token`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: orderService },
      body: JSON.stringify(grant),
    });
    expectOAuthError(asJson, 400, "invalid_request");
    expectOAuthError(await tokenRequest(stack.urls.auth, "grant_type=client_credentials&scope=%E0%A4%A", { authorization: orderService }), 400, "invalid_request");
  });

  it("400 invalid_request for more than one client authentication method", async () => {
    const res = await tokenRequest(
      stack.urls.auth,
      { ...grant, client_id: "order-service", client_secret: "super-secret" },
      { authorization: orderService },
    );
    expectOAuthError(res, 400, "invalid_request");
  });

  it("400 unsupported_grant_type for any grant but client_credentials", async () => {
    expectOAuthError(await tokenRequest(stack.urls.auth, { grant_type: "password" }, { authorization: orderService }), 400, "unsupported_grant_type");
  });

  it("400 invalid_scope for a scope the client may not have, or one that does not exist", async () => {
    expectOAuthError(await tokenRequest(stack.urls.auth, { ...grant, scope: "charge:read" }, { authorization: orderService }), 400, "invalid_scope");
    expectOAuthError(await tokenRequest(stack.urls.auth, { ...grant, scope: "charge:everything" }, { authorization: orderService }), 400, "invalid_scope");
  });

  it("400 invalid_target for an unknown or malformed resource or audience, or both given", async () => {
    const cases: Record<string, string>[] = [
      { resource: "https://unknown.internal" },
      { resource: "not a uri" },
      { audience: "billing-service" },
      { resource: "https://payment.internal", audience: "payment-service" },
    ];
    for (const target of cases) {
      const res = await tokenRequest(stack.urls.auth, { ...grant, scope: "charge:customer", ...target }, { authorization: orderService });
      expect(res.body.error, JSON.stringify(target)).toBe("invalid_target");
      expectOAuthError(res, 400, "invalid_target");
    }
  });
});

describe("discovery", () => {
  it("publishes RFC 8414 metadata for the client credentials grant", async () => {
    const res = await send(`${stack.urls.auth}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issuer: stack.urls.auth,
      token_endpoint: `${stack.urls.auth}/token`,
      jwks_uri: `${stack.urls.auth}/.well-known/jwks.json`,
      grant_types_supported: ["client_credentials"],
    });
    expect(res.body.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(["client_secret_basic", "client_secret_post"]),
    );
    expect(res.body.scopes_supported).toEqual(expect.arrayContaining(["charge:customer", "charge:read"]));
  });

  it("publishes public signing keys only, each with kid, alg and use", async () => {
    const res = await send(`${stack.urls.auth}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.body.keys.length).toBeGreaterThan(0);
    for (const key of res.body.keys) {
      expect(key).toMatchObject({ use: "sig", alg: "RS256" });
      expect(typeof key.kid).toBe("string");
      for (const secretPart of ["d", "p", "q", "dp", "dq", "qi", "k"]) expect(key).not.toHaveProperty(secretPart);
    }
  });
});

describe("POST /token: brute force", () => {
  it("429 with Retry-After after more than 20 failed authentications for one client within a minute", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) {
      const res = await tokenRequest(stack.urls.auth, grant, { authorization: basic("order-service", `guess-${i}`) });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(typeof res.body.error).toBe("string");
      }
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });
});
