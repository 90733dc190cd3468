import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fingerprint } from "@m2m/service-kit";
import { DEVELOPMENT_REGISTRY } from "@m2m/token-issuer";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, ORDER_SERVICE, ISSUER, oauthError, postForm, send, startTestServer, tempDir, type TestServer } from "./support.js";

let server: TestServer;
let tokenUrl: string;
beforeAll(async () => {
  server = await startTestServer();
  tokenUrl = `${server.url}/token`;
});
afterAll(async () => {
  await server?.dispose();
});

const grant = { grant_type: "client_credentials" };

describe("POST /token: the client credentials grant", () => {
  it("issues an RFC 9068 access token to order-service with client_secret_basic", async () => {
    const res = await postForm(tokenUrl, { ...grant, scope: "charge:customer" }, { authorization: ORDER_SERVICE });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 300, scope: "charge:customer" });
    expect(decodeProtectedHeader(res.body.access_token)).toEqual({ alg: "RS256", typ: "at+jwt", kid: server.keys.current().kid });
    const claims = decodeJwt(res.body.access_token);
    expect(Object.keys(claims).sort()).toEqual(["aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"]);
    expect(claims).toMatchObject({ iss: ISSUER, sub: "order-service", client_id: "order-service", aud: "payment-service", scope: "charge:customer" });
    expect(claims.exp! - claims.iat!).toBe(300);
  });

  it("gives every token its own jti", async () => {
    const a = await postForm(tokenUrl, grant, { authorization: ORDER_SERVICE });
    const b = await postForm(tokenUrl, grant, { authorization: ORDER_SERVICE });
    expect(decodeJwt(a.body.access_token).jti).not.toBe(decodeJwt(b.body.access_token).jti);
  });

  it("accepts client_secret_post and grants the full allowed set when scope is absent", async () => {
    const res = await postForm(tokenUrl, { ...grant, client_id: "reporting-service", client_secret: "reporting-secret" });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe("charge:read");
    expect(decodeJwt(res.body.access_token).aud).toBe("payment-service");
  });

  it("names the target by resource indicator or audience, and aud is always the resource server id", async () => {
    const targets: Record<string, string>[] = [{ resource: "https://payment.internal" }, { audience: "payment-service" }];
    for (const target of targets) {
      const res = await postForm(tokenUrl, { ...grant, scope: "charge:customer", ...target }, { authorization: ORDER_SERVICE });
      expect(res.status, JSON.stringify(target)).toBe(200);
      expect(decodeJwt(res.body.access_token).aud).toBe("payment-service");
    }
  });

  it("accepts ids and secrets that need form-urlencoding inside Basic", async () => {
    // "super-secret" percent-encoded character by character is still the same secret (RFC 6749 §2.3.1).
    const encoded = `Basic ${Buffer.from("order%2Dservice:super%2Dsecret").toString("base64")}`;
    expect((await postForm(tokenUrl, grant, { authorization: encoded })).status).toBe(200);
  });

  it("logs the flow for the demo in one line, token.issued: request, method, header, claims and checks; never the secret", async () => {
    const from = server.logs.length;
    await postForm(tokenUrl, { ...grant, scope: "charge:customer", audience: "payment-service" }, { authorization: ORDER_SERVICE });
    const events = server.logs.slice(from);
    const byName = (msg: string) => events.find((line) => line.msg === msg);
    // The steps before it are debug detail, off at the default level.
    expect(byName("token.requested")).toBeUndefined();
    expect(byName("client.authenticated")).toBeUndefined();
    const issued = byName("token.issued")!;
    expect(issued).toMatchObject({
      service: "auth-server",
      level: "info",
      client_id: "order-service",
      grant_type: "client_credentials",
      auth_method: "client_secret_basic",
      requested: { scope: "charge:customer", audience: "payment-service" },
      header: { alg: "RS256", typ: "at+jwt" },
      claims: { sub: "order-service", aud: "payment-service", scope: "charge:customer" },
      expires_in: 300,
      checks: ["client known", "secret matches", "scope allowed: charge:customer", "audience allowed: payment-service"],
    });
    expect(server.rawLogs()).not.toContain("super-secret");
    expect(server.rawLogs()).not.toContain("reporting-secret");
  });
});

