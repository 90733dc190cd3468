import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDPoPVerifier, type DPoPVerifier } from "./dpop.js";
import { requireAccessToken } from "./express.js";
import { createVerifier, type TokenVerifier } from "./index.js";
import { proofKey, signProof, type ProofKey, type ProofParts } from "@m2m/test-support";
import { FakeClock, FakeIssuer } from "./testing/fake-issuer.js";

// requireAccessToken with DPoP (RFC 9449 §7), over HTTP on 127.0.0.1: which
// requests it hands to the DPoP checks, the method and URI it checks the
// proof's htm and htu against (the configured public origin, or the
// request's own), and the nonce it sends back (§8.2).

const PUBLIC_URL = "https://payments.example";
const realm = "payment-service";
const clock = new FakeClock();
let issuer: FakeIssuer;
let verifier: TokenVerifier;
let key: ProofKey;
let withNonce: DPoPVerifier;
let server: Server;
let base: string;

const render: ErrorRequestHandler = (error, _req, res, _next) => {
  if (error?.expose === true) {
    if (error.headers) res.set(error.headers);
    res.status(error.status).json(error.toJSON());
  } else {
    res.status(500).json({ error: "server_error" });
  }
};
const ok: RequestHandler = (_req, res) => {
  res.status(201).json({ client: (res.locals.auth as { client_id: string }).client_id });
};

beforeAll(async () => {
  [issuer, key] = await Promise.all([FakeIssuer.start(), proofKey("ES256")]);
  verifier = createVerifier({ issuer: issuer.issuer, audience: "payment-service", clock: clock.now });
  withNonce = createDPoPVerifier({ publicUrl: PUBLIC_URL, requireNonce: true, clock: clock.now });
  const app = express();
  // behind a proxy at PUBLIC_URL, with nonces
  app.post("/charge", requireAccessToken(verifier, { realm, dpop: withNonce }), ok);
  // reached directly: htu is this server's own origin
  app.all("/direct", requireAccessToken(verifier, { realm, dpop: createDPoPVerifier({ clock: clock.now }) }), ok);
  app.post("/off", requireAccessToken(verifier, { realm, dpop: createDPoPVerifier({ mode: "off", requireNonce: true, clock: clock.now }) }), ok);
  app.use(render);
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await issuer.close();
});

const boundToken = () => issuer.mint({ nowSec: clock.sec, claims: { cnf: { jkt: key.jkt } } });
const proof = (token: string, htu: string, parts: ProofParts & { method?: string } = {}) =>
  signProof({ key, htu, accessToken: token, nowMs: clock.ms, ...(parts.method ? { method: parts.method } : {}) }, parts);

function call(path: string, headers: Record<string, string>, method = "POST"): Promise<Response> {
  return fetch(`${base}${path}`, { method, headers });
}

describe("requireAccessToken with DPoP", () => {
  it("takes a bound token with a proof for the public origin and the path, whatever the query, and sends the next nonce", async () => {
    const token = await boundToken();
    const res = await call("/charge?note=1", { authorization: `DPoP ${token}`, dpop: await proof(token, `${PUBLIC_URL}/charge`, { claims: { nonce: withNonce.nonce() } }) });
    expect(res.status).toBe(201);
    expect(res.headers.get("dpop-nonce")).toBe(withNonce.nonce());
  });

  it("refuses there a proof for the server's own origin, which a client behind the proxy never sees", async () => {
    const token = await boundToken();
    const res = await call("/charge", { authorization: `DPoP ${token}`, dpop: await proof(token, `${base}/charge`, { claims: { nonce: withNonce.nonce() } }) });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(
      `DPoP realm="${realm}", error="invalid_dpop_proof", error_description="the DPoP proof is not valid for this request", algs="${withNonce.algorithms.join(" ")}"`,
    );
  });

  it("asks for a nonce with use_dpop_nonce and DPoP-Nonce", async () => {
    const token = await boundToken();
    const res = await call("/charge", { authorization: `DPoP ${token}`, dpop: await proof(token, `${PUBLIC_URL}/charge`) });
    expect(res.status).toBe(401);
    expect(res.headers.get("dpop-nonce")).toBe(withNonce.nonce());
    expect(await res.json()).toEqual({ error: "use_dpop_nonce", error_description: "the resource server requires a nonce in the DPoP proof" });
  });

  it("sends no nonce with the answer to a Bearer request", async () => {
    const res = await call("/charge", { authorization: `Bearer ${await issuer.mint({ nowSec: clock.sec })}` });
    expect(res.status).toBe(201);
    expect(res.headers.get("dpop-nonce")).toBeNull();
  });

  it("without a public origin, checks htu against the request's protocol and Host, not a forwarded one it does not trust", async () => {
    const token = await boundToken();
    const own = await call("/direct?x=y", { authorization: `dpop ${token}`, dpop: await proof(token, `${base}/direct`) });
    expect(own.status).toBe(201);
    expect(own.headers.get("dpop-nonce")).toBeNull();
    const forwarded = await call("/direct", {
      authorization: `DPoP ${token}`,
      "x-forwarded-proto": "https",
      "x-forwarded-host": "payments.example",
      dpop: await proof(token, `${PUBLIC_URL}/direct`),
    });
    expect(forwarded.status).toBe(401);
    expect(((await forwarded.json()) as { error: string }).error).toBe("invalid_dpop_proof");
  });

  it("checks htm against the request's method", async () => {
    const token = await boundToken();
    expect((await call("/direct", { authorization: `DPoP ${token}`, dpop: await proof(token, `${base}/direct`, { method: "PUT" }) }, "PUT")).status).toBe(201);
    const other = await call("/direct", { authorization: `DPoP ${token}`, dpop: await proof(token, `${base}/direct`, { method: "POST" }) }, "PUT");
    expect(other.status).toBe(401);
    expect(((await other.json()) as { error: string }).error).toBe("invalid_dpop_proof");
  });

  it("refuses two DPoP header fields (RFC 9449 §4.3 check 1)", async () => {
    const token = await boundToken();
    const headers = new Headers({ authorization: `DPoP ${token}` });
    headers.append("dpop", await proof(token, `${base}/direct`));
    headers.append("dpop", await proof(token, `${base}/direct`));
    const res = await fetch(`${base}/direct`, { method: "POST", headers });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_dpop_proof");
  });

  it("where DPoP is off, does not take the DPoP scheme and sends no nonce", async () => {
    const token = await boundToken();
    const res = await call("/off", { authorization: `DPoP ${token}`, dpop: await proof(token, `${base}/off`) });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer realm="${realm}"`);
    expect(res.headers.get("dpop-nonce")).toBeNull();
  });

  it("reads the DPoP fields of a request whose Authorization field has whitespace before the scheme", async () => {
    // Node trims header values, so this is the middleware called as another server might call it
    const token = await boundToken();
    const guard = requireAccessToken(verifier, { realm, dpop: createDPoPVerifier({ publicUrl: PUBLIC_URL, clock: clock.now }) });
    const request = {
      method: "POST",
      url: "/direct",
      originalUrl: "/direct",
      rawHeaders: ["Authorization", ` \tDPoP ${token}`, "DPoP", await proof(token, `${PUBLIC_URL}/direct`)],
    };
    const res = { locals: {} as Record<string, unknown>, set: () => res };
    const error = await new Promise((resolve) => guard(request as never, res as never, resolve));
    expect(error).toBeUndefined();
    expect(res.locals.auth).toMatchObject({ cnf: { jkt: key.jkt } });
  });
});
