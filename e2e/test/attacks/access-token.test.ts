import { execFileSync } from "node:child_process";
import { createPublicKey, generateKeyPairSync, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessToken, basic, startTestStack, type Stack } from "../support.js";
import {
  b64url,
  forge,
  goodClaims,
  hmacSigner,
  nowSec,
  readIssuerKey,
  signerFor,
  withPayload,
  without,
  type IssuerKey,
  type Json,
} from "./forge.js";
import {
  REALM,
  countingServer,
  rawExchange,
  startAuthServer,
  expectInsufficientScope,
  expectInvalidToken,
  expectMalformedOrInvalid,
  expectNothingLeaked,
  expectNotLogged,
  postForm,
  postJson,
  send,
} from "./harness.js";

// The known attacks on JWT access tokens (RFC 8725 §2, RFC 9068 §4), thrown
// at the live payment-service. Each must be refused with the contract's
// answer, and none may charge anything: every attack uses an order id with
// the ATTACK prefix, and the last test reads payment-service's log for a
// `charge.created` of any of them.
let stack: Stack;
let issuer: string;
let goodToken: string;
let readToken: string;
let key: IssuerKey;
let publicJwk: JWK;
const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 });

beforeAll(async () => {
  stack = await startTestStack();
  issuer = stack.urls.auth;
  goodToken = await accessToken(issuer, "order-service", "super-secret", "charge:customer");
  readToken = await accessToken(issuer, "reporting-service", "reporting-secret", "charge:read");
  const kid = decodeProtectedHeader(goodToken).kid!;
  key = readIssuerKey(join(stack.dataRoot, "auth"), kid);
  const jwks = (await send(`${issuer}/.well-known/jwks.json`)).body as { keys: JWK[] };
  publicJwk = jwks.keys.find((k) => k.kid === kid)!;
});
afterAll(async () => {
  await stack?.dispose();
});

const ATTACK = "ord_attack_";
const CONTROL = "ord_control_";
const header = (overrides: Json = {}): Json => ({ alg: key.alg, typ: "at+jwt", kid: key.kid, ...overrides });
/** A token signed with the issuer's own key: only the claim checks stand between it and a charge. */
const issuerSigned = (claims: Json, headerOverrides: Json = {}) => forge(header(headerOverrides), claims, key.signer);
const attackerSigned = (claims: Json, headerOverrides: Json = {}) =>
  forge(header({ alg: "RS256", ...headerOverrides }), claims, signerFor("RS256", attacker.privateKey));

function charge(authorization: Record<string, string>, orderId = `${ATTACK}${randomUUID()}`) {
  return postJson(
    `${stack.urls.payment}/charge`,
    { orderId, customerId: "cus_attack", amount: 1299, currency: "EUR" },
    { "idempotency-key": randomUUID(), ...authorization },
  );
}
const withBearer = (token: string, orderId?: string) => charge({ authorization: `Bearer ${token}` }, orderId);