describe("POST /token: every error row of the contract", () => {
  const expectError = (res: Awaited<ReturnType<typeof postForm>>, status: number, error: string) => {
    expect(oauthError(res)).toEqual({ status, error });
  };

  it("401 invalid_client for an unknown client, with a Basic challenge because Basic was tried", async () => {
    const res = await postForm(tokenUrl, grant, { authorization: basic("nobody", "nothing") });
    expectError(res, 401, "invalid_client");
    expect(res.headers.get("www-authenticate")).toBe(`Basic realm="${ISSUER}"`);
  });

  it("401 invalid_client for a wrong secret, Basic or post, with the same description and no echo", async () => {
    const viaBasic = await postForm(tokenUrl, grant, { authorization: basic("order-service", "wrong-secret-123") });
    expectError(viaBasic, 401, "invalid_client");
    expect(viaBasic.headers.get("www-authenticate")).toMatch(/^Basic realm="/);
    const viaPost = await postForm(tokenUrl, { ...grant, client_id: "order-service", client_secret: "wrong-secret-123" });
    expectError(viaPost, 401, "invalid_client");
    expect(viaPost.headers.get("www-authenticate")).toBeNull();
    const unknown = await postForm(tokenUrl, { ...grant, client_id: "nobody", client_secret: "wrong-secret-123" });
    expect(unknown.body.error_description).toBe(viaPost.body.error_description);
    expect(JSON.stringify([viaBasic.body, viaPost.body])).not.toContain("wrong-secret-123");
    expect(server.rawLogs()).not.toContain("wrong-secret-123");
  });

  it("401 invalid_client without client authentication, or with another scheme", async () => {
    expectError(await postForm(tokenUrl, grant), 401, "invalid_client");
    expectError(await postForm(tokenUrl, { ...grant, client_id: "order-service" }), 401, "invalid_client");
    expectError(await postForm(tokenUrl, grant, { authorization: "Bearer abc" }), 401, "invalid_client");
  });

  it("400 invalid_request for a missing grant_type or a repeated parameter", async () => {
    expectError(await postForm(tokenUrl, { scope: "charge:customer" }, { authorization: ORDER_SERVICE }), 400, "invalid_request");
    expectError(
      await postForm(tokenUrl, "grant_type=client_credentials&scope=charge:customer&scope=charge:customer", { authorization: ORDER_SERVICE }),
      400,
      "invalid_request",
    );
    expectError(
      await postForm(tokenUrl, "grant_type=client_credentials&grant_type=client_credentials", { authorization: ORDER_SERVICE }),
      400,
      "invalid_request",
    );
  });

  it("400 invalid_request for a wrong content type, a malformed body, a compressed body", async () => {
    const asJson = await send(tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: ORDER_SERVICE },
      body: JSON.stringify(grant),
    });
    expectError(asJson, 400, "invalid_request");
    const none = await send(tokenUrl, { method: "POST", headers: { authorization: ORDER_SERVICE }, body: "grant_type=client_credentials" });
    expect(none.status).toBe(400);
    expectError(await postForm(tokenUrl, "grant_type=client_credentials&scope=%E0%A4%A", { authorization: ORDER_SERVICE }), 400, "invalid_request");
    expectError(await postForm(tokenUrl, "grant_type=client_credentials&scope=%FF", { authorization: ORDER_SERVICE }), 400, "invalid_request");
    const gzip = await postForm(tokenUrl, "x", { authorization: ORDER_SERVICE, "content-encoding": "gzip" });
    expect(gzip.body.error).toBe("invalid_request");
  });

  it("refuses an oversized body and too many parameters with invalid_request", async () => {
    const big = await postForm(tokenUrl, `grant_type=client_credentials&pad=${"a".repeat(20_000)}`, { authorization: ORDER_SERVICE });
    expectError(big, 413, "invalid_request");
    const many = Array.from({ length: 40 }, (_, i) => `p${i}=1`).join("&");
    expectError(await postForm(tokenUrl, `grant_type=client_credentials&${many}`, { authorization: ORDER_SERVICE }), 400, "invalid_request");
  });

  it("400 invalid_request for more than one client authentication method", async () => {
    const res = await postForm(tokenUrl, { ...grant, client_id: "order-service", client_secret: "super-secret" }, { authorization: ORDER_SERVICE });
    expectError(res, 400, "invalid_request");
    expect(res.body.error_description).toMatch(/more than one/);
  });

  it("400 invalid_request for credentials in the query string", async () => {
    const res = await postForm(`${tokenUrl}?client_secret=super-secret`, { ...grant, client_id: "order-service" });
    expectError(res, 400, "invalid_request");
  });

  it("400 unsupported_grant_type for any grant but client_credentials", async () => {
    for (const grantType of ["password", "authorization_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"]) {
      expectError(await postForm(tokenUrl, { grant_type: grantType }, { authorization: ORDER_SERVICE }), 400, "unsupported_grant_type");
    }
  });

  it("400 invalid_scope for a scope the client may not have, or that does not exist, or a malformed one", async () => {
    for (const scope of ["charge:read", "charge:everything", "charge:customer charge:read", 'charge:"x"']) {
      expectError(await postForm(tokenUrl, { ...grant, scope }, { authorization: ORDER_SERVICE }), 400, "invalid_scope");
    }
  });

  it("400 invalid_target for an unknown or malformed resource or audience, or both given", async () => {
    const targets: Record<string, string>[] = [
      { resource: "https://unknown.internal" },
      { resource: "not a uri" },
      { resource: "/relative" },
      { resource: "https://payment.internal#fragment" },
      { audience: "billing-service" },
      { resource: "https://payment.internal", audience: "payment-service" },
    ];
    for (const target of targets) {
      const res = await postForm(tokenUrl, { ...grant, scope: "charge:customer", ...target }, { authorization: ORDER_SERVICE });
      expect(res.body.error, JSON.stringify(target)).toBe("invalid_target");
      expectError(res, 400, "invalid_target");
    }
  });

  it("405 for anything but POST, still no-store", async () => {
    const res = await send(tokenUrl);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("logs each refusal as token.refused with error, description and the presented client id's fingerprint", async () => {
    const from = server.logs.length;
    await postForm(tokenUrl, { grant_type: "password" }, { authorization: ORDER_SERVICE });
    expect(server.logs.slice(from).find((line) => line.msg === "token.refused")).toMatchObject({
      error: "unsupported_grant_type",
      error_description: expect.any(String),
      client_fingerprint: fingerprint("order-service"),
    });
  });
});

/** A token request whose body is a stream, which fetch sends chunked (no Content-Length). */
function postChunked(url: string, form: Record<string, string>, headers: Record<string, string>) {
  const body = new Blob([new URLSearchParams(form).toString()]).stream();
  return send(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body, duplex: "half" });
}

