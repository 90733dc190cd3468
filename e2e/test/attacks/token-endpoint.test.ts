import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic } from "../support.js";
import { forge, hmacSigner, nowSec, signerFor, without, type Json } from "./forge.js";
import {
  expectNothingLeaked,
  expectNotLogged,
  expectOAuthError,
  expectRetryAfter,
  hashSecret,
  postForm,
  rawRequest,
  rawTokenRequest,
  send,
  startAuthServer,
  writeClientsFile,
  type AuthServer,
} from "./harness.js";

// Attacks on client authentication at POST /token (RFC 6749 §2.3, §5.2;
// RFC 7521 §4.2; RFC 7523 §3; RFC 6749 §10.10), against the built auth-server
// with a CLIENTS_FILE of our own: clients with hashed secrets, and
// private_key_jwt clients with an inline public JWK.
const COLON_SECRET = "p:ss w%rd+é/:&=";
const VICTIM_SECRET = `victim-${randomUUID()}`;
const TRUSTED_SECRET = `trusted-${randomUUID()}`;
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

function clientKey(kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = { ...(publicKey.export({ format: "jwk" }) as JWK), kid, alg: "ES256", use: "sig" };
  return { privateKey, jwk, kid };
}
// Two private_key_jwt clients, so neither collects more than 20 failures (the per-client limit) here.
const claimsClient = clientKey("claims-key-1");
const algClient = clientKey("alg-key-1");
const disabledJwtClient = clientKey("disabled-key-1");
const DISABLED_SECRET = `disabled-${randomUUID()}`;

