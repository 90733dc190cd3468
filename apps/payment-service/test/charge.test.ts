import { randomUUID } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEDGER_FILE } from "../src/server.js";
import { otherSpellings } from "@m2m/test-support";
import { AuthStub, newCharge, postCharge, send, startService, type TestService } from "./support.js";

// docs/wire-contract.md, payment-service, POST /charge: every row, through HTTP, with a
// real SQLite ledger in a temp DATA_DIR.
let auth: AuthStub;
let service: TestService;
let token: string;

beforeAll(async () => {
  auth = await AuthStub.start();
  service = await startService(auth);
  token = await auth.token();
});
afterAll(async () => {
  await service?.running.close();
  await auth?.close();
});

const REALM = 'Bearer realm="payment-service"';

function ledger(dataDir = service.dataDir): Array<{ id: string; order_id: string; status: string; amount: number }> {
  const db = new Database(join(dataDir, LEDGER_FILE), { readonly: true });
  try {
    return db.prepare("SELECT id, order_id, status, amount FROM charges").all() as never;
  } finally {
    db.close();
  }
}

const chargesFor = (orderId: string) => ledger().filter((row) => row.order_id === orderId);

describe("201: charged", () => {
  it("answers the contract's body and records the charge", async () => {
    const body = newCharge();
    const res = await postCharge(service, body, { token });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.stringMatching(/^ch_/), orderId: body.orderId, amount: 1299, currency: "EUR", status: "succeeded" });
    expect(chargesFor(body.orderId)).toEqual([{ id: res.body.id, order_id: body.orderId, status: "succeeded", amount: 1299 }]);
    expect(service.events("charge.created")).toContainEqual(
      expect.objectContaining({ charge_id: res.body.id, order_id: body.orderId, amount: 1299, currency: "EUR", status: "succeeded" }),
    );
  });

  it("logs token.verified with the checks it made, and never the token", async () => {
    await postCharge(service, newCharge(), { token });
    const verified = service.events("token.verified").at(-1);
    expect(verified).toMatchObject({ client_id: "order-service", aud: "payment-service", iss: auth.url, kid: auth.kid, alg: "RS256" });
    expect(verified?.checks).toEqual(expect.arrayContaining(["typ at+jwt", "aud payment-service", "scope charge:customer"]));
    expect(JSON.stringify(service.logs)).not.toContain(token.split(".")[2]);
  });

  it("charges exactly CHARGE_LIMIT", async () => {
    const res = await postCharge(service, newCharge({ amount: 100_000 }), { token });
    expect(res.status).toBe(201);
  });
});

describe("402: declined above CHARGE_LIMIT", () => {
  it("answers card_declined and records the declined charge like any other", async () => {
    const key = randomUUID();
    const body = newCharge({ amount: 100_001 });
    const res = await postCharge(service, body, { token, key });
    expect(res.status).toBe(402);
    expect(res.body).toEqual({ error: "card_declined", error_description: expect.any(String) });
    expect(chargesFor(body.orderId)).toMatchObject([{ status: "declined", amount: 100_001 }]);
    const again = await postCharge(service, body, { token, key });
    expect(again.status).toBe(402);
    expect(chargesFor(body.orderId)).toHaveLength(1);
  });
});

describe("idempotency", () => {
  it("the same key and body again: the same charge, never a second", async () => {
    const key = randomUUID();
    const body = newCharge();
    const first = await postCharge(service, body, { token, key });
    const second = await postCharge(service, body, { token, key });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(chargesFor(body.orderId)).toHaveLength(1);
    expect(service.events("charge.replayed")).toContainEqual(expect.objectContaining({ charge_id: first.body.id, order_id: body.orderId }));
  });

  it("the same request re-serialized (field order, whitespace) is the same request", async () => {
    const key = randomUUID();
    const body = newCharge();
    const first = await postCharge(service, body, { token, key });
    const reordered = `{ "currency": "EUR", "amount": 1299,\n "customerId": "cus_1", "orderId": ${JSON.stringify(body.orderId)} }`;
    const second = await postCharge(service, reordered, { token, key });
    expect(second.body.id).toBe(first.body.id);
  });

  it("takes the draft's quoted form of the key as the same key", async () => {
    const key = randomUUID();
    const body = newCharge();
    const first = await postCharge(service, body, { token, key });
    const second = await postCharge(service, body, { token, key: `"${key}"` });
    expect(second.body.id).toBe(first.body.id);
  });

  it("422 idempotency_key_reused for the same key with a different body", async () => {
    const key = randomUUID();
    const body = newCharge();
    await postCharge(service, body, { token, key });
    for (const other of [{ ...body, amount: 1 }, { ...body, currency: "USD" }, { ...body, orderId: "ord_other" }, { ...body, customerId: "cus_2" }]) {
      const res = await postCharge(service, other, { token, key });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ error: "idempotency_key_reused" });
    }
    expect(chargesFor(body.orderId)).toHaveLength(1);
  });

  it("keys belong to the client that used them: another client's key never replays this one's charge", async () => {
    const key = randomUUID();
    const body = newCharge();
    const mine = await postCharge(service, body, { token, key });
    const billing = await auth.token({ sub: "billing-service", client_id: "billing-service" });
    const theirs = await postCharge(service, body, { token: billing, key });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });
});