describe("POST /token: one pipeline", () => {
  it("takes a chunked body as it takes one of known length", async () => {
    const res = await postChunked(tokenUrl, { ...grant, scope: "charge:customer" }, { authorization: ORDER_SERVICE });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: "Bearer", scope: "charge:customer" });
  });

  it("logs token.issued or token.refused, then http.request, all with the request's id", async () => {
    const from = server.logs.length;
    const ok = await postForm(tokenUrl, grant, { authorization: ORDER_SERVICE, "x-request-id": "one-path-ok" });
    const refused = await postForm(tokenUrl, grant, { authorization: basic("order-service", "nope"), "x-request-id": "one-path-refused" });
    expect([ok.status, refused.status]).toEqual([200, 401]);
    const events = server.logs.slice(from).map((line) => [line.msg, line.req_id]);
    expect(events).toEqual([
      ["token.issued", "one-path-ok"],
      ["http.request", "one-path-ok"],
      ["token.refused", "one-path-refused"],
      ["http.request", "one-path-refused"],
    ]);
  });
});

describe("POST /token: a resource server the registry knows, but the client may not reach", () => {
  let ledger: TestServer;
  beforeAll(async () => {
    // the development registry, plus a second resource server that neither client is allowed at
    const clients = join(tempDir(), "clients.json");
    writeFileSync(
      clients,
      JSON.stringify({
        ...DEVELOPMENT_REGISTRY,
        resource_servers: [...DEVELOPMENT_REGISTRY.resource_servers, { id: "ledger", resources: ["https://ledger.internal"], scopes: ["ledger:read"] }],
      }),
    );
    ledger = await startTestServer({ CLIENTS_FILE: clients });
  });
  afterAll(async () => {
    await ledger?.dispose();
  });

  it("400 invalid_target, named by resource or by audience, with or without a scope, and no token (RFC 8707 §2)", async () => {
    const refusals: [Record<string, string>, string][] = [
      [{ resource: "https://ledger.internal" }, "the resource is not allowed for this client"],
      [{ audience: "ledger" }, "the audience is not allowed for this client"],
      [{ resource: "https://ledger.internal", scope: "charge:customer" }, "the resource is not allowed for this client"],
    ];
    for (const [target, description] of refusals) {
      const res = await postForm(`${ledger.url}/token`, { ...grant, ...target }, { authorization: ORDER_SERVICE });
      expect(oauthError(res), JSON.stringify(target)).toEqual({ status: 400, error: "invalid_target" });
      expect(res.body).toEqual({ error: "invalid_target", error_description: description });
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    const scoped = await postForm(`${ledger.url}/token`, { ...grant, scope: "ledger:read" }, { authorization: ORDER_SERVICE });
    expect(oauthError(scoped)).toEqual({ status: 400, error: "invalid_scope" });
    // the same client, the same registry: the server it may reach still gets its token
    const allowed = await postForm(`${ledger.url}/token`, { ...grant, audience: "payment-service" }, { authorization: ORDER_SERVICE });
    expect(allowed.status).toBe(200);
    expect(decodeJwt(allowed.body.access_token).aud).toBe("payment-service");
  });
});