const grantFor = (clientId: string, scope: string) => ({ client_id: clientId, scopes: [scope], audiences: ["payment-service"] });
const registry = {
  resource_servers: [{ id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer", "charge:read"] }],
  clients: [
    { ...grantFor("order-service", "charge:customer"), client_secret_hash: hashSecret("super-secret") },
    { ...grantFor("colon-client", "charge:read"), client_secret_hash: hashSecret(COLON_SECRET) },
    { ...grantFor("victim", "charge:read"), client_secret_hash: hashSecret(VICTIM_SECRET) },
    { ...grantFor("trusted", "charge:read"), client_secret_hash: hashSecret(TRUSTED_SECRET) },
    { ...grantFor("jwt-claims", "charge:customer"), jwks: { keys: [claimsClient.jwk] } },
    { ...grantFor("jwt-alg", "charge:customer"), jwks: { keys: [algClient.jwk] } },
    { ...grantFor("disabled", "charge:read"), client_secret_hash: hashSecret(DISABLED_SECRET), disabled: true },
    { ...grantFor("disabled-jwt", "charge:read"), jwks: { keys: [disabledJwtClient.jwk] }, disabled: true },
  ],
};

let dir: string;
let auth: AuthServer;
const assertionsSent: string[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "m2m-attack-clients-"));
  auth = await startAuthServer({ CLIENTS_FILE: writeClientsFile(dir, registry) });
});
afterAll(async () => {
  await auth?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const grant = { grant_type: "client_credentials" };

/** RFC 7523 §3 assertion claims for `clientId`, valid unless overridden. */
function assertionClaims(clientId: string, overrides: Json = {}): Json {
  const now = nowSec();
  return { iss: clientId, sub: clientId, aud: auth.url, iat: now, exp: now + 60, jti: randomUUID(), ...overrides };
}
function assertion(client: { privateKey: KeyObject; kid: string }, claims: Json, header: Json = {}) {
  const token = forge({ alg: "ES256", kid: client.kid, ...header }, claims, signerFor("ES256", client.privateKey));
  assertionsSent.push(token);
  return token;
}
function withAssertion(clientAssertion: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return postForm(
    `${auth.url}/token`,
    { ...grant, scope: "charge:customer", client_assertion_type: ASSERTION_TYPE, client_assertion: clientAssertion, ...extra },
    headers,
  );
}

describe("private_key_jwt (RFC 7523 §2.2, §3)", () => {
  it("control: issues a token for a good assertion, with aud exactly the issuer identifier", async () => {
    const res = await withAssertion(assertion(claimsClient, assertionClaims("jwt-claims", { aud: auth.url })));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(decodeJwt(res.body.access_token)).toMatchObject({ sub: "jwt-claims", client_id: "jwt-claims", aud: "payment-service" });
  });

  it("refuses an assertion addressed to the token endpoint URL or to a list of audiences (audience injection, RFC 7523 update)", async () => {
    for (const aud of [`${auth.url}/token`, [auth.url], [auth.url, "https://attacker.example"]]) {
      expectOAuthError(await withAssertion(assertion(claimsClient, assertionClaims("jwt-claims", { aud }))), 401, "invalid_client", JSON.stringify(aud));
    }
  });

  it("refuses a replayed assertion, and a new assertion reusing a jti (RFC 7523 §3 item 7)", async () => {
    const once = assertion(claimsClient, assertionClaims("jwt-claims"));
    expect((await withAssertion(once)).status).toBe(200);
    expectOAuthError(await withAssertion(once), 401, "invalid_client", "the same assertion again");
    const jti = randomUUID();
    expect((await withAssertion(assertion(claimsClient, assertionClaims("jwt-claims", { jti })))).status).toBe(200);
    expectOAuthError(await withAssertion(assertion(claimsClient, assertionClaims("jwt-claims", { jti, exp: nowSec() + 30 }))), 401, "invalid_client", "a reused jti");
  });

  it("refuses wrong aud, expired, long-lived, not-yet-valid, and assertions without exp or jti", async () => {
    const now = nowSec();
    const cases: Record<string, Json> = {
      "aud another server": assertionClaims("jwt-claims", { aud: "http://evil.example" }),
      "aud the resource server": assertionClaims("jwt-claims", { aud: "payment-service" }),
      "aud the introspection endpoint": assertionClaims("jwt-claims", { aud: `${auth.url}/introspect` }),
      expired: assertionClaims("jwt-claims", { iat: now - 900, exp: now - 600 }),
      "exp in a day": assertionClaims("jwt-claims", { exp: now + 86_400 }),
      "nbf in an hour": assertionClaims("jwt-claims", { nbf: now + 3600, exp: now + 3660 }),
      "no exp": without(assertionClaims("jwt-claims"), "exp"),
      "no jti": without(assertionClaims("jwt-claims"), "jti"),
    };
    for (const [what, claims] of Object.entries(cases)) {
      expectOAuthError(await withAssertion(assertion(claimsClient, claims)), 401, "invalid_client", what);
    }
  });

  it("refuses alg none, HS256 (keyed with a secret or with the client's public key), and another key under the client's kid", async () => {
    const claims = () => assertionClaims("jwt-alg");
    const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const cases: Record<string, string> = {
      none: forge({ alg: "none", kid: algClient.kid }, claims()),
      "HS256 with a guessed secret": forge({ alg: "HS256", kid: algClient.kid }, claims(), hmacSigner("super-secret")),
      "HS256 with the public JWK": forge({ alg: "HS256", kid: algClient.kid }, claims(), hmacSigner(JSON.stringify(algClient.jwk))),
      "another key, the client's kid": forge({ alg: "ES256", kid: algClient.kid }, claims(), signerFor("ES256", other.privateKey)),
      "another key embedded as jwk": forge(
        { alg: "ES256", jwk: other.publicKey.export({ format: "jwk" }) },
        claims(),
        signerFor("ES256", other.privateKey),
      ),
    };
    for (const [what, token] of Object.entries(cases)) {
      assertionsSent.push(token);
      expectOAuthError(await withAssertion(token), 401, "invalid_client", what);
    }
  });

  it("refuses iss ≠ sub, a sub naming another client, and client_id naming another client (RFC 7521 §4.2)", async () => {
    expectOAuthError(await withAssertion(assertion(algClient, assertionClaims("jwt-alg", { sub: "order-service" }))), 401, "invalid_client", "sub ≠ iss");
    expectOAuthError(await withAssertion(assertion(algClient, assertionClaims("jwt-alg", { iss: "order-service" }))), 401, "invalid_client", "iss ≠ sub");
    expectOAuthError(await withAssertion(assertion(algClient, assertionClaims("order-service"))), 401, "invalid_client", "another client's name");
    const mismatch = await withAssertion(assertion(algClient, assertionClaims("jwt-alg")), { client_id: "order-service" });
    expect([400, 401], JSON.stringify(mismatch.body)).toContain(mismatch.status);
    expect(mismatch.body.error).toBe(mismatch.status === 400 ? "invalid_request" : "invalid_client");
  });

  it("refuses an assertion with a wrong client_assertion_type, and one sent together with another method", async () => {
    const good = () => assertion(algClient, assertionClaims("jwt-alg"));
    const wrongType = await withAssertion(good(), { client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer" });
    expect([400, 401]).toContain(wrongType.status);
    expect(wrongType.body.error).toBe(wrongType.status === 400 ? "invalid_request" : "invalid_client");
    expectOAuthError(await withAssertion(good(), {}, { authorization: basic("order-service", "super-secret") }), 400, "invalid_request", "with Basic");
    expectOAuthError(await withAssertion(good(), { client_id: "order-service", client_secret: "super-secret" }), 400, "invalid_request", "with a secret");
  });
});

describe("what a client may ask for", () => {
  it("refuses a disabled client, whatever it authenticates with", async () => {
    expectOAuthError(await postForm(`${auth.url}/token`, grant, { authorization: basic("disabled", DISABLED_SECRET) }), 401, "invalid_client", "secret");
    const jwt = assertion(disabledJwtClient, assertionClaims("disabled-jwt"));
    expectOAuthError(await withAssertion(jwt, { scope: "charge:read" }), 401, "invalid_client", "assertion");
  });

  it("refuses scope look-alikes as invalid_scope, never widening the grant (RFC 6749 §3.3)", async () => {
    for (const scope of [
      "CHARGE:CUSTOMER",
      "charge:*",
      "charge:customer charge:read",
      "charge:customer,charge:read",
      "charge:customer\tcharge:read",
      "charge:customers",
      "charge:customer:extra",
    ]) {
      const res = await postForm(`${auth.url}/token`, { ...grant, scope }, { authorization: basic("order-service", "super-secret") });
      expectOAuthError(res, 400, "invalid_scope", JSON.stringify(scope));
    }
  });

  it("refuses resource and audience look-alikes as invalid_target (RFC 8707 §2)", async () => {
    const lookAlikes: Record<string, string>[] = [
      { resource: "https://payment.internal.evil.example" },
      { resource: "https://payment.internal@evil.example" },
      { resource: "https://evil.example/https://payment.internal" },
      { resource: "https://payment.internal#fragment" },
      { resource: "payment-service" },
      { audience: "payment-service " },
      { audience: "Payment-Service" },
      { audience: "payment-service order-service" },
    ];
    for (const target of lookAlikes) {
      const res = await postForm(`${auth.url}/token`, { ...grant, scope: "charge:customer", ...target }, { authorization: basic("order-service", "super-secret") });
      expectOAuthError(res, 400, "invalid_target", JSON.stringify(target));
    }
  });

  it("names itself by ISSUER, never by the Host header (no host header injection into metadata or tokens)", async () => {
    const evil = { host: "evil.example", "x-forwarded-host": "evil.example", "x-forwarded-proto": "https" };
    const metadata = JSON.parse((await rawRequest(`${auth.url}/.well-known/oauth-authorization-server`, { headers: evil })).text);
    expect(metadata.issuer).toBe(auth.url);
    for (const member of ["token_endpoint", "jwks_uri", "introspection_endpoint"]) {
      if (member in metadata) expect(metadata[member], member).toMatch(new RegExp(`^${auth.url}/`));
    }
    const issued = await rawRequest(`${auth.url}/token`, {
      method: "POST",
      headers: { ...evil, "content-type": "application/x-www-form-urlencoded", authorization: basic("order-service", "super-secret") },
      body: "grant_type=client_credentials",
    });
    expect(issued.status).toBe(200);
    expect(decodeJwt(JSON.parse(issued.text).access_token).iss).toBe(auth.url);
  });
});

describe("client_secret_basic with the RFC 6749 §2.3.1 encoding", () => {
  it("decodes a secret holding ':', '%', '+', spaces and non-ASCII, encoded either way", async () => {
    const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
    const encodings = {
      "percent-encoded": basic("colon-client", COLON_SECRET),
      "form-encoded": `Basic ${Buffer.from(`colon-client:${formEncode(COLON_SECRET)}`).toString("base64")}`,
    };
    for (const [what, authorization] of Object.entries(encodings)) {
      const res = await postForm(`${auth.url}/token`, grant, { authorization });
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(200);
    }
    expect((await postForm(`${auth.url}/token`, { ...grant, client_id: "colon-client", client_secret: COLON_SECRET })).status).toBe(200);
  });

  it("refuses the secret cut at its first ':' and a Basic header that is not base64", async () => {
    const cut = await postForm(`${auth.url}/token`, grant, { authorization: basic("colon-client", COLON_SECRET.split(":")[0]!) });
    expectOAuthError(cut, 401, "invalid_client");
    const garbage = await postForm(`${auth.url}/token`, grant, { authorization: "Basic !!!not-base64:" });
    expect([400, 401]).toContain(garbage.status);
    expect(garbage.body.error).toBe(garbage.status === 400 ? "invalid_request" : "invalid_client");
  });
});

describe("brute force on one client (docs/wire-contract.md: more than 20 failures a minute → 429)", () => {
  // From 127.0.0.2 and up: the loopback network is all this host, so each test is its own "address".
  it("refuses with 429 and Retry-After after 20 failures, and then refuses the right secret too", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) {
      const res = await rawTokenRequest(auth.url, grant, "127.0.0.2", { authorization: basic("victim", `guess-${i}`) });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses.at(-1)).toBe(429);
    // Otherwise the limit would be an oracle: 429 for a wrong guess, 200 for the right one.
    const right = await rawTokenRequest(auth.url, grant, "127.0.0.2", { authorization: basic("victim", VICTIM_SECRET) });
    expect(right.status).toBe(429);
    expect(typeof right.body.error).toBe("string");
    expectRetryAfter(right.headers["retry-after"]);
    // The lock is on the client, wherever the guesses come from.
    const elsewhere = await rawTokenRequest(auth.url, grant, "127.0.0.3", { authorization: basic("victim", "guess-from-elsewhere") });
    expect(elsewhere.status).toBe(429);
  });

  it("does not lock the legitimate client out from where it has authenticated before", async () => {
    const legit = () => rawTokenRequest(auth.url, grant, "127.0.0.4", { authorization: basic("trusted", TRUSTED_SECRET) });
    expect((await legit()).status).toBe(200);
    for (let i = 0; i < 22; i++) await rawTokenRequest(auth.url, grant, "127.0.0.5", { authorization: basic("trusted", `guess-${i}`) });
    expect((await rawTokenRequest(auth.url, grant, "127.0.0.5", { authorization: basic("trusted", TRUSTED_SECRET) })).status).toBe(429);
    expect((await legit()).status).toBe(200);
  });
});

describe("brute force from one address (docs/wire-contract.md: more than 100 failures a minute → 429)", () => {
  it("counts failures only: a busy legitimate client is never limited", async () => {
    for (let i = 0; i < 110; i++) {
      const res = await rawTokenRequest(auth.url, grant, "127.0.0.10", { authorization: basic("order-service", "super-secret") });
      expect(res.status, `success ${i}`).toBe(200);
    }
  });

  it("refuses with 429 after 100 failures from one address, whatever X-Forwarded-For says, and spares other addresses", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 102; i++) {
      // A different client each time (no per-client limit applies) and a different claimed origin.
      const spoofed = `203.0.113.${i}`;
      const res = await rawTokenRequest(auth.url, grant, "127.0.0.9", {
        authorization: basic(`nobody-${i}`, "guess"),
        "x-forwarded-for": spoofed,
        "x-real-ip": spoofed,
        forwarded: `for=${spoofed}`,
      });
      statuses.push(res.status);
      if (res.status === 429) expectRetryAfter(res.headers["retry-after"]);
    }
    expect(statuses.slice(0, 100)).toEqual(Array(100).fill(401));
    expect(statuses.at(-1)).toBe(429);
    const right = await rawTokenRequest(auth.url, grant, "127.0.0.9", { authorization: basic("order-service", "super-secret") });
    expect(right.status).toBe(429);
    const otherAddress = await rawTokenRequest(auth.url, grant, "127.0.0.11", { authorization: basic("order-service", "super-secret") });
    expect(otherAddress.status).toBe(200);
  });
});

describe("afterwards", () => {
  it("is still up, leaked nothing, and logged no secret or assertion", async () => {
    expect((await send(`${auth.url}/healthz`)).status).toBe(200);
    expectNothingLeaked(["super-secret", COLON_SECRET, VICTIM_SECRET, TRUSTED_SECRET, DISABLED_SECRET, "guess-1"]);
    expectNotLogged(auth.logs, [DISABLED_SECRET, COLON_SECRET, encodeURIComponent(COLON_SECRET), VICTIM_SECRET, TRUSTED_SECRET, "guess-1", ...assertionsSent]);
  });
});