describe("401 and 403: the token", () => {
  it("401 with only the realm when there is no Authorization header, and the body is not even read", async () => {
    const res = await postCharge(service, "{not json", {});
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(REALM);
  });

  it("401 invalid_token for a bad, expired, wrongly signed or mis-addressed token", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const now = Math.floor(Date.now() / 1000);
    const bad = {
      garbage: "not-a-jwt",
      expired: await auth.token({ iat: now - 900, exp: now - 600 }),
      "wrongly signed": await auth.token({}, {}, privateKey),
      "another audience": await auth.token({ aud: "order-service" }),
      "another issuer": await auth.token({ iss: "http://evil.example" }),
      "typ JWT": await auth.token({}, { typ: "JWT" }),
    };
    const chargesBefore = service.events("charge.created").length;
    for (const [what, bearer] of Object.entries(bad)) {
      const res = await postCharge(service, newCharge(), { token: bearer });
      expect(res.status, what).toBe(401);
      expect(res.headers.get("www-authenticate"), what).toMatch(/^Bearer realm="payment-service", error="invalid_token", error_description="[^"]+"$/);
      expect(res.body.error, what).toBe("invalid_token");
    }
    expect(service.events("charge.created")).toHaveLength(chargesBefore);
  });

  it("hardening #9: refuses every other base64url spelling of a genuine token's signature, and charges nothing", async () => {
    const genuine = await auth.token();
    expect((await postCharge(service, newCharge(), { token: genuine })).status).toBe(201);
    const [h, p, s] = genuine.split(".") as [string, string, string];
    const charged = ledger().length;
    for (const spelling of otherSpellings(s)) {
      const res = await postCharge(service, newCharge(), { token: `${h}.${p}.${spelling}` });
      expect(res.status, spelling).toBe(401);
      expect(res.headers.get("www-authenticate"), spelling).toBe(
        `${REALM}, error="invalid_token", error_description="the access token is malformed"`,
      );
    }
    expect(ledger()).toHaveLength(charged);
  });

  it("hardening #10: 401 invalid_token, never 500, for a genuinely signed token whose exp is 8.64e12 or 1e308, and nothing charged", async () => {
    const charged = ledger().length;
    for (const exp of [8.64e12, 1e308]) {
      const res = await postCharge(service, newCharge(), { token: await auth.token({ exp }) });
      expect(res.status, `exp ${exp}`).toBe(401);
      expect(res.headers.get("www-authenticate"), `exp ${exp}`).toMatch(/^Bearer realm="payment-service", error="invalid_token", /);
    }
    expect(ledger()).toHaveLength(charged);
  });

  it("403 insufficient_scope for a valid token without charge:customer", async () => {
    const res = await postCharge(service, newCharge(), { token: await auth.readToken() });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(`${REALM}, error="insufficient_scope", scope="charge:customer"`);
    expect(service.events("token.rejected").at(-1)).toMatchObject({ status: 403, error: "insufficient_scope" });
  });

  it("guards every spelling of the path the handler answers to", async () => {
    for (const path of ["/CHARGE", "/charge/", "/Charge/"]) {
      const res = await send(`${service.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
        body: JSON.stringify(newCharge()),
      });
      expect(res.status, path).toBe(401);
    }
    for (const method of ["GET", "HEAD"]) {
      const res = await fetch(`${service.url}/CHARGES/ch_x/`, { method });
      expect(res.status, method).toBe(401);
    }
  });

  it("refuses a token in the query string: 401 with the bare challenge", async () => {
    const res = await send(`${service.url}/charge?access_token=${token}`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
      body: JSON.stringify(newCharge()),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(REALM);
  });
});

describe("400 invalid_request", () => {
  it("without an Idempotency-Key, or with a malformed one", async () => {
    for (const key of [null, "", "x".repeat(256), "two words", '"unterminated', '"a"b"', '"a\\b"']) {
      const res = await postCharge(service, newCharge(), { token, key });
      expect(res.status, String(key)).toBe(400);
      expect(res.body.error).toBe("invalid_request");
    }
  });

  it.each<[string, unknown]>([
    ["amount with a fraction", newCharge({ amount: 12.5 })],
    ["amount negative", newCharge({ amount: -1 })],
    ["amount zero", newCharge({ amount: 0 })],
    ["amount as a string", newCharge({ amount: "1299" })],
    ["amount beyond safe integers", newCharge({ amount: 2 ** 53 })],
    ["currency not upper case", newCharge({ currency: "eur" })],
    ["currency a word", newCharge({ currency: "euro" })],
    ["currency not ISO 4217", newCharge({ currency: "ABC" })],
    ["orderId empty", newCharge({ orderId: "" })],
    ["orderId too long", newCharge({ orderId: "o".repeat(129) })],
    ["orderId with a control character", newCharge({ orderId: "ord\n1" })],
    ["customerId missing", newCharge({ customerId: undefined })],
    ["customerId with a space", newCharge({ customerId: "a b" })],
    ["an unknown field", newCharge({ capture: false })],
    ["only an amount", { amount: 1 }],
    ["an array", [newCharge()]],
    ["JSON null", null],
  ])("for a body with %s", async (_what, body) => {
    const res = await postCharge(service, body, { token });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "invalid_request", error_description: expect.any(String) });
  });

  it("for a body that is not JSON, or not sent as JSON", async () => {
    expect((await postCharge(service, "{oops", { token })).status).toBe(400);
    const form = await postCharge(service, "orderId=1&amount=1", { token, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(400);
    expect(form.body.error).toBe("invalid_request");
  });
});

describe("GET /charges/:id", () => {
  it("200 with scope charge:read, 404 when unknown, 403 without the scope, 401 without a token", async () => {
    const body = newCharge();
    const created = await postCharge(service, body, { token });
    const reader = { authorization: `Bearer ${await auth.readToken()}` };
    const read = await send(`${service.url}/charges/${created.body.id}`, { headers: reader });
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      id: created.body.id,
      orderId: body.orderId,
      customerId: "cus_1",
      amount: 1299,
      currency: "EUR",
      status: "succeeded",
      createdAt: expect.any(String),
    });
    const missing = await send(`${service.url}/charges/ch_nope`, { headers: reader });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: "not_found" });
    const wrongScope = await send(`${service.url}/charges/${created.body.id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(wrongScope.status).toBe(403);
    expect(wrongScope.headers.get("www-authenticate")).toBe(`${REALM}, error="insufficient_scope", scope="charge:read"`);
    const none = await send(`${service.url}/charges/${created.body.id}`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe(REALM);
  });
});

/** A `POST /charge` whose body is a stream, which fetch sends chunked (no Content-Length). */
function postChunked(body: unknown, headers: Record<string, string>) {
  const stream = new Blob([JSON.stringify(body)]).stream();
  return send(`${service.url}/charge`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: stream, duplex: "half" });
}

describe("POST /charge: one pipeline", () => {
  it("takes a chunked body as it takes one of known length, and a retry either way replays the same charge", async () => {
    const body = newCharge();
    const key = randomUUID();
    const first = await postCharge(service, body, { token, key });
    const retry = await postChunked(body, { authorization: `Bearer ${token}`, "idempotency-key": key });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.body.id).toBe(first.body.id);
    expect(chargesFor(body.orderId)).toHaveLength(1);
  });

  it("logs token.verified, charge.created and http.request, all with the request's id", async () => {
    const from = service.logs.length;
    const res = await postCharge(service, newCharge(), { token: await auth.token(), headers: { "x-request-id": "one-path-charge" } });
    expect(res.status).toBe(201);
    const lines = service.logs.slice(from).map((line) => [line.msg, line.req_id]);
    expect(lines).toEqual([
      ["token.verified", "one-path-charge"],
      ["charge.created", "one-path-charge"],
      ["http.request", "one-path-charge"],
    ]);
  });
});
