import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEVELOPMENT_REGISTRY } from "@m2m/token-issuer";
import { basic, ISSUER, ORDER_SERVICE, oauthError, postForm, REPORTING_SERVICE, startTestServer, tempDir, token, type TestServer } from "./support.js";

// A registry file (the dev registry plus nothing), so a client can be disabled while the server runs.
const dir = tempDir();
const clientsFile = join(dir, "clients.json");
const writeRegistry = (disabled: boolean) =>
  writeFileSync(
    clientsFile,
    JSON.stringify({
      ...DEVELOPMENT_REGISTRY,
      clients: DEVELOPMENT_REGISTRY.clients.map((c) => (c.client_id === "order-service" ? { ...c, disabled } : c)),
    }),
  );

let server: TestServer;
let introspectUrl: string;
beforeAll(async () => {
  writeRegistry(false);
  server = await startTestServer({ CLIENTS_FILE: clientsFile, SIGNING_ALG: "ES256" });
  introspectUrl = `${server.url}/introspect`;
});
afterAll(async () => {
  await server?.dispose();
});

const introspect = (tokenValue: string, authorization = REPORTING_SERVICE) => postForm(introspectUrl, { token: tokenValue }, { authorization });

describe("POST /introspect (RFC 7662)", () => {
  it("describes a live token of this issuer to an authenticated client, no-store", async () => {
    const accessToken = await token(server);
    const res = await introspect(accessToken);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body).toEqual({
      active: true,
      iss: ISSUER,
      sub: "order-service",
      client_id: "order-service",
      aud: "payment-service",
      scope: "charge:customer",
      exp: expect.any(Number),
      iat: expect.any(Number),
      jti: expect.any(String),
      token_type: "Bearer",
    });
  });

  it("accepts any client authentication method from the caller", async () => {
    const accessToken = await token(server);
    const res = await postForm(introspectUrl, { token: accessToken, client_id: "reporting-service", client_secret: "reporting-secret" });
    expect(res.body.active).toBe(true);
  });

  it("says only active: false for an expired token", async () => {
    const accessToken = await token(server);
    server.clock.now += 301_000;
    try {
      expect((await introspect(accessToken)).body).toEqual({ active: false });
    } finally {
      server.clock.now -= 301_000;
    }
  });

  it("says only active: false for a foreign, tampered or malformed token", async () => {
    const accessToken = await token(server);
    const { privateKey } = await generateKeyPair("RS256");
    const foreign = await new SignJWT({ client_id: "order-service", scope: "charge:customer" })
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: server.keys.current().kid })
      .setIssuer(ISSUER)
      .setSubject("order-service")
      .setAudience("payment-service")
      .setIssuedAt()
      .setExpirationTime("5m")
      .setJti("x")
      .sign(privateKey);
    const [header, payload, signature] = accessToken.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: "charge:read" })).toString("base64url")}.${signature}`;
    for (const value of [foreign, tampered, "not-a-token", `${header}.${payload}.`]) {
      expect((await introspect(value)).body).toEqual({ active: false });
    }
  });

  it("says active: false for a token of a client disabled since it was issued", async () => {
    const accessToken = await token(server);
    writeRegistry(true);
    await server.reload();
    try {
      expect((await introspect(accessToken)).body).toEqual({ active: false });
      // ...and the disabled client can no longer get tokens.
      expect((await postForm(`${server.url}/token`, { grant_type: "client_credentials" }, { authorization: ORDER_SERVICE })).status).toBe(401);
    } finally {
      writeRegistry(false);
      await server.reload();
    }
    expect((await introspect(await token(server))).body.active).toBe(true);
  });

  it("401 invalid_client for an unauthenticated or wrongly authenticated caller", async () => {
    const accessToken = await token(server);
    const anonymous = await postForm(introspectUrl, { token: accessToken });
    expect(oauthError(anonymous)).toEqual({ status: 401, error: "invalid_client" });
    expect(oauthError(await introspect(accessToken, basic("reporting-service", "nope")))).toEqual({ status: 401, error: "invalid_client" });
  });

  it("400 invalid_request without a token parameter", async () => {
    expect(oauthError(await postForm(introspectUrl, {}, { authorization: REPORTING_SERVICE }))).toEqual({ status: 400, error: "invalid_request" });
  });
});
