import { createHmac, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEVELOPMENT_REGISTRY, hashSecret } from "@m2m/token-issuer";
import { base64url, decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proofKey, rawJws, signProof, type ProofKey, type ProofParts } from "@m2m/test-support";
import { basic, ORDER_SERVICE, postForm, postFormFrom, send, startTestServer, tempDir, type Reply, type TestServer } from "./support.js";

// RFC 9449 at the token endpoint: every check of §4.3 refuses on its own, with
// the one answer RFC 9449 names and the reason in the log; a valid proof gets
// a DPoP-bound token (§5, §6.1); nonces (§8); the registry flag (§5.2).

const grant = { grant_type: "client_credentials", scope: "charge:customer" };

let server: TestServer; // nonces not required: each proof check alone
let nonceServer: TestServer; // as deployed by default: nonces required
let key: ProofKey;
let tokenUrl: string;

beforeAll(async () => {
  const clients = join(tempDir(), "clients.json");
  writeFileSync(
    clients,
    JSON.stringify({
      ...DEVELOPMENT_REGISTRY,
      clients: [
        ...DEVELOPMENT_REGISTRY.clients,
        {
          client_id: "bound-service",
          client_secret_hash: await hashSecret("bound-secret"),
          scopes: ["charge:customer"],
          audiences: ["payment-service"],
          dpop_bound_access_tokens: true,
        },
      ],
    }),
  );
  server = await startTestServer({ DPOP_NONCE_REQUIRED: "false", CLIENTS_FILE: clients });
  nonceServer = await startTestServer();
  key = await proofKey();
  tokenUrl = `${server.url}/token`;
});
afterAll(async () => {
  await server?.dispose();
  await nonceServer?.dispose();
});

/** `server`'s token endpoint as its metadata names it: what `htu` must say. */
const endpoint = () => `${server.issuer.tokenEndpoint}`;
const proof = (parts: ProofParts = {}, with_: ProofKey = key) => signProof({ key: with_, htu: endpoint(), nowMs: server.clock.now }, parts);
const ask = (dpop: string | string[], authorization = ORDER_SERVICE) => postFormFrom("127.0.0.1", tokenUrl, grant, { authorization, dpop });

/** The last `token.refused` line's reason, written for the operator; the client never sees it. */
function refusedReason(on: TestServer): unknown {
  return on.logs.filter((line) => line.msg === "token.refused").at(-1)?.reason;
}

function expectInvalidProof(res: Reply, reason: RegExp, on: TestServer = server): void {
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ error: "invalid_dpop_proof", error_description: "the DPoP proof is not valid for this request" });
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(refusedReason(on)).toMatch(reason);
}

