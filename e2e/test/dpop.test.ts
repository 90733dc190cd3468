import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientSecretBasic, generateDPoPKey, TokenClient, withBearerToken } from "@m2m/token-client";
import axios from "axios";
import express, { type ErrorRequestHandler } from "express";
import { auth } from "express-oauth2-jwt-bearer";
import { calculateJwkThumbprint, decodeJwt, exportJWK } from "jose";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, spawnApp, stopApp, waitUntilReady, type RunningApp } from "../../scripts/stack.mjs";
import { basic, eventually, postJson, send, startTestStack, tokenRequest, type Stack } from "./support.js";

// DPoP (RFC 9449) through the three built apps as processes, and with
// implementations that are not ours: oauth4webapi as the client, and
// express-oauth2-jwt-bearer as the resource server.

let stack: Stack;
beforeAll(async () => {
  stack = await startTestStack({ "order-service": { CLIENT_DPOP: "true" } });
});
afterAll(async () => {
  await stack?.dispose();
});

const lines = (service: string, msg: string) => stack.logs.filter((line) => line.service === service && line.msg === msg);
const charge = () => ({ orderId: `ord_${randomUUID()}`, customerId: "cus_1", amount: 1299, currency: "EUR" });

describe("the flow with CLIENT_DPOP=true", () => {
  it("charges with a token bound to order-service's key, after one nonce round trip, every side logging the same jkt", async () => {
    const res = await postJson(`${stack.urls.order}/orders`, { customerId: "cus_1", amount: 1299, currency: "EUR" });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe("paid");
    const jkt = (lines("order-service", "service.started")[0]!.dpop as { jkt: string }).jkt;
    expect(lines("auth-server", "token.refused").map((line) => line.error)).toContain("use_dpop_nonce");
    expect(lines("order-service", "token.fetched").at(-1)!.dpop).toEqual({ jkt, nonce_retried: true });
    expect(lines("auth-server", "token.issued").at(-1)!.dpop).toEqual({ jkt, alg: "ES256" });
    expect((lines("auth-server", "token.issued").at(-1)!.claims as { cnf: unknown }).cnf).toEqual({ jkt });
    await eventually(async () => (lines("payment-service", "token.verified").length > 0 ? true : undefined));
    expect(lines("payment-service", "token.verified").at(-1)!.dpop).toEqual({ jkt, alg: "ES256" });
    expect(lines("order-service", "charge.requested").at(-1)).toMatchObject({ scheme: "DPoP", dpop_proof: true });
  });
});

describe("interoperability", () => {
  it("oauth4webapi gets a DPoP-bound token from auth-server (with its nonce) and charges with it at payment-service", async () => {
    const issuer = new URL(stack.urls.auth);
    const insecure = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...insecure }));
    expect(as.dpop_signing_alg_values_supported).toContain("ES256");
    const client: oauth.Client = { client_id: "order-service" };
    const keyPair = await oauth.generateKeyPair("ES256");
    const DPoP = oauth.DPoP(client, keyPair);
    const grant = () =>
      oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic("super-secret"), { scope: "charge:customer", resource: "https://payment.internal" }, { DPoP, ...insecure });
    let tokens: oauth.TokenEndpointResponse;
    try {
      tokens = await oauth.processClientCredentialsResponse(as, client, await grant());
    } catch (error) {
      // auth-server requires its nonce: oauth4webapi has remembered it, one retry
      expect(oauth.isDPoPNonceError(error)).toBe(true);
      tokens = await oauth.processClientCredentialsResponse(as, client, await grant());
    }
    expect(tokens.token_type).toBe("dpop");
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey)) });

    const call = () =>
      oauth.protectedResourceRequest(
        tokens.access_token,
        "POST",
        new URL(`${stack.urls.payment}/charge`),
        new Headers({ "content-type": "application/json", "idempotency-key": randomUUID() }),
        JSON.stringify(charge()),
        { DPoP, ...insecure },
      );
    const res = await call();
    expect(res.status).toBe(201);
    // the proof is not good twice: oauth4webapi makes a new one for the next call, which charges too
    expect((await call()).status).toBe(201);
  });

  it("express-oauth2-jwt-bearer, DPoP required, takes auth-server's token with a proof made by @m2m/token-client", async () => {
    const app = express();
    app.post("/charge", auth({ issuerBaseURL: stack.urls.auth, audience: "payment-service", dpop: { enabled: true, required: true } }), (req, res) => {
      res.status(201).json({ client_id: req.auth?.payload.client_id, cnf: req.auth?.payload.cnf });
    });
    const render: ErrorRequestHandler = (error, _req, res, _next) => {
      res.set(error.headers ?? {}).status(error.status ?? 500).json({ error: error.code ?? "server_error" });
    };
    app.use(render);
    const server: Server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const key = await generateDPoPKey();
      const tokens = new TokenClient({ issuer: stack.urls.auth, clientId: "order-service", clientAuth: clientSecretBasic("super-secret"), dpop: key });
      const http = axios.create({ baseURL: url });
      withBearerToken(http, tokens, { resource: "https://payment.internal", scope: "charge:customer" });
      const res = await http.post("/charge", {});
      expect(res.status).toBe(201);
      expect(res.data).toEqual({ client_id: "order-service", cnf: { jkt: key.jkt } });
      // and the same library refuses that token without its proof (its answer: 400, with a DPoP challenge)
      const { accessToken } = await tokens.getToken({ resource: "https://payment.internal", scope: "charge:customer" });
      const bare = await send(`${url}/charge`, { method: "POST", headers: { authorization: `Bearer ${accessToken}` } });
      expect(bare.status).toBe(400);
      expect(bare.headers.get("www-authenticate")).toMatch(/^DPoP /);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("two auth-server processes on one DATA_DIR and one DPOP_NONCE_SECRET", () => {
  let dataDir: string;
  let a: RunningApp;
  let b: RunningApp;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "m2m-e2e-dpop-"));
    const env = { ISSUER: "http://auth.test", DATA_DIR: dataDir, DPOP_NONCE_SECRET: "a secret both instances share, 32+ chars" };
    a = spawnApp("auth-server", { ...env, PORT: String(await freePort()) }, () => {});
    await waitUntilReady(`${a.url}/readyz`, a);
    // started once the first has written the signing key, so both sign with it
    b = spawnApp("auth-server", { ...env, PORT: String(await freePort()) }, () => {});
    await waitUntilReady(`${b.url}/readyz`, b);
  });
  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map((app) => stopApp(app)));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("accepts one instance's nonce at the other, and refuses there a proof the first has used (the jti store is the shared SQLite file)", async () => {
    const key = await generateDPoPKey();
    const ask = async (url: string, proof: string) =>
      tokenRequest(url, { grant_type: "client_credentials" }, { authorization: basic("order-service", "super-secret"), dpop: proof });
    const htu = "http://auth.test/token";
    const first = await ask(a.url, await key.proof({ htm: "POST", htu }));
    expect(first.body.error).toBe("use_dpop_nonce");
    key.rememberNonce(htu, first.headers.get("dpop-nonce")!);
    // a's nonce, at b
    expect((await ask(b.url, await key.proof({ htm: "POST", htu }))).status).toBe(200);
    // one proof: good at a, a replay at b
    const proof = await key.proof({ htm: "POST", htu });
    expect((await ask(a.url, proof)).status).toBe(200);
    const replay = await ask(b.url, proof);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_dpop_proof");
  });
});
