import { exportJWK, exportPKCS8, generateKeyPair, decodeProtectedHeader, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formUrlEncode } from "./client-auth.js";
import { clientSecretBasic, clientSecretPost, privateKeyJwt, TokenClient, type ClientAuth } from "./index.js";
import { startFakeAuthServer, type FakeAuthServer } from "./testing/fake-auth-server.js";

let as: FakeAuthServer;
beforeEach(async () => {
  as = await startFakeAuthServer();
});
afterEach(() => as.close());

async function tokenRequestWith(clientAuth: ClientAuth, clientId = "order-service") {
  const tokens = new TokenClient({ issuer: as.issuer, clientId, clientAuth });
  await tokens.getToken({ audience: "payment-service" });
  return as.tokenRequests.at(-1)!;
}

describe("client_secret_basic (RFC 6749 §2.3.1)", () => {
  it("form-urlencodes id and secret before the Basic encoding", async () => {
    const secret = "p@ss:w rd+/=%é";
    const received = await tokenRequestWith(clientSecretBasic(secret), "client:id é");
    const encoded = Buffer.from(received.headers.authorization!.replace(/^Basic /, ""), "base64").toString("utf8");

    expect(encoded).toBe("client%3Aid+%C3%A9:p%40ss%3Aw+rd%2B%2F%3D%25%C3%A9");
    const [id, pass] = encoded.split(":").map((part) => decodeURIComponent(part.replace(/\+/g, " ")));
    expect(id).toBe("client:id é");
    expect(pass).toBe(secret);
    expect(received.form.has("client_secret")).toBe(false);
  });

  it("encodes exactly as application/x-www-form-urlencoded", () => {
    expect(formUrlEncode("a b")).toBe("a+b");
    expect(formUrlEncode("a+b:c&d=e")).toBe("a%2Bb%3Ac%26d%3De");
    expect(formUrlEncode("AZaz09-._*")).toBe("AZaz09-._*");
  });
});

describe("client_secret_post (RFC 6749 §2.3.1)", () => {
  it("puts the id and secret in the body and sends no Authorization header", async () => {
    const received = await tokenRequestWith(clientSecretPost("super-secret"));
    expect(received.form.get("client_id")).toBe("order-service");
    expect(received.form.get("client_secret")).toBe("super-secret");
    expect(received.headers.authorization).toBeUndefined();
  });
});

describe("private_key_jwt (RFC 7523 §2.2)", () => {
  it("signs a fresh assertion for each request: iss = sub = client_id, aud = issuer, short exp, unique jti", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportPKCS8(privateKey);
    const tokens = new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: privateKeyJwt(pem, { kid: "order-key-1" }) });
    await tokens.getToken({ audience: "payment-service" });
    tokens.invalidate();
    await tokens.getToken({ audience: "payment-service" });

    const jtis = new Set<string>();
    for (const { form, headers } of as.tokenRequests) {
      expect(headers.authorization).toBeUndefined();
      expect(form.get("client_assertion_type")).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      expect(form.get("client_id")).toBe("order-service");
      expect(form.has("client_secret")).toBe(false);
      const assertion = form.get("client_assertion")!;
      expect(decodeProtectedHeader(assertion)).toEqual({ alg: "RS256", kid: "order-key-1" });
      const { payload } = await jwtVerify(assertion, publicKey, { issuer: "order-service", subject: "order-service", audience: as.issuer });
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
      expect(payload.exp! - payload.iat!).toBeGreaterThan(0);
      expect(typeof payload.jti).toBe("string");
      jtis.add(payload.jti!);
    }
    expect(jtis.size).toBe(2);
  });

  it("takes a private JWK, with alg and kid from the JWK; aud is the issuer identifier as one string", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), alg: "ES256", kid: "ec-1" };
    await tokenRequestWith(privateKeyJwt(jwk));
    const assertion = as.tokenRequests[0]!.form.get("client_assertion")!;
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: "ES256", kid: "ec-1" });
    const { payload } = await jwtVerify(assertion, publicKey, { audience: as.issuer });
    expect(payload.aud).toBe(as.issuer);
  });

  it("refuses symmetric algorithms and public keys", async () => {
    const { publicKey } = await generateKeyPair("ES256", { extractable: true });
    expect(() => privateKeyJwt({ kty: "oct", k: "c2VjcmV0" }, { alg: "HS256" })).toThrow(/unsupported algorithm/);
    expect(() => privateKeyJwt(publicKey, { alg: "ES256" })).toThrow(/not a private key/);
    const publicJwk = await exportJWK(publicKey);
    expect(() => privateKeyJwt(publicJwk, { alg: "ES256" })).toThrow(/not a private key/);
  });
});