describe("a valid proof at POST /token (RFC 9449 §5)", () => {
  it("gets token_type DPoP and a token bound to the proof's key by cnf.jkt, the RFC 7638 thumbprint", async () => {
    const res = await ask(await proof());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: "DPoP", expires_in: 300, scope: "charge:customer" });
    expect(decodeJwt(res.body.access_token).cnf).toEqual({ jkt: key.jkt });
    const issued = server.logs.filter((line) => line.msg === "token.issued").at(-1)!;
    expect(issued.dpop).toEqual({ jkt: key.jkt, alg: "ES256" });
    expect(issued.checks).toEqual(expect.arrayContaining([`DPoP proof verified (ES256, jkt ${key.jkt})`, "DPoP proof jti not seen before"]));
  });

  it("introspection returns the token's cnf and token_type DPoP (RFC 9449 §6.2)", async () => {
    const { access_token } = (await ask(await proof())).body;
    const res = await postForm(`${server.url}/introspect`, { token: access_token }, { authorization: ORDER_SERVICE });
    expect(res.body).toMatchObject({ active: true, token_type: "DPoP", cnf: { jkt: key.jkt } });
  });

  it("without a proof the answer is Bearer, as before, and the token has no cnf", async () => {
    const res = await postForm(tokenUrl, grant, { authorization: ORDER_SERVICE });
    expect(res.body.token_type).toBe("Bearer");
    expect(decodeJwt(res.body.access_token).cnf).toBeUndefined();
    expect(res.headers.get("dpop-nonce")).toBeNull();
  });

  it.each(["ES256", "PS256", "RS256", "EdDSA"])("takes a proof signed with %s", async (alg) => {
    const other = await proofKey(alg);
    const res = await ask(await proof({}, other));
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).cnf).toEqual({ jkt: other.jkt });
  });

  it.each([
    ["with a query and a fragment", (u: URL) => `${u.href}?a=b#c`],
    ["with the scheme and host in upper case", (u: URL) => u.href.replace("http://", "HTTP://").replace(u.hostname, u.hostname.toUpperCase())],
    ["with the default port", (u: URL) => u.href.replace(u.host, `${u.hostname}:80`)],
    ["with an unreserved character percent-encoded", (u: URL) => u.href.replace(/token$/, "%74oken")],
  ])("matches htu %s, after RFC 3986 §6.2.2 and §6.2.3 normalisation", async (_name, variant) => {
    const res = await ask(await proof({ claims: { htu: variant(new URL(endpoint())) } }));
    expect(res.status).toBe(200);
  });

  it("announces the proof algorithms in the metadata (RFC 9449 §5.1)", async () => {
    const res = await send(`${server.url}/.well-known/oauth-authorization-server`);
    expect(res.body.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(["ES256", "PS256", "RS256", "EdDSA"]));
    expect(res.body.dpop_signing_alg_values_supported).not.toContain("none");
    expect(res.body.dpop_signing_alg_values_supported.some((alg: string) => alg.startsWith("HS"))).toBe(false);
  });

  it("takes iat at both edges of the window: 60 s old, and 5 s ahead of the server's clock", async () => {
    server.clock.now = Math.floor(server.clock.now / 1000) * 1000; // on a whole second, so the edges are exact
    const now = server.clock.now / 1000;
    expect((await ask(await proof({ claims: { iat: now - 60 } }))).status).toBe(200);
    expect((await ask(await proof({ claims: { iat: now + 5 } }))).status).toBe(200);
  });
});

