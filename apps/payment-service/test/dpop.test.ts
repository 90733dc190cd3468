import { createHmac, generateKeyPairSync, randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { base64url } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proofKey, rawJws, signProof, type ProofKey, type ProofParts } from "@m2m/test-support";
import { AuthStub, newCharge, startService, type TestService } from "./support.js";

// RFC 9449 at the resource server: a DPoP-bound token is taken only with the
// DPoP scheme and a valid proof of its key (§7); every check of §4.3 and §7
// refuses on its own with 401, a DPoP challenge carrying error and algs
// (§7.1), the reason in the log, and nothing charged.

const PUBLIC_URL = "https://payments.example";
const HTU = `${PUBLIC_URL}/charge`;

let auth: AuthStub;
let service: TestService; // DPOP_MODE allowed (the default), PUBLIC_URL set
let key: ProofKey;
const clock = { now: Math.floor(Date.now() / 1000) * 1000 };

beforeAll(async () => {
  auth = await AuthStub.start();
  service = await startService(auth, { env: { PUBLIC_URL }, clock: () => clock.now });
  key = await proofKey();
});
afterAll(async () => {
  await service?.running.close();
  await auth?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** `POST /charge` over node:http, so a header can be sent twice and `Host` be anything. */
function charge(on: TestService, headers: Record<string, string | string[]>, path = "/charge"): Promise<Answer> {
  const body = JSON.stringify(newCharge());
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${on.url}${path}`,
      { method: "POST", agent: false, headers: { "content-type": "application/json", "idempotency-key": randomUUID(), ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const boundToken = (to: ProofKey = key, claims: Record<string, unknown> = {}) => auth.token({ cnf: { jkt: to.jkt }, ...claims });
const proofFor = (token: string, parts: ProofParts = {}, signer: ProofKey = key, htu = HTU) => signProof({ key: signer, htu, accessToken: token, nowMs: clock.now }, parts);

async function dpopCharge(parts: ProofParts = {}, options: { signer?: ProofKey; token?: string } = {}): Promise<Answer> {
  const token = options.token ?? (await boundToken());
  return charge(service, { authorization: `DPoP ${token}`, dpop: await proofFor(token, parts, options.signer) });
}

function chargesMade(on: TestService = service): number {
  return on.events("charge.created").length;
}

/** A refusal as RFC 9449 §7.1 has it, the reason logged, and no charge made by it. */
async function expectRefused(answer: Promise<Answer>, error: string, reason?: RegExp): Promise<Answer> {
  const before = chargesMade();
  const res = await answer;
  expect(res.status).toBe(401);
  expect(res.body.error).toBe(error);
  const challenge = String(res.headers["www-authenticate"]);
  expect(challenge).toMatch(new RegExp(`^DPoP realm="payment-service", error="${error}", error_description="[^"]+", algs="[^"]*ES256[^"]*"$`));
  if (reason) expect(service.events("token.rejected").at(-1)?.reason).toMatch(reason);
  expect(chargesMade()).toBe(before);
  return res;
}

describe("a DPoP-bound token with its proof (RFC 9449 §7)", () => {
  it("charges, and payment-service logs the key and every DPoP check", async () => {
    const before = chargesMade();
    const res = await dpopCharge();
    expect(res.status).toBe(201);
    expect(chargesMade()).toBe(before + 1);
    const verified = service.events("token.verified").at(-1)!;
    expect(verified.dpop).toEqual({ jkt: key.jkt, alg: "ES256" });
    expect(verified.checks).toEqual(expect.arrayContaining([`DPoP proof signed by the token's key (ES256, cnf.jkt ${key.jkt})`, "DPoP proof jti not seen before"]));
  });

  it("still takes an unbound Bearer token as before, in the default mode (allowed)", async () => {
    expect((await charge(service, { authorization: `Bearer ${await auth.token()}` })).status).toBe(201);
  });

  it("takes the same token again with a new proof, the signature check of the token cached", async () => {
    const token = await boundToken();
    expect((await charge(service, { authorization: `DPoP ${token}`, dpop: await proofFor(token) })).status).toBe(201);
    expect((await charge(service, { authorization: `DPoP ${token}`, dpop: await proofFor(token) })).status).toBe(201);
  });

  it.each([
    ["with a query and a fragment", `${HTU}?x=1#y`],
    ["in upper case and with the default port", "HTTPS://PAYMENTS.EXAMPLE:443/charge"],
    ["with an unreserved character percent-encoded", `${PUBLIC_URL}/%63harge`],
  ])("matches htu %s, after RFC 3986 normalisation", async (_name, htu) => {
    const token = await boundToken();
    expect((await charge(service, { authorization: `DPoP ${token}`, dpop: await signProof({ key, htu, accessToken: token, nowMs: clock.now }) })).status).toBe(201);
  });

  it("takes iat at both edges of the window: 30 s old, and 5 s ahead of the server's clock", async () => {
    const now = clock.now / 1000;
    expect((await dpopCharge({ claims: { iat: now - 30 } })).status).toBe(201);
    expect((await dpopCharge({ claims: { iat: now + 5 } })).status).toBe(201);
  });
});

describe("RFC 9449 §4.3 and §7 at the resource server: each check refuses on its own, 401 invalid_dpop_proof, nothing charged", () => {
  it("check 1: refuses the DPoP scheme without a DPoP header", async () => {
    await expectRefused(charge(service, { authorization: `DPoP ${await boundToken()}` }), "invalid_dpop_proof", /no DPoP header/);
  });

  it("check 1: refuses two DPoP header fields", async () => {
    const token = await boundToken();
    await expectRefused(charge(service, { authorization: `DPoP ${token}`, dpop: [await proofFor(token), await proofFor(token)] }), "invalid_dpop_proof", /more than one/);
  });

  it("check 2: refuses a DPoP header that is not a JWT", async () => {
    await expectRefused(charge(service, { authorization: `DPoP ${await boundToken()}`, dpop: "not a jwt" }), "invalid_dpop_proof", /not a compact JWS/);
  });

  it("check 2: refuses a proof over 4 KiB before parsing it", async () => {
    await expectRefused(dpopCharge({ claims: { padding: "x".repeat(4096) } }), "invalid_dpop_proof", /too large/);
  });

  it("check 2: refuses a JWS whose header is not JSON", async () => {
    const token = await boundToken();
    const [, payload, signature] = (await proofFor(token)).split(".");
    await expectRefused(charge(service, { authorization: `DPoP ${token}`, dpop: `${base64url.encode("[}")}.${payload}.${signature}` }), "invalid_dpop_proof", /header/);
  });

  it.each(["jti", "htm", "htu", "iat", "ath"])("check 3: refuses a proof without %s", async (claim) => {
    await expectRefused(dpopCharge({ claims: { [claim]: undefined } }), "invalid_dpop_proof", new RegExp(`${claim} is missing`));
  });

  it.each([["JWT"], ["application/dpop+jwt"], [undefined]])("check 4: refuses typ %j", async (typ) => {
    await expectRefused(dpopCharge({ header: { typ } }), "invalid_dpop_proof", /typ is not dpop\+jwt/);
  });

  it("check 5: refuses alg none", async () => {
    const token = await boundToken();
    const unsigned = rawJws({ typ: "dpop+jwt", alg: "none", jwk: key.jwk }, { jti: randomUUID(), htm: "POST", htu: HTU, iat: clock.now / 1000 });
    await expectRefused(charge(service, { authorization: `DPoP ${token}`, dpop: unsigned }), "invalid_dpop_proof", /alg is not an allowed/);
  });

  it("check 5: refuses HS256 keyed with the public key the proof carries", async () => {
    const token = await boundToken();
    const input = rawJws({ typ: "dpop+jwt", alg: "HS256", jwk: key.jwk }, { jti: randomUUID(), htm: "POST", htu: HTU, iat: clock.now / 1000 }).slice(0, -1);
    const mac = createHmac("sha256", JSON.stringify(key.jwk)).update(input).digest("base64url");
    await expectRefused(charge(service, { authorization: `DPoP ${token}`, dpop: `${input}.${mac}` }), "invalid_dpop_proof", /alg is not an allowed/);
  });

  it("check 6: refuses a proof signed by another key than the jwk it carries (the token's)", async () => {
    await expectRefused(dpopCharge({ header: { jwk: key.jwk } }, { signer: await proofKey() }), "invalid_dpop_proof", /signature does not verify/);
  });

  it("check 6: refuses a proof whose claims were changed after signing", async () => {
    const token = await boundToken();
    const [header, , signature] = (await proofFor(token)).split(".");
    const forged = `${header}.${base64url.encode(JSON.stringify({ jti: randomUUID(), htm: "POST", htu: HTU, iat: clock.now / 1000 }))}.${signature}`;
    await expectRefused(charge(service, { authorization: `DPoP ${token}`, dpop: forged }), "invalid_dpop_proof", /signature does not verify/);
  });

  it("check 6: refuses a proof without a jwk", async () => {
    await expectRefused(dpopCharge({ header: { jwk: undefined } }), "invalid_dpop_proof", /no jwk/);
  });

  it("check 7: refuses a jwk that carries the private key", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    await expectRefused(dpopCharge({ header: { jwk: privateKey.export({ format: "jwk" }) } }), "invalid_dpop_proof", /private or symmetric/);
  });

  it("check 7: refuses a symmetric jwk", async () => {
    await expectRefused(dpopCharge({ header: { jwk: { kty: "oct", k: base64url.encode("secret") } } }), "invalid_dpop_proof", /private or symmetric/);
  });

  it("check 8: refuses htm GET for a POST", async () => {
    await expectRefused(dpopCharge({ claims: { htm: "GET" } }), "invalid_dpop_proof", /htm does not match/);
  });

  it("check 8: refuses htm in lower case: methods are case-sensitive (RFC 9110 §9.1)", async () => {
    await expectRefused(dpopCharge({ claims: { htm: "post" } }), "invalid_dpop_proof", /htm does not match/);
  });

  it.each([
    ["another path of the same service", `${PUBLIC_URL}/charges/ch_1`],
    ["another origin", "https://attacker.example/charge"],
    ["http instead of https", "http://payments.example/charge"],
    ["the address the service listens at instead of PUBLIC_URL", undefined],
  ])("check 9: refuses htu naming %s", async (_name, htu) => {
    await expectRefused(dpopCharge({ claims: { htu: htu ?? `${service.url}/charge` } }), "invalid_dpop_proof", /htu does not match/);
  });

  it("check 11: refuses iat one second older than the window", async () => {
    await expectRefused(dpopCharge({ claims: { iat: clock.now / 1000 - 31 } }), "invalid_dpop_proof", /iat is too old/);
  });

  it("check 11: refuses iat one second beyond the leeway for clock skew", async () => {
    await expectRefused(dpopCharge({ claims: { iat: clock.now / 1000 + 6 } }), "invalid_dpop_proof", /iat is in the future/);
  });

  it("check 12: refuses a proof made for another access token (ath)", async () => {
    const token = await boundToken();
    const other = await boundToken();
    await expectRefused(charge(service, { authorization: `DPoP ${token}`, dpop: await proofFor(other) }), "invalid_dpop_proof", /ath is not the hash/);
  });

  it("replay (§11.1): refuses a proof seen before, and charges once", async () => {
    const token = await boundToken();
    const proof = await proofFor(token);
    expect((await charge(service, { authorization: `DPoP ${token}`, dpop: proof })).status).toBe(201);
    await expectRefused(charge(service, { authorization: `DPoP ${token}`, dpop: proof }), "invalid_dpop_proof", /jti was used before/);
  });
});

