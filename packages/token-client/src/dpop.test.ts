import { createHash, generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import axios from "axios";
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  generateDPoPKey,
  importDPoPKey,
  InvalidResponseError,
  privateKeyJwt,
  clientSecretBasic,
  TokenClient,
  TokenRequestError,
  withBearerToken,
  type DPoPKey,
} from "./index.js";
import { oauthError, recordingListeners, startFakeAuthServer, type FakeAuthServer, type Responder } from "./testing/fake-auth-server.js";

// The client's side of RFC 9449: a fresh proof for each token request and each
// resource call, one retry when a server asks for its nonce and never more,
// DPoP-bound tokens sent with the DPoP scheme.

/** A token endpoint that binds: `token_type: DPoP`, with the nonce a test gives it required first when `nonce` is set. */
const bind =
  (options: { nonce?: string; tokenType?: string } = {}): Responder =>
  (request, index) => {
    const proof = String(request.headers.dpop ?? "");
    if (options.nonce !== undefined && decodeJwt(proof).nonce !== options.nonce) return oauthError(400, "use_dpop_nonce", { "dpop-nonce": options.nonce });
    return { status: 200, body: { access_token: `dpop-tok-${index + 1}`, token_type: options.tokenType ?? "DPoP", expires_in: 300 } };
  };

let as: FakeAuthServer;
let key: DPoPKey;
beforeEach(async () => {
  as = await startFakeAuthServer();
  key = await generateDPoPKey();
});
afterEach(() => as.close());

const client = (options: Partial<ConstructorParameters<typeof TokenClient>[0]> = {}) =>
  new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: clientSecretBasic("super-secret"), dpop: key, retry: { maxAttempts: 1 }, ...options });

describe("DPoPKey: the proofs (RFC 9449 §4.2)", () => {
  it("is a dpop+jwt signed by the key it carries, public members only, for htm and htu without query and fragment", async () => {
    const proof = await key.proof({ htm: "POST", htu: "https://as.example/token?x=1#y" });
    const header = decodeProtectedHeader(proof);
    expect(header).toEqual({ typ: "dpop+jwt", alg: "ES256", jwk: { kty: "EC", crv: "P-256", x: expect.any(String), y: expect.any(String) } });
    expect(await calculateJwkThumbprint(header.jwk!)).toBe(key.jkt);
    const claims = decodeJwt(proof);
    expect(claims).toEqual({ jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), htm: "POST", htu: "https://as.example/token", iat: expect.any(Number) });
  });

  it("gives every proof its own jti, and binds one to a token by ath", async () => {
    const a = decodeJwt(await key.proof({ htm: "GET", htu: "https://rs.example/x", accessToken: "tok" }));
    const b = decodeJwt(await key.proof({ htm: "GET", htu: "https://rs.example/x", accessToken: "tok" }));
    expect(a.jti).not.toBe(b.jti);
    // RFC 9449 §4.2: base64url of the SHA-256 of the token's ASCII
    expect(a.ath).toBe(createHash("sha256").update("tok").digest("base64url"));
  });

  it("carries the nonce last remembered for the origin, and only there", async () => {
    key.rememberNonce("https://as.example/token", "n-1");
    expect(decodeJwt(await key.proof({ htm: "POST", htu: "https://as.example/other" })).nonce).toBe("n-1");
    expect(decodeJwt(await key.proof({ htm: "POST", htu: "https://rs.example/charge" })).nonce).toBeUndefined();
  });

  it("imports a configured key, PEM or JWK, and refuses a public key or a symmetric algorithm", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const fromPem = await importDPoPKey(privateKey.export({ type: "pkcs8", format: "pem" }) as string);
    const fromJwk = await importDPoPKey(JSON.stringify(privateKey.export({ format: "jwk" })));
    expect(fromPem.jkt).toBe(fromJwk.jkt);
    expect(fromPem.alg).toBe("ES256");
    await expect(importDPoPKey(publicKey)).rejects.toThrow(/not a private key/);
    await expect(importDPoPKey(privateKey, { alg: "HS256" })).rejects.toThrow(/unsupported algorithm/);
  });

  it("shows its algorithm and thumbprint when logged, never the key", () => {
    expect(inspect(key)).toBe(`DPoPKey { alg: ES256, jkt: ${key.jkt} }`);
    expect(JSON.stringify(key)).toBe(JSON.stringify({ alg: "ES256", jkt: key.jkt }));
  });
});