describe("RFC 9449 §4.3: each check refuses on its own with 400 invalid_dpop_proof", () => {
  it("check 1: refuses two DPoP header fields", async () => {
    expectInvalidProof(await ask([await proof(), await proof()]), /more than one DPoP header/);
  });

  it("check 2: refuses a DPoP header that is not a JWT", async () => {
    expectInvalidProof(await ask("not-a-jwt"), /not a compact JWS/);
  });

  it("check 2: refuses a proof over 4 KiB before parsing it", async () => {
    expectInvalidProof(await ask(await proof({ claims: { padding: "x".repeat(4096) } })), /too large/);
  });

  it("check 2: refuses a JWS whose header is not JSON", async () => {
    const [, payload, signature] = (await proof()).split(".");
    expectInvalidProof(await ask(`${base64url.encode("not json")}.${payload}.${signature}`), /header is not a JSON object/);
  });

  it("check 2: refuses a JWE or any other number of parts", async () => {
    expectInvalidProof(await ask(`${await proof()}.extra.parts`), /not a compact JWS/);
  });

  it.each(["jti", "htm", "htu", "iat"])("check 3: refuses a proof without %s", async (claim) => {
    expectInvalidProof(await ask(await proof({ claims: { [claim]: undefined } })), new RegExp(`${claim} is missing`));
  });

  it("check 3: refuses an iat that is not a NumericDate", async () => {
    expectInvalidProof(await ask(await proof({ claims: { iat: "now" } })), /iat/);
  });

  it("check 3: refuses a jti too long to be an identifier", async () => {
    expectInvalidProof(await ask(await proof({ claims: { jti: "j".repeat(257) } })), /jti is missing or not a short string/);
  });

  it.each([["JWT"], ["at+jwt"], ["application/dpop+jwt"], [undefined]])("check 4: refuses typ %j", async (typ) => {
    expectInvalidProof(await ask(await proof({ header: { typ } })), /typ is not dpop\+jwt/);
  });

  it("check 5: refuses alg none", async () => {
    const unsigned = rawJws({ typ: "dpop+jwt", alg: "none", jwk: key.jwk }, { jti: randomUUID(), htm: "POST", htu: endpoint(), iat: Math.floor(server.clock.now / 1000) });
    expectInvalidProof(await ask(unsigned), /alg is not an allowed asymmetric algorithm/);
  });

  it("check 5: refuses HS256, even keyed with the public key it carries", async () => {
    const header = { typ: "dpop+jwt", alg: "HS256", jwk: key.jwk };
    const claims = { jti: randomUUID(), htm: "POST", htu: endpoint(), iat: Math.floor(server.clock.now / 1000) };
    const input = rawJws(header, claims).slice(0, -1);
    const mac = createHmac("sha256", JSON.stringify(key.jwk)).update(input).digest("base64url");
    expectInvalidProof(await ask(`${input}.${mac}`), /alg is not an allowed asymmetric algorithm/);
  });

  it("check 6: refuses a proof signed by another key than the jwk it carries", async () => {
    const thief = await proofKey();
    expectInvalidProof(await ask(await proof({ header: { jwk: key.jwk } }, thief)), /signature does not verify/);
  });

  it("check 6: refuses a proof whose claims were changed after signing", async () => {
    const [header, , signature] = (await proof()).split(".");
    const claims = { jti: randomUUID(), htm: "POST", htu: endpoint(), iat: Math.floor(server.clock.now / 1000) };
    expectInvalidProof(await ask(`${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`), /signature does not verify/);
  });

  it("check 6: refuses a proof without a jwk", async () => {
    expectInvalidProof(await ask(await proof({ header: { jwk: undefined } })), /no jwk/);
  });

  it("check 6: refuses a jwk of another key type than alg needs", async () => {
    const rsa = await proofKey("RS256");
    expectInvalidProof(await ask(await proof({ header: { alg: "ES256", jwk: rsa.jwk } })), /cannot verify/);
  });

  it("check 6: refuses an RSA key shorter than 2048 bits", async () => {
    // signed by hand: jose will not sign with such a key either
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const header = { typ: "dpop+jwt", alg: "RS256", jwk: weak.publicKey.export({ format: "jwk" }) };
    const input = rawJws(header, { jti: randomUUID(), htm: "POST", htu: endpoint(), iat: Math.floor(server.clock.now / 1000) }).slice(0, -1);
    const signature = sign("sha256", Buffer.from(input), weak.privateKey).toString("base64url");
    expectInvalidProof(await ask(`${input}.${signature}`), /cannot verify/);
  });

  it("check 7: refuses a jwk that carries the private key", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const privateJwk = privateKey.export({ format: "jwk" });
    expectInvalidProof(await ask(await proof({ header: { jwk: privateJwk } })), /private or symmetric key material/);
  });

  it("check 7: refuses a symmetric jwk", async () => {
    expectInvalidProof(await ask(await proof({ header: { jwk: { kty: "oct", k: base64url.encode("secret") } } })), /private or symmetric key material/);
  });

  it("check 7: refuses a jwk published for another algorithm", async () => {
    expectInvalidProof(await ask(await proof({ header: { jwk: { ...key.jwk, alg: "ES384" } } })), /jwk is for another alg/);
  });

  it.each(["GET", "post", "PUT"])("check 8: refuses htm %s for a POST", async (htm) => {
    expectInvalidProof(await ask(await proof({ claims: { htm } })), /htm does not match/);
  });

  it.each([
    ["another endpoint of the same server", (u: URL) => u.href.replace(/token$/, "introspect")],
    ["another origin", (u: URL) => u.href.replace(u.hostname, "attacker.test")],
    ["another scheme", (u: URL) => u.href.replace("http://", "https://")],
    ["another port", (u: URL) => u.href.replace(u.host, `${u.hostname}:4443`)],
    ["a relative reference", () => "/token"],
    ["the URL this server was reached at instead of its issuer", () => tokenUrl],
  ])("check 9: refuses htu naming %s", async (_name, variant) => {
    expectInvalidProof(await ask(await proof({ claims: { htu: variant(new URL(endpoint())) } })), /htu does not match/);
  });

  it("check 11: refuses iat one second older than the window", async () => {
    expectInvalidProof(await ask(await proof({ claims: { iat: Math.floor(server.clock.now / 1000) - 61 } })), /iat is too old/);
  });

  it("check 11: refuses iat one second beyond the leeway for clock skew", async () => {
    expectInvalidProof(await ask(await proof({ claims: { iat: Math.floor(server.clock.now / 1000) + 6 } })), /iat is in the future/);
  });

  it("refuses an expired proof when it has an exp", async () => {
    expectInvalidProof(await ask(await proof({ claims: { exp: Math.floor(server.clock.now / 1000) - 1 } })), /exp claim/);
  });

  it("replay (§11.1): refuses a jti this key used before, and the token is issued once", async () => {
    const once = await proof();
    expect((await ask(once)).status).toBe(200);
    expectInvalidProof(await ask(once), /jti was used before by this key/);
  });

  it("replay (§11.1): the same jti from another key is another proof", async () => {
    const jti = randomUUID();
    expect((await ask(await proof({ claims: { jti } }))).status).toBe(200);
    expect((await ask(await proof({ claims: { jti } }, await proofKey()))).status).toBe(200);
  });

  it("checks the proof only for an authenticated client: a bad proof with a wrong secret is invalid_client", async () => {
    const res = await ask("not-a-jwt", basic("order-service", "wrong"));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("invalid_client");
  });
});