describe("controls: the forging is right, so every refusal below is the verifier's doing", () => {
  it("charges with a token the auth server issued", async () => {
    const res = await withBearer(goodToken, `${CONTROL}${randomUUID()}`);
    expect(res.status).toBe(201);
  });

  it("charges with a token built here and signed with the issuer's key read from its DATA_DIR", async () => {
    const res = await withBearer(issuerSigned(goodClaims(issuer)), `${CONTROL}${randomUUID()}`);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});

describe("signature and algorithm attacks (RFC 8725 §2.1, §3.1)", () => {
  it("refuses alg none in all 16 case spellings, with or without a signature (RFC 8725 §2.1, RFC 7518 §3.6)", async () => {
    for (const alg of caseSpellings("none")) {
      expectInvalidToken(await withBearer(forge(header({ alg }), goodClaims(issuer))), alg);
      expectInvalidToken(await withBearer(forge(header({ alg }), goodClaims(issuer), key.signer)), `${alg} with a signature`);
    }
  });

  it("refuses HS256 keyed with the issuer's public key, as PEM or as JWK bytes (RS/HS key confusion, CVE-2015-9235, RFC 8725 §3.1)", async () => {
    const publicKey = createPublicKey({ key: publicJwk as never, format: "jwk" });
    const spki = publicKey.export({ type: "spki", format: "pem" }).toString();
    const secrets: Array<[string, string | Buffer]> = [
      ["SPKI PEM", spki],
      ["SPKI PEM without the final newline", spki.trimEnd()],
      ["SPKI DER", publicKey.export({ type: "spki", format: "der" })],
      ["the published JWK as JSON", JSON.stringify(publicJwk)],
      ["the JWK Set as served", JSON.stringify({ keys: [publicJwk] })],
    ];
    if (publicKey.asymmetricKeyType === "rsa") secrets.push(["PKCS#1 PEM", publicKey.export({ type: "pkcs1", format: "pem" }).toString()]);
    for (const alg of ["HS256", "HS384", "HS512"]) {
      for (const [what, secret] of secrets) {
        expectInvalidToken(await withBearer(forge(header({ alg }), goodClaims(issuer), hmacSigner(secret))), `${alg} with ${what}`);
      }
    }
  });

  it("refuses a token signed by another key that names the issuer's kid", async () => {
    expectInvalidToken(await withBearer(attackerSigned(goodClaims(issuer))));
  });

  it("refuses the issuer's signature under another algorithm's name", async () => {
    // An RS256 signature presented as PS256, ES256 or EdDSA: the key fixes the algorithm, the header does not.
    for (const alg of ["PS256", "ES256", "EdDSA", "RS384"].filter((a) => a !== key.alg)) {
      expectInvalidToken(await withBearer(forge(header({ alg }), goodClaims(issuer), key.signer)), alg);
    }
  });

  it("refuses a genuine signature by the issuer's key under an algorithm the key is not published for", async () => {
    // RFC 8725 §3.1: one key, one algorithm. An RSA key published for RS256 must not verify PS256 (or the reverse).
    const others: Record<string, string> = { RS256: "PS256", PS256: "RS256" };
    const other = others[key.alg];
    if (other === undefined) return; // EC and OKP keys fit one algorithm only; the previous test covers them
    const token = forge(header({ alg: other }), goodClaims(issuer), signerFor(other, key.privateKey));
    expectInvalidToken(await withBearer(token), `${other} with the ${key.alg} key`);
  });

  it("refuses a key embedded in the header (jwk, x5c) (CVE-2018-0114, RFC 8725 §3.10)", async () => {
    const attackerJwk = attacker.publicKey.export({ format: "jwk" }) as JWK;
    const attackerKid = await calculateJwkThumbprint(attackerJwk);
    for (const kid of [attackerKid, key.kid]) {
      expectInvalidToken(await withBearer(attackerSigned(goodClaims(issuer), { kid, jwk: { ...attackerJwk, kid } })), `jwk, kid ${kid}`);
    }
    const certificate = selfSignedCertificate();
    expectInvalidToken(await withBearer(attackerSigned(goodClaims(issuer), { x5c: [certificate] })), "x5c");
    expectInvalidToken(await withBearer(attackerSigned(goodClaims(issuer), { kid: attackerKid, x5c: [certificate] })), "x5c with its kid");
  });

  it("refuses a key pointed to by jku or x5u, and never fetches the URL (SSRF, RFC 8725 §3.10, RFC 7515 §4.1.2, §4.1.5)", async () => {
    const attackerJwk = { ...(attacker.publicKey.export({ format: "jwk" }) as JWK), alg: "RS256", use: "sig" };
    const attackerKid = await calculateJwkThumbprint(attackerJwk);
    const pointed = await countingServer((req, res) => {
      res.setHeader("content-type", req.url?.endsWith(".pem") ? "application/pem-certificate-chain" : "application/json");
      res.end(req.url?.endsWith(".pem") ? "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n" : JSON.stringify({ keys: [{ ...attackerJwk, kid: attackerKid }] }));
    });
    try {
      const headers: Json[] = [
        { alg: "RS256", typ: "at+jwt", kid: attackerKid, jku: `${pointed.url}/jwks.json` },
        { alg: "RS256", typ: "at+jwt", kid: key.kid, jku: `${pointed.url}/jwks.json` },
        { alg: "RS256", typ: "at+jwt", kid: attackerKid, x5u: `${pointed.url}/chain.pem` },
        { alg: "RS256", typ: "at+jwt", jku: `${pointed.url}/no-kid.json` },
      ];
      for (const h of headers) {
        expectInvalidToken(await withBearer(forge(h, goodClaims(issuer), signerFor("RS256", attacker.privateKey))), JSON.stringify(h));
      }
      // Also where a careless server might look: the introspection endpoint.
      await postForm(`${issuer}/introspect`, { token: attackerSigned(goodClaims(issuer), { kid: attackerKid, jku: `${pointed.url}/jwks.json` }) }, {
        authorization: basic("reporting-service", "reporting-secret"),
      });
      expect(pointed.hits).toEqual([]);
      // The counter itself works: a fetch of ours is seen.
      await fetch(`${pointed.url}/jwks.json`).then((res) => res.text());
      expect(pointed.hits).toEqual(["GET /jwks.json"]);
    } finally {
      await pointed.close();
    }
  });

  it("refuses an unknown crit extension and the RFC 7797 unencoded payload (RFC 7515 §4.1.11, RFC 7797 §6)", async () => {
    expectInvalidToken(await withBearer(issuerSigned(goodClaims(issuer), { crit: ["x-evil"], "x-evil": true })), "crit");
    expectInvalidToken(await withBearer(issuerSigned(goodClaims(issuer), { crit: ["b64"], b64: false })), "b64 false");
  });

  it("refuses malformed tokens: a JWE shape, bad base64url, a JSON header that is not an object", async () => {
    const good = issuerSigned(goodClaims(issuer));
    const [h, p, s] = good.split(".");
    const cases: Record<string, string> = {
      "five parts": `${h}.${p}.${s}.${s}.${s}`,
      "two parts": `${h}.${p}`,
      "header is an array": `${b64url("[]")}.${p}.${s}`,
      "header is not JSON": `${b64url("{")}.${p}.${s}`,
      "payload is not JSON": `${h}.${b64url("not json")}.${s}`,
      "payload is a JSON string, signed": forge(header(), JSON.stringify("charge:customer"), key.signer),
      "payload is a JSON array, signed": forge(header(), JSON.stringify([goodClaims(issuer)]), key.signer),
    };
    for (const [what, token] of Object.entries(cases)) expectInvalidToken(await withBearer(token), what);
    // Not even RFC 6750 §2.1 b64token syntax: a malformed request (400 invalid_request) or a bad token (401) will do.
    for (const [what, token] of Object.entries({
      "padding inside": `${h}==.${p}.${s}`,
      "a JSON serialization": JSON.stringify({ protected: h, payload: p, signature: s }),
      "a space inside": `${h}. ${p}.${s}`,
    })) {
      expectMalformedOrInvalid(await withBearer(token), what);
    }
  });
});

describe("kid handling", () => {
  it("refuses kid injection (path traversal, SQL and shell metacharacters, header breaking, a huge kid, non-strings) with a clean 401 (RFC 8725 §3.10)", async () => {
    const kids = [
      "$(touch /tmp/pwned)",
      "`id`",
      "x; rm -rf / #",
      "x | nc 127.0.0.1 9",
      "x && cat /etc/passwd",
      "x\nid",
      "../../../../../../dev/null",
      `../keys/${key.kid}`,
      `${key.kid}/../${key.kid}`,
      "' OR '1'='1",
      `${key.kid}' --`,
      'x", error="none',
      "x\r\nSet-Cookie: pwned=1",
      "%00",
      "k".repeat(8000),
    ];
    for (const kid of kids) {
      // The classic: point kid at an empty file and key HS256 with nothing.
      expectInvalidToken(await withBearer(forge(header({ alg: "HS256", kid }), goodClaims(issuer), hmacSigner(""))), `HS256, kid ${kid.slice(0, 30)}`);
      expectInvalidToken(await withBearer(attackerSigned(goodClaims(issuer), { kid })), `RS256, kid ${kid.slice(0, 30)}`);
    }
    // Not strings at all: type confusion in the key lookup must not crash it or widen it.
    for (const kid of [42, null, true, { $ne: "" }, [key.kid], { toString: key.kid }]) {
      expectInvalidToken(await withBearer(attackerSigned(goodClaims(issuer), { kid })), `kid ${JSON.stringify(kid)}`);
      // Even signed by the issuer's key: RFC 7515 §4.1.4 makes kid a string, and a lookup that coerces is one that can be fooled.
      expectInvalidToken(await withBearer(issuerSigned(goodClaims(issuer), { kid })), `kid ${JSON.stringify(kid)}, genuine signature`);
    }
  });

  it("does not refetch the JWK Set for every unknown kid (a flood of bogus kids cannot hammer the auth server)", async () => {
    const jwksFetches = () =>
      stack.logs.filter((l) => l.service === "auth-server" && l.msg === "http.request" && l.path === "/.well-known/jwks.json").length;
    const before = jwksFetches();
    expect(before, "payment-service's start-up fetch is in the auth-server's request log").toBeGreaterThan(0);
    for (let i = 0; i < 30; i++) {
      expectInvalidToken(await withBearer(attackerSigned(goodClaims(issuer), { kid: `bogus-${i}-${randomUUID()}` })), `bogus kid ${i}`);
    }
    // Request logs are written after the answer; the last one may lag a little.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(jwksFetches() - before).toBeLessThanOrEqual(3);
  });
});

describe("claims kept, signature kept: tampering (RFC 7515 §5.2)", () => {
  it("refuses each claim changed after signing, even once the genuine token is cached", async () => {
    expect((await withBearer(goodToken, `${CONTROL}${randomUUID()}`)).status).toBe(201);
    const tampered: Record<string, string> = {
      scope: withPayload(goodToken, (c) => ({ ...c, scope: "charge:customer charge:read" })),
      aud: withPayload(goodToken, (c) => ({ ...c, aud: "other-service" })),
      exp: withPayload(goodToken, (c) => ({ ...c, exp: (c.exp as number) + 86_400 })),
      sub: withPayload(goodToken, (c) => ({ ...c, sub: "reporting-service", client_id: "reporting-service" })),
      "an extra claim": withPayload(goodToken, (c) => ({ ...c, admin: true })),
      "the same claims re-serialized": withPayload(goodToken, (c) => Object.fromEntries(Object.entries(c).reverse())),
    };
    for (const [what, token] of Object.entries(tampered)) expectInvalidToken(await withBearer(token), what);
    const [h, p, s] = goodToken.split(".");
    const other = readToken.split(".")[2];
    expectInvalidToken(await withBearer(`${h}.${p}.${other}`), "another token's signature");
    expectInvalidToken(await withBearer(`${h}.${p}.`), "no signature");
    expectInvalidToken(await withBearer(`${h}.${p}.${s!.slice(0, -8)}`), "a truncated signature");
    expectInvalidToken(await withBearer(`${b64url({ ...decodeProtectedHeader(goodToken), alg: "none" })}.${p}.`), "header swapped to none");
  });
});

describe("claim checks, with genuine signatures (RFC 9068 §4, RFC 7519 §4.1)", () => {
  const now = nowSec();
  it("refuses expired, not-yet-valid and far-future-iat tokens, and tokens without exp", async () => {
    const cases: Record<string, Json> = {
      "expired an hour ago": goodClaims(issuer, { iat: now - 3900, exp: now - 3600 }),
      "expired ten minutes ago": goodClaims(issuer, { iat: now - 900, exp: now - 600 }),
      "nbf in an hour": goodClaims(issuer, { nbf: now + 3600, exp: now + 3900 }),
      "iat in an hour": goodClaims(issuer, { iat: now + 3600, exp: now + 3900 }),
      "iat in a year": goodClaims(issuer, { iat: now + 31_536_000, exp: now + 31_536_300 }),
      "no exp": without(goodClaims(issuer), "exp"),
      "exp as a string": goodClaims(issuer, { exp: String(now + 300) }),
      "exp null": goodClaims(issuer, { exp: null }),
    };
    for (const [what, claims] of Object.entries(cases)) expectInvalidToken(await withBearer(issuerSigned(claims)), what);
  });

  it("refuses any iss but ISSUER, compared exactly", async () => {
    const port = new URL(issuer).port;
    for (const iss of [
      "http://evil.example",
      `${issuer}/`,
      `http://localhost:${port}`,
      `https://127.0.0.1:${port}`,
      issuer.toUpperCase(),
      [issuer],
    ]) {
      expectInvalidToken(await withBearer(issuerSigned(goodClaims(issuer, { iss }))), `iss ${JSON.stringify(iss)}`);
    }
    expectInvalidToken(await withBearer(issuerSigned(without(goodClaims(issuer), "iss"))), "no iss");
  });

  it("refuses any aud but AUDIENCE as a string, arrays included", async () => {
    for (const aud of [
      "order-service",
      "https://payment.internal",
      "Payment-Service",
      "payment-service ",
      "",
      ["payment-service", "order-service"],
      ["order-service", "payment-service"],
      ["payment-service"],
      [],
    ]) {
      expectInvalidToken(await withBearer(issuerSigned(goodClaims(issuer, { aud }))), `aud ${JSON.stringify(aud)}`);
    }
    expectInvalidToken(await withBearer(issuerSigned(without(goodClaims(issuer), "aud"))), "no aud");
  });

  it("refuses typ JWT, a missing typ, and other media types (RFC 9068 §4, RFC 8725 §3.11)", async () => {
    for (const typ of ["JWT", "jwt", "application/jwt", "at+jwt+evil", "", undefined, "id_token+jwt", ["at+jwt"]]) {
      const h = typ === undefined ? without(header(), "typ") : header({ typ });
      expectInvalidToken(await withBearer(forge(h, goodClaims(issuer), key.signer)), `typ ${JSON.stringify(typ)}`);
    }
  });

  it("answers insufficient_scope for scope look-alikes (RFC 6750 §3.1, scope tokens are case-sensitive)", async () => {
    for (const scope of [
      "charge:customers",
      "charge:customer:extra",
      "CHARGE:CUSTOMER",
      "charge",
      "charge:*",
      "*",
      "charge:read",
      "charge:customer\tcharge:read",
      "charge:customer,charge:read",
    ]) {
      expectInsufficientScope(await withBearer(issuerSigned(goodClaims(issuer, { scope }))), "charge:customer", `scope ${JSON.stringify(scope)}`);
    }
  });

  it("never charges with a scope that is not a space-delimited string", async () => {
    for (const scope of [["charge:customer"], { "charge:customer": true }, 1, null, ""]) {
      const res = await withBearer(issuerSigned(goodClaims(issuer, { scope })));
      expect([401, 403], JSON.stringify(scope)).toContain(res.status);
      if (res.status === 401) expectInvalidToken(res, `scope ${JSON.stringify(scope)}`);
      else expectInsufficientScope(res, "charge:customer", `scope ${JSON.stringify(scope)}`);
    }
  });
});

describe("the token travels only in the Authorization header (RFC 6750 §2, RFC 9700 §4.3.2)", () => {
  it("ignores a token in the query string or the body: 401 with a bare challenge", async () => {
    const body = () => ({ orderId: `${ATTACK}${randomUUID()}`, customerId: "cus_attack", amount: 1299, currency: "EUR" });
    const inQuery = await postJson(`${stack.urls.payment}/charge?access_token=${goodToken}`, body(), { "idempotency-key": randomUUID() });
    const inJson = await postJson(`${stack.urls.payment}/charge`, { ...body(), access_token: goodToken }, { "idempotency-key": randomUUID() });
    const inForm = await postForm(`${stack.urls.payment}/charge`, { ...body(), amount: "1299", access_token: goodToken }, { "idempotency-key": randomUUID() });
    for (const [what, res] of Object.entries({ inQuery, inJson, inForm })) {
      expect(res.status, what).toBe(401);
      expect(res.headers.get("www-authenticate"), what).toBe(REALM);
    }
  });

  it("answers invalid_request to a token in the header and in the query string at once (RFC 6750 §3.1)", async () => {
    const res = await postJson(
      `${stack.urls.payment}/charge?access_token=${goodToken}`,
      { orderId: `${ATTACK}${randomUUID()}`, customerId: "cus_attack", amount: 1299, currency: "EUR" },
      { "idempotency-key": randomUUID(), authorization: `Bearer ${goodToken}` },
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="payment-service", error="invalid_request", error_description="[^"]+"$/);
  });

  it("refuses other schemes and malformed Authorization headers without charging", async () => {
    for (const authorization of [
      basic("order-service", "super-secret"),
      `Token ${goodToken}`,
      `Bearer`,
      `Bearer `,
      `Bearer ${goodToken} ${goodToken}`,
      `Bearer ${goodToken}, Bearer ${goodToken}`,
      `${goodToken}`,
    ]) {
      const res = await charge({ authorization });
      expect([400, 401], authorization.slice(0, 20)).toContain(res.status);
      expect(res.headers.get("www-authenticate") ?? "", authorization.slice(0, 20)).toMatch(/^Bearer realm="payment-service"/);
    }
  });
});

describe("introspection agrees (RFC 7662 §2.2)", () => {
  it("reports every forged token as inactive", async () => {
    const caller = { authorization: basic("reporting-service", "reporting-secret") };
    const now = nowSec();
    const forged: Record<string, string> = {
      none: forge(header({ alg: "none" }), goodClaims(issuer)),
      "HS256 with the public key": forge(header({ alg: "HS256" }), goodClaims(issuer), hmacSigner(JSON.stringify(publicJwk))),
      "another key, same kid": attackerSigned(goodClaims(issuer)),
      tampered: withPayload(goodToken, (c) => ({ ...c, scope: "charge:customer charge:read" })),
      expired: issuerSigned(goodClaims(issuer, { iat: now - 3900, exp: now - 3600 })),
      "another issuer": issuerSigned(goodClaims(issuer, { iss: "http://evil.example" })),
    };
    for (const [what, token] of Object.entries(forged)) {
      const res = await postForm(`${issuer}/introspect`, { token }, caller);
      expect(res.status, what).toBe(200);
      expect(res.body, what).toEqual({ active: false });
    }
  });
});

describe("the attack catalogue, what the tests above do not already name", () => {
  it("refuses a null or truncated signature (RFC 7515 §5.2)", async () => {
    const [h, p, s] = issuerSigned(goodClaims(issuer)).split(".") as [string, string, string];
    const bytes = Buffer.from(s, "base64url");
    const cases: Record<string, string> = {
      "an empty signature": `${h}.${p}.`,
      "no signature part": `${h}.${p}`,
      "the word null": `${h}.${p}.null`,
      "one byte": `${h}.${p}.${bytes.subarray(0, 1).toString("base64url")}`,
      "all but the last byte": `${h}.${p}.${bytes.subarray(0, -1).toString("base64url")}`,
      "half": `${h}.${p}.${bytes.subarray(0, bytes.length / 2).toString("base64url")}`,
      "as many zero bytes": `${h}.${p}.${Buffer.alloc(bytes.length).toString("base64url")}`,
    };
    for (const [what, token] of Object.entries(cases)) expectInvalidToken(await withBearer(token), what);
  });

  it("refuses claims of the wrong type with genuine signatures: exp as a string, aud as an object, scope as an array (RFC 7519 §4.1, RFC 9068 §2.2)", async () => {
    const now = nowSec();
    const cases: Record<string, Json> = {
      "exp as a string": goodClaims(issuer, { exp: String(now + 300) }),
      "exp as an ISO date": goodClaims(issuer, { exp: new Date((now + 300) * 1000).toISOString() }),
      "iat as a string": goodClaims(issuer, { iat: String(now) }),
      "nbf as a boolean": goodClaims(issuer, { nbf: true }),
      "aud as an object": goodClaims(issuer, { aud: { "payment-service": true } }),
      "aud as an object with a toString": goodClaims(issuer, { aud: { toString: "payment-service" } }),
      "scope as an array": goodClaims(issuer, { scope: ["charge:customer"] }),
      "scope as an object": goodClaims(issuer, { scope: { "charge:customer": true } }),
      "sub as a number": goodClaims(issuer, { sub: 42 }),
      "client_id as null": goodClaims(issuer, { client_id: null }),
      "jti as an array": goodClaims(issuer, { jti: ["a"] }),
      "iss as an array": goodClaims(issuer, { iss: [issuer] }),
    };
    for (const [what, claims] of Object.entries(cases)) expectInvalidToken(await withBearer(issuerSigned(claims)), what);
  });

  it("refuses a member name twice in the header or the claims, though JSON.parse keeps the last (RFC 7515 §5.2, RFC 7519 §4)", async () => {
    const text = (value: Json) => JSON.stringify(value).slice(1, -1);
    const signText = (headerJson: string, claimsJson: string) => {
      const input = `${b64url(headerJson)}.${b64url(claimsJson)}`;
      return `${input}.${key.signer(input).toString("base64url")}`;
    };
    const claims = goodClaims(issuer);
    // the control: the same texts with each name once charge, so only the second name refuses the others
    const control = await withBearer(signText(`{${text(header())}}`, `{${text(claims)}}`), `${CONTROL}${randomUUID()}`);
    expect(control.status, JSON.stringify(control.body)).toBe(201);
    const cases: Record<string, string> = {
      "alg none, then the real alg": signText(`{"alg":"none",${text(header())}}`, `{${text(goodClaims(issuer))}}`),
      "typ JWT, then at+jwt": signText(`{"typ":"JWT",${text(header())}}`, `{${text(goodClaims(issuer))}}`),
      "another audience, then ours": signText(`{${text(header())}}`, `{"aud":"order-service",${text(goodClaims(issuer))}}`),
      "another scope, then ours": signText(`{${text(header())}}`, `{"scope":"charge:read",${text(goodClaims(issuer))}}`),
      "aud twice, once escaped": signText(`{${text(header())}}`, `{${text(goodClaims(issuer))},"\\u0061ud":"payment-service"}`),
    };
    for (const [what, token] of Object.entries(cases)) expectInvalidToken(await withBearer(token), what);
  });

  it("refuses a 1 MB token before it reaches the verifier: 431, and nothing charged (RFC 6585 §5, RFC 9110 §15.5.14)", async () => {
    // Node's 16 KiB header limit answers first: a bearer token only travels in the Authorization header
    // (RFC 6750 §2.1). The verifier's own bound (8 KiB, before any parsing) is tested in token-verifier.
    const huge = issuerSigned(goodClaims(issuer, { pad: "x".repeat(1024 * 1024) }));
    expect(huge.length).toBeGreaterThan(1024 * 1024);
    const url = new URL(`${stack.urls.payment}/charge`);
    const body = JSON.stringify({ orderId: `${ATTACK}${randomUUID()}`, customerId: "cus_attack", amount: 1299, currency: "EUR" });
    const reply = await rawExchange(
      url.href,
      `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nIdempotency-Key: ${randomUUID()}\r\nAuthorization: Bearer ${huge}`,
    );
    expect(reply.status).toBe(431);
    expect((await send(`${stack.urls.payment}/healthz`)).status).toBe(200);
  });

  it("refuses a token whose iss is ours but whose kid names a key of another issuer, signed by that key (RFC 8725 §3.10, RFC 9068 §4)", async () => {
    const other = await startAuthServer();
    try {
      const foreignToken = await accessToken(other.url, "order-service", "super-secret", "charge:customer");
      const foreignKid = decodeProtectedHeader(foreignToken).kid!;
      const foreignKey = readIssuerKey(other.dataDir, foreignKid);
      expect(foreignKid).not.toBe(key.kid);
      const forged = forge({ alg: foreignKey.alg, typ: "at+jwt", kid: foreignKid }, goodClaims(issuer), foreignKey.signer);
      expectInvalidToken(await withBearer(forged), "our iss, their kid and key");
      expectInvalidToken(await withBearer(foreignToken), "their genuine token");
      // and it never asked the other issuer for anything: payment-service knows one issuer only
      expect(other.logs.filter((line) => line.msg === "http.request" && String(line.path).includes("jwks"))).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});

describe("afterwards", () => {
  it("charged nothing for any attack, and the control charges show the check can see a charge", async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const charged = stack.logs.filter((l) => l.service === "payment-service" && l.msg === "charge.created").map((l) => String(l.order_id));
    expect(charged.filter((id) => id.startsWith(CONTROL)).length).toBeGreaterThanOrEqual(3);
    expect(charged.filter((id) => id.startsWith(ATTACK))).toEqual([]);
  });

  it("leaked no stack trace or secret in any answer, and logged no secret or whole token", async () => {
    expect((await send(`${stack.urls.payment}/healthz`)).status).toBe(200);
    expectNothingLeaked(["super-secret", "reporting-secret"]);
    expectNotLogged(stack.logs, ["super-secret", "reporting-secret", goodToken, readToken, goodToken.split(".")[2]!]);
  });
});

/** A self-signed certificate for the attacker's key, base64 DER as x5c wants it (RFC 7515 §4.1.6). */
function selfSignedCertificate(): string {
  const dir = mkdtempSync(join(tmpdir(), "m2m-x5c-"));
  try {
    const keyFile = join(dir, "key.pem");
    writeFileSync(keyFile, attacker.privateKey.export({ type: "pkcs8", format: "pem" }));
    const certFile = join(dir, "cert.der");
    execFileSync("openssl", ["req", "-x509", "-new", "-key", keyFile, "-subj", "/CN=attacker", "-days", "1", "-outform", "DER", "-out", certFile], {
      stdio: "ignore",
    });
    return readFileSync(certFile).toString("base64");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every upper/lower-case spelling of `word`: 2^length of them. */
function caseSpellings(word: string): string[] {
  return Array.from({ length: 2 ** word.length }, (_, mask) =>
    [...word].map((char, i) => (mask & (1 << i) ? char.toUpperCase() : char.toLowerCase())).join(""),
  );
}