describe("TokenClient with dpop (RFC 9449 §5, §8)", () => {
  it("sends a proof for the token endpoint and takes a DPoP-bound token", async () => {
    as.respond(bind());
    const token = await client().getToken({ audience: "payment-service" });
    expect(token.tokenType).toBe("DPoP");
    const proof = String(as.tokenRequests[0]!.headers.dpop);
    expect(decodeJwt(proof)).toMatchObject({ htm: "POST", htu: `${as.url}/token` });
  });

  it("retries once with the nonce of a use_dpop_nonce answer, and says so", async () => {
    as.respond(bind({ nonce: "server-nonce" }));
    const { events, listeners } = recordingListeners();
    const token = await client(listeners).getToken({ audience: "payment-service" });
    expect(token.tokenType).toBe("DPoP");
    expect(as.tokenRequests).toHaveLength(2);
    expect(decodeJwt(String(as.tokenRequests[1]!.headers.dpop)).nonce).toBe("server-nonce");
    expect(events.at(-1)?.event.dpop).toEqual({ jkt: key.jkt, nonceRetried: true });
  });

  it("never loops on use_dpop_nonce: two requests, then the refusal", async () => {
    as.respond(() => oauthError(400, "use_dpop_nonce", { "dpop-nonce": `always-new-${Math.random()}` }));
    await expect(client().getToken()).rejects.toMatchObject({ code: "use_dpop_nonce" });
    expect(as.tokenRequests).toHaveLength(2);
  });

  it("keeps a nonce sent with a token for the next token request, which needs no retry", async () => {
    as.respond((request, index) => ({ ...(bind()(request, index) as object), headers: { "dpop-nonce": "next-nonce" } }) as never);
    const tokens = client();
    await tokens.getToken({ scope: "a" });
    await tokens.getToken({ scope: "b" });
    expect(decodeJwt(String(as.tokenRequests[1]!.headers.dpop)).nonce).toBe("next-nonce");
  });

  it("rebuilds a private_key_jwt assertion with a new jti for the nonce retry", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    as.respond(bind({ nonce: "n" }));
    await client({ clientAuth: privateKeyJwt(privateKey, { alg: "ES256" }) }).getToken();
    const [first, second] = as.tokenRequests.map((request) => decodeJwt(request.form.get("client_assertion")!).jti);
    expect(first).toBeDefined();
    expect(second).not.toBe(first);
  });

  it("refuses a Bearer token when it proved a key: it asked for a bound one", async () => {
    as.respond(bind({ tokenType: "Bearer" }));
    await expect(client().getToken()).rejects.toBeInstanceOf(InvalidResponseError);
  });

  it("refuses a DPoP token when it sent no proof", async () => {
    as.respond(bind());
    await expect(client({ dpop: undefined }).getToken()).rejects.toBeInstanceOf(InvalidResponseError);
  });

  it("treats invalid_dpop_proof as a refusal, not an outage: no retry", async () => {
    as.respond(() => oauthError(400, "invalid_dpop_proof"));
    await expect(client({ retry: { maxAttempts: 4 } }).getToken()).rejects.toBeInstanceOf(TokenRequestError);
    expect(as.tokenRequests).toHaveLength(1);
  });
});

/** A resource server that records what it was sent and answers as `decide` says. */
async function startResourceServer(decide: (headers: IncomingHttpHeaders, n: number) => { status: number; headers?: Record<string, string> }) {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    const { status, headers } = decide(req.headers, seen.length - 1);
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(status < 300 ? { ok: true } : { error: "nope" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const nonceChallenge = (nonce: string) => ({
  status: 401,
  headers: { "www-authenticate": 'DPoP realm="payment-service", error="use_dpop_nonce", algs="ES256"', "dpop-nonce": nonce },
});

describe("withBearerToken with a DPoP-bound token (RFC 9449 §7, §9)", () => {
  it("sends Authorization: DPoP and a proof for this request and token", async () => {
    as.respond(bind());
    const rs = await startResourceServer(() => ({ status: 201 }));
    const http = axios.create({ baseURL: rs.url });
    withBearerToken(http, client());
    await http.post("/charge?dry=1", {});
    const headers = rs.seen[0]!;
    expect(headers.authorization).toBe("DPoP dpop-tok-1");
    const claims = decodeJwt(String(headers.dpop));
    expect(claims).toMatchObject({ htm: "POST", htu: `${rs.url}/charge`, ath: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    await rs.close();
  });

  it("answers the resource server's nonce challenge with one retry carrying the nonce", async () => {
    as.respond(bind());
    const rs = await startResourceServer((headers) => (decodeJwt(String(headers.dpop)).nonce === "rs-nonce" ? { status: 201 } : nonceChallenge("rs-nonce")));
    const http = axios.create({ baseURL: rs.url });
    withBearerToken(http, client());
    expect((await http.post("/charge", {})).status).toBe(201);
    expect(rs.seen).toHaveLength(2);
    // the next call carries the nonce from the start
    await http.post("/charge", {});
    expect(rs.seen).toHaveLength(3);
    await rs.close();
  });

  it("never loops on use_dpop_nonce: one retry, then the 401 goes to the caller", async () => {
    as.respond(bind());
    const rs = await startResourceServer((_headers, n) => nonceChallenge(`nonce-${n}`));
    const http = axios.create({ baseURL: rs.url });
    withBearerToken(http, client());
    await expect(http.post("/charge", {})).rejects.toMatchObject({ response: { status: 401 } });
    expect(rs.seen).toHaveLength(2);
    await rs.close();
  });

  it("on a DPoP invalid_token challenge gets a new token, once", async () => {
    as.respond(bind());
    const rs = await startResourceServer((headers) =>
      headers.authorization === "DPoP dpop-tok-1" ? { status: 401, headers: { "www-authenticate": 'DPoP error="invalid_token", algs="ES256"' } } : { status: 201 },
    );
    const http = axios.create({ baseURL: rs.url });
    withBearerToken(http, client());
    expect((await http.post("/charge", {})).status).toBe(201);
    expect(rs.seen.map((headers) => headers.authorization)).toEqual(["DPoP dpop-tok-1", "DPoP dpop-tok-2"]);
    await rs.close();
  });
});