describe("the binding of token and key (RFC 9449 §6.1, §7, §7.2)", () => {
  it("refuses a stolen DPoP-bound token replayed as Bearer, with a DPoP challenge", async () => {
    await expectRefused(charge(service, { authorization: `Bearer ${await boundToken()}` }), "invalid_token");
  });

  it("refuses a stolen DPoP-bound token replayed with a proof of another key: invalid_token", async () => {
    const thief = await proofKey();
    await expectRefused(dpopCharge({}, { signer: thief }), "invalid_token");
  });

  it("refuses an unbound token sent with the DPoP scheme, even with a valid proof", async () => {
    const token = await auth.token();
    await expectRefused(charge(service, { authorization: `DPoP ${token}`, dpop: await proofFor(token) }), "invalid_token");
  });

  it("refuses a token confirmed by anything but jkt (an mTLS certificate thumbprint): it cannot be checked here", async () => {
    const token = await auth.token({ cnf: { "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" } });
    const res = await charge(service, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_token");
  });
});

describe("DPOP_MODE", () => {
  let required: TestService;
  let off: TestService;
  beforeAll(async () => {
    required = await startService(auth, { env: { DPOP_MODE: "required", PUBLIC_URL } });
    off = await startService(auth, { env: { DPOP_MODE: "off" } });
  });
  afterAll(async () => {
    await required?.running.close();
    await off?.running.close();
  });

  it("required: refuses a Bearer token with the bare DPoP challenge, as an unsupported scheme (RFC 6750 §3.1)", async () => {
    const res = await charge(required, { authorization: `Bearer ${await auth.token()}` });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/^DPoP realm="payment-service", algs="[^"]*ES256[^"]*"$/);
  });

  it("required: answers a request without credentials with the DPoP challenge and its algs (RFC 9449 §7.1)", async () => {
    const res = await charge(required, {});
    expect(res.headers["www-authenticate"]).toMatch(/^DPoP realm="payment-service", algs="/);
  });

  it("required: charges with a DPoP-bound token and its proof", async () => {
    const token = await boundToken();
    expect((await charge(required, { authorization: `DPoP ${token}`, dpop: await signProof({ key, htu: HTU, accessToken: token, nowMs: Date.now() }) })).status).toBe(201);
  });

  it("allowed: a request without credentials still gets the Bearer challenge of the contract", async () => {
    const res = await charge(service, {});
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="payment-service"');
  });

  it("off: the DPoP scheme is not taken, and a DPoP-bound token is refused as Bearer, with Bearer challenges", async () => {
    const token = await boundToken();
    const dpop = await charge(off, { authorization: `DPoP ${token}`, dpop: await signProof({ key, htu: `${off.url}/charge`, accessToken: token, nowMs: Date.now() }) });
    expect(dpop.status).toBe(401);
    expect(dpop.headers["www-authenticate"]).toBe('Bearer realm="payment-service"');
    const bearer = await charge(off, { authorization: `Bearer ${token}` });
    expect(bearer.status).toBe(401);
    expect(bearer.headers["www-authenticate"]).toMatch(/^Bearer realm="payment-service", error="invalid_token"/);
  });
});

describe("the origin htu is checked against, without PUBLIC_URL", () => {
  let plain: TestService;
  let proxied: TestService;
  beforeAll(async () => {
    plain = await startService(auth);
    proxied = await startService(auth, { env: { TRUST_PROXY: "loopback" } });
  });
  afterAll(async () => {
    await plain?.running.close();
    await proxied?.running.close();
  });

  it("is http:// and the Host header, for development (as express-oauth2-jwt-bearer does)", async () => {
    const token = await boundToken();
    const res = await charge(plain, { authorization: `DPoP ${token}`, host: "payments.local:8080", dpop: await signProof({ key, htu: "http://payments.local:8080/charge", accessToken: token, nowMs: Date.now() }) });
    expect(res.status).toBe(201);
  });

  it("ignores X-Forwarded-Proto and X-Forwarded-Host unless the proxy is trusted", async () => {
    const token = await boundToken();
    const forwarded = { "x-forwarded-proto": "https", "x-forwarded-host": "payments.example" };
    const proof = () => signProof({ key, htu: "https://payments.example/charge", accessToken: token, nowMs: Date.now() });
    const untrusted = await charge(plain, { authorization: `DPoP ${token}`, ...forwarded, dpop: await proof() });
    expect(untrusted.status).toBe(401);
    expect(plain.events("token.rejected").at(-1)?.reason).toMatch(/htu does not match/);
    expect((await charge(proxied, { authorization: `DPoP ${token}`, ...forwarded, dpop: await proof() })).status).toBe(201);
  });
});

describe("server nonces at the resource server (RFC 9449 §9)", () => {
  let nonced: TestService;
  const nonceClock = { now: Date.now() };
  beforeAll(async () => {
    nonced = await startService(auth, { env: { PUBLIC_URL, DPOP_NONCE_REQUIRED: "true" }, clock: () => nonceClock.now });
  });
  afterAll(async () => {
    await nonced?.running.close();
  });

  const withNonce = async (token: string, nonce: string | undefined) =>
    charge(nonced, { authorization: `DPoP ${token}`, dpop: await signProof({ key, htu: HTU, accessToken: token, nowMs: nonceClock.now }, { claims: { nonce } }) });

  it("answers a proof without a nonce with 401 use_dpop_nonce and DPoP-Nonce; the retry with it charges, and carries a fresh one", async () => {
    const token = await boundToken();
    const first = await withNonce(token, undefined);
    expect(first.status).toBe(401);
    expect(first.headers["www-authenticate"]).toMatch(/^DPoP realm="payment-service", error="use_dpop_nonce", error_description="[^"]+", algs="/);
    const nonce = first.headers["dpop-nonce"] as string;
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const retry = await withNonce(token, nonce);
    expect(retry.status).toBe(201);
    expect(retry.headers["dpop-nonce"]).toBe(nonce);
  });

  it("gives a stale nonce a new one, and exactly one retry succeeds", async () => {
    const token = await boundToken();
    const stale = (await withNonce(token, undefined)).headers["dpop-nonce"] as string;
    nonceClock.now += 125_000;
    const refused = await withNonce(token, stale);
    expect(refused.body.error).toBe("use_dpop_nonce");
    const fresh = refused.headers["dpop-nonce"] as string;
    expect(fresh).not.toBe(stale);
    // the token was minted on the real clock: keep this test's clock within its lifetime
    expect((await withNonce(token, fresh)).status).toBe(201);
  });
});
