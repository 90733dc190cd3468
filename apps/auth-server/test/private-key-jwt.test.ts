import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISSUER, ORDER_SERVICE, oauthError, postForm, startTestServer, tempDir, type TestServer } from "./support.js";

// RFC 7523 §2.2
const JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// A registry with a client that authenticates by private_key_jwt (RFC 7523 §2.2).
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const dir = tempDir();
const clientsFile = join(dir, "clients.json");
writeFileSync(
  clientsFile,
  JSON.stringify({
    resource_servers: [{ id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer", "charge:read"] }],
    clients: [
      {
        client_id: "order-service",
        client_secret_hash: "$hmac-sha256$b3JkZXItc2VydmljZS1kZQ$H5XPhk0ruPHhNViCK2-5_D3_jz7m17pQLtV5hz5AUdk",
        jwks: { keys: [{ ...publicKey.export({ format: "jwk" }), kid: "order-key-1", alg: "ES256", use: "sig" }] },
        scopes: ["charge:customer"],
        audiences: ["payment-service"],
      },
    ],
  }),
);

let server: TestServer;
let tokenUrl: string;
beforeAll(async () => {
  server = await startTestServer({ CLIENTS_FILE: clientsFile, SIGNING_ALG: "ES256" });
  tokenUrl = `${server.url}/token`;
});
afterAll(async () => {
  await server?.dispose();
});

function assertion(claims: Record<string, unknown> = {}, options: { alg?: string; key?: KeyObject | Uint8Array; lifetime?: number } = {}) {
  const iat = Math.floor(server.clock.now / 1000);
  return new SignJWT({ iss: "order-service", sub: "order-service", aud: ISSUER, jti: randomUUID(), iat, exp: iat + (options.lifetime ?? 60), ...claims })
    .setProtectedHeader({ alg: options.alg ?? "ES256", kid: "order-key-1" })
    .sign(options.key ?? privateKey);
}

const withAssertion = (value: string, extra: Record<string, string> = {}) =>
  postForm(tokenUrl, {
    grant_type: "client_credentials",
    scope: "charge:customer",
    client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
    client_assertion: value,
    ...extra,
  });

describe("private_key_jwt client authentication", () => {
  it("issues a token for a good assertion (aud = the issuer identifier) and logs the method", async () => {
    const res = await withAssertion(await assertion());
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token)).toMatchObject({ sub: "order-service", aud: "payment-service" });
    expect((await withAssertion(await assertion(), { client_id: "order-service" })).status).toBe(200);
    const issued = server.logs.filter((line) => line.msg === "token.issued").at(-1);
    expect(issued).toMatchObject({ client_id: "order-service", grant_type: "client_credentials", auth_method: "private_key_jwt" });
    expect(issued!.requested).toEqual({ scope: "charge:customer" });
  });

  it("refuses a replayed assertion (same jti within its lifetime)", async () => {
    const once = await assertion();
    expect((await withAssertion(once)).status).toBe(200);
    const replay = await withAssertion(once);
    expect(oauthError(replay)).toEqual({ status: 401, error: "invalid_client" });
    expect(replay.body.error_description).toBe("client authentication failed");
    expect(server.logs.filter((line) => line.msg === "token.refused").at(-1)?.reason).toMatch(/already used/);
  });

  it("refuses a wrong audience, an expired assertion, and one meant to live for an hour", async () => {
    expect(oauthError(await withAssertion(await assertion({ aud: "https://elsewhere.example/token" })))).toEqual({ status: 401, error: "invalid_client" });
    const expired = await assertion({}, { lifetime: 5 });
    server.clock.now += 60_000;
    try {
      expect(oauthError(await withAssertion(expired))).toEqual({ status: 401, error: "invalid_client" });
    } finally {
      server.clock.now -= 60_000;
    }
    expect(oauthError(await withAssertion(await assertion({}, { lifetime: 3600 })))).toEqual({ status: 401, error: "invalid_client" });
  });

  it("refuses HS256, even keyed with the client's public key", async () => {
    const publicPem = new TextEncoder().encode(publicKey.export({ format: "pem", type: "spki" }) as string);
    const res = await withAssertion(await assertion({}, { alg: "HS256", key: publicPem }));
    expect(oauthError(res)).toEqual({ status: 401, error: "invalid_client" });
  });

  it("refuses a client_id that contradicts the assertion, and an assertion next to Basic", async () => {
    expect(oauthError(await withAssertion(await assertion(), { client_id: "reporting-service" }))).toEqual({ status: 401, error: "invalid_client" });
    const both = await postForm(
      tokenUrl,
      { grant_type: "client_credentials", client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: await assertion() },
      { authorization: ORDER_SERVICE },
    );
    expect(oauthError(both)).toEqual({ status: 400, error: "invalid_request" });
  });

  it("still lets the same client use its secret (both are registered)", async () => {
    expect((await postForm(tokenUrl, { grant_type: "client_credentials" }, { authorization: ORDER_SERVICE })).status).toBe(200);
  });
});
