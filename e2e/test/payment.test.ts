import { randomUUID } from "node:crypto";
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopApp } from "../../scripts/stack.mjs";
import { accessToken, postJson, send, startTestStack, type Stack } from "./support.js";

// docs/wire-contract.md, payment-service: POST /charge and GET /charges/:id, with tokens
// that the real auth-server issued.
let stack: Stack;
let chargeToken: string;
let readToken: string;
beforeAll(async () => {
  stack = await startTestStack();
  chargeToken = await accessToken(stack.urls.auth, "order-service", "super-secret", "charge:customer");
  readToken = await accessToken(stack.urls.auth, "reporting-service", "reporting-secret", "charge:read");
});
afterAll(async () => {
  await stack?.dispose();
});

const REALM = 'Bearer realm="payment-service"';
const charge = (overrides: Record<string, unknown> = {}) => ({
  orderId: `ord_${randomUUID()}`,
  customerId: "cus_1",
  amount: 1299,
  currency: "EUR",
  ...overrides,
});
const postCharge = (body: unknown, headers: Record<string, string>) => postJson(`${stack.urls.payment}/charge`, body, headers);
const bearer = (token: string, key = randomUUID()) => ({ authorization: `Bearer ${token}`, "idempotency-key": key });

/** A token with every claim right, signed by a fresh key the issuer never published, under `kid`. */
async function signedByAnotherKey(kid: string): Promise<string> {
  const { privateKey } = await generateKeyPair("RS256");
  return new SignJWT({ scope: "charge:customer", client_id: "order-service", jti: randomUUID() })
    .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid })
    .setIssuer(stack.urls.auth)
    .setSubject("order-service")
    .setAudience("payment-service")
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(privateKey);
}

describe("POST /charge", () => {
  it("201 charges with a valid token", async () => {
    const body = charge();
    const res = await postCharge(body, bearer(chargeToken));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ orderId: body.orderId, amount: 1299, currency: "EUR", status: "succeeded" });
    expect(typeof res.body.id).toBe("string");
  });

  it("402 card_declined above CHARGE_LIMIT, recorded like a charge", async () => {
    const key = randomUUID();
    const body = charge({ amount: 100_001 });
    const res = await postCharge(body, bearer(chargeToken, key));
    expect(res.status).toBe(402);
    expect(res.body).toMatchObject({ error: "card_declined" });
    const again = await postCharge(body, bearer(chargeToken, key));
    expect(again.status).toBe(402);
  });

  it("the same Idempotency-Key and body again returns the same charge, never a second", async () => {
    const key = randomUUID();
    const body = charge();
    const first = await postCharge(body, bearer(chargeToken, key));
    const second = await postCharge(body, bearer(chargeToken, key));
    expect(first.status).toBe(201);
    expect([200, 201]).toContain(second.status);
    expect(second.body.id).toBe(first.body.id);
  });

  it("422 idempotency_key_reused for the same key with a different body", async () => {
    const key = randomUUID();
    await postCharge(charge(), bearer(chargeToken, key));
    const res = await postCharge(charge({ amount: 1 }), bearer(chargeToken, key));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: "idempotency_key_reused" });
  });

  it("401 with a bare Bearer challenge when there is no Authorization header", async () => {
    const res = await postCharge(charge(), { "idempotency-key": randomUUID() });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(REALM);
  });

  it("401 invalid_token for a bad, tampered or mis-addressed token", async () => {
    const [h, p, s] = chargeToken.split(".");
    const claims = decodeJwt(chargeToken);
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: "charge:customer charge:read" })).toString("base64url")}.${s}`;
    for (const token of ["not-a-jwt", tampered, `${h}.${p}.`]) {
      const res = await postCharge(charge(), bearer(token));
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="payment-service", error="invalid_token", error_description="[^"]+"$/);
    }
  });

  it("401 invalid_token for a token signed by a key the issuer never published", async () => {
    const forged = await signedByAnotherKey(decodeProtectedHeader(chargeToken).kid!);
    const res = await postCharge(charge(), bearer(forged));
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("403 insufficient_scope for a valid token without charge:customer", async () => {
    const res = await postCharge(charge(), bearer(readToken));
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(`${REALM}, error="insufficient_scope", scope="charge:customer"`);
  });

  it("400 invalid_request for an invalid body or a missing Idempotency-Key", async () => {
    for (const body of [charge({ amount: 12.5 }), charge({ amount: -1 }), charge({ currency: "euro" }), { amount: 1 }]) {
      const res = await postCharge(body, bearer(chargeToken));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toBe("invalid_request");
    }
    const noKey = await postCharge(charge(), { authorization: `Bearer ${chargeToken}` });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error).toBe("invalid_request");
  });
});

describe("GET /charges/:id", () => {
  it("200 with scope charge:read, 404 when unknown, 403 without the scope", async () => {
    const created = await postCharge(charge(), bearer(chargeToken));
    const read = await send(`${stack.urls.payment}/charges/${created.body.id}`, { headers: { authorization: `Bearer ${readToken}` } });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: created.body.id, status: "succeeded" });
    const missing = await send(`${stack.urls.payment}/charges/ch_nope`, { headers: { authorization: `Bearer ${readToken}` } });
    expect(missing.status).toBe(404);
    const wrongScope = await send(`${stack.urls.payment}/charges/${created.body.id}`, { headers: { authorization: `Bearer ${chargeToken}` } });
    expect(wrongScope.status).toBe(403);
    expect(wrongScope.headers.get("www-authenticate")).toContain('scope="charge:read"');
  });
});

describe("an auth-server outage", () => {
  // Last: it stops the auth server.
  it("503 temporarily_unavailable for an unknown kid while the JWKS cannot be had, but known keys still verify", async () => {
    const unknownKid = await signedByAnotherKey("rotated-key-we-have-not-seen");
    await stopApp(stack.apps["auth-server"]);

    const res = await postCharge(charge(), bearer(unknownKid));
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(res.body).toMatchObject({ error: "temporarily_unavailable" });

    const stillFine = await postCharge(charge(), bearer(chargeToken));
    expect(stillFine.status).toBe(201);
  });
});