describe("dpop_bound_access_tokens (RFC 9449 §5.2)", () => {
  const bound = basic("bound-service", "bound-secret");

  it("refuses a token request of a client registered with it that carries no proof", async () => {
    const res = await postForm(tokenUrl, grant, { authorization: bound });
    expectInvalidProof(res, /registered with dpop_bound_access_tokens/);
  });

  it("issues it a DPoP-bound token with a proof", async () => {
    const res = await ask(await proof(), bound);
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe("DPoP");
  });
});

describe("server nonces (RFC 9449 §8), required by default", () => {
  const nonceProof = async (nonce?: string, parts: { claims?: Record<string, unknown> } = {}) =>
    signProof({ key, htu: nonceServer.issuer.tokenEndpoint, nowMs: nonceServer.clock.now }, { claims: { nonce, ...parts.claims } });
  const askNonce = (dpop: string) => postFormFrom("127.0.0.1", `${nonceServer.url}/token`, grant, { authorization: ORDER_SERVICE, dpop });

  it("answers a proof without a nonce with 400 use_dpop_nonce and a DPoP-Nonce; the retry with it gets the token, and a fresh nonce", async () => {
    const first = await askNonce(await nonceProof());
    expect(first.status).toBe(400);
    expect(first.body).toEqual({ error: "use_dpop_nonce", error_description: "the authorization server requires a nonce in the DPoP proof" });
    const nonce = first.headers.get("dpop-nonce");
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const retry = await askNonce(await nonceProof(nonce!));
    expect(retry.status).toBe(200);
    expect(retry.body.token_type).toBe("DPoP");
    expect(retry.headers.get("dpop-nonce")).toBe(nonce);
  });

  it("gives a stale nonce a new one, and exactly one retry succeeds", async () => {
    const stale = (await askNonce(await nonceProof())).headers.get("dpop-nonce")!;
    nonceServer.clock.now += 125_000; // two steps of 60 s and more: the nonce is no longer current
    const refused = await askNonce(await nonceProof(stale));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("use_dpop_nonce");
    const fresh = refused.headers.get("dpop-nonce")!;
    expect(fresh).not.toBe(stale);
    expect((await askNonce(await nonceProof(fresh))).status).toBe(200);
  });

  it("refuses a nonce it never handed out", async () => {
    const forged = base64url.encode(new Uint8Array(32));
    const res = await askNonce(await nonceProof(forged));
    expect(res.body.error).toBe("use_dpop_nonce");
  });

  it("checks the proof before the nonce: a bad htu is invalid_dpop_proof whatever the nonce", async () => {
    const res = await askNonce(await nonceProof(undefined, { claims: { htu: "http://attacker.test/token" } }));
    expect(res.body.error).toBe("invalid_dpop_proof");
  });
});
