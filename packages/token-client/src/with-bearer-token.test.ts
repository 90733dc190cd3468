import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import axios, { isAxiosError } from "axios";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthServerUnavailableError, clientSecretBasic, TokenClient, TokenRequestError, withBearerToken } from "./index.js";
import { oauthError, startFakeAuthServer, type FakeAuthServer } from "./testing/fake-auth-server.js";

/** A resource server that answers as `decide` says and records the tokens it saw. */
async function startResourceServer(decide: (token: string | undefined, n: number) => { status: number; challenge?: string }) {
  const seen: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    const token = req.headers.authorization?.replace(/^Bearer /, "");
    seen.push(token);
    const { status, challenge } = decide(token, seen.length - 1);
    res.writeHead(status, { "content-type": "application/json", ...(challenge ? { "www-authenticate": challenge } : {}) });
    res.end(JSON.stringify(status < 300 ? { ok: true } : { error: "nope" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const invalidToken = 'Bearer realm="payment-service", error="invalid_token", error_description="signature"';

let as: FakeAuthServer;
let tokens: TokenClient;
beforeEach(async () => {
  as = await startFakeAuthServer();
  tokens = new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: clientSecretBasic("super-secret"), retry: { maxAttempts: 1 } });
});
afterEach(() => as.close());

describe("withBearerToken", () => {
  it("sends the cached token as a Bearer credential", async () => {
    const rs = await startResourceServer(() => ({ status: 200 }));
    const http = axios.create({ baseURL: rs.url });
    withBearerToken(http, tokens, { audience: "payment-service", scope: "charge:customer" });
    await http.post("/charge", {});
    await http.post("/charge", {});
    expect(rs.seen).toEqual(["tok-1", "tok-1"]);
    expect(as.tokenRequests).toHaveLength(1);
    await rs.close();
  });

  it("on 401 invalid_token drops the token, gets a new one and retries once", async () => {
    const rs = await startResourceServer((token) => (token === "tok-1" ? { status: 401, challenge: invalidToken } : { status: 200 }));
    const http = axios.create({ baseURL: rs.url });
    withBearerToken(http, tokens, { audience: "payment-service" });
    const res = await http.post("/charge", {});
    expect(res.status).toBe(200);
    expect(rs.seen).toEqual(["tok-1", "tok-2"]);
    expect(as.tokenRequests).toHaveLength(2);
    await rs.close();
  });

  it("never loops: a second 401 goes back to the caller", async () => {
    const rs = await startResourceServer(() => ({ status: 401, challenge: invalidToken }));
    const http = axios.create({ baseURL: rs.url });
    withBearerToken(http, tokens, { audience: "payment-service" });
    const error = await http.post("/charge", {}).catch((e: unknown) => e);
    expect(isAxiosError(error) && error.response?.status).toBe(401);
    expect(rs.seen).toEqual(["tok-1", "tok-2"]);
    expect(as.tokenRequests).toHaveLength(2);
    await rs.close();
  });

  it.each([
    ["a 401 without invalid_token", { status: 401, challenge: 'Bearer realm="payment-service"' }],
    ["a 403 insufficient_scope", { status: 403, challenge: 'Bearer error="insufficient_scope", scope="charge:customer"' }],
    ["a 500", { status: 500 }],
  ])("does not retry %s", async (_name, answer) => {
    const rs = await startResourceServer(() => answer);
    const http = axios.create({ baseURL: rs.url });
    withBearerToken(http, tokens, { audience: "payment-service" });
    const error = await http.post("/charge", {}).catch((e: unknown) => e);
    expect(isAxiosError(error) && error.response?.status).toBe(answer.status);
    expect(rs.seen).toHaveLength(1);
    expect(as.tokenRequests).toHaveLength(1);
    await rs.close();
  });

  it("passes token errors through as they are, without calling the resource server", async () => {
    const rs = await startResourceServer(() => ({ status: 200 }));
    const http = axios.create({ baseURL: rs.url });
    withBearerToken(http, tokens, { audience: "payment-service" });

    as.respond(() => oauthError(401, "invalid_client"));
    await expect(http.post("/charge", {})).rejects.toBeInstanceOf(TokenRequestError);
    as.respond(() => ({ status: 503 }));
    await expect(http.post("/charge", {})).rejects.toBeInstanceOf(AuthServerUnavailableError);
    expect(rs.seen).toHaveLength(0);
    await rs.close();
  });

  it("stops sending the token once the function it returns is called", async () => {
    const rs = await startResourceServer(() => ({ status: 200 }));
    const http = axios.create({ baseURL: rs.url });
    const remove = withBearerToken(http, tokens, { audience: "payment-service" });
    await http.post("/charge", {});
    remove();
    await http.post("/charge", {});
    expect(rs.seen).toEqual(["tok-1", undefined]);
    expect(as.tokenRequests).toHaveLength(1);
    await rs.close();
  });

  it("refuses to send the token to another origin than the instance's baseURL", async () => {
    const rs = await startResourceServer(() => ({ status: 200 }));
    const other = await startResourceServer(() => ({ status: 200 }));
    const http = axios.create({ baseURL: rs.url });
    withBearerToken(http, tokens, { audience: "payment-service" });
    await expect(http.post(`${other.url}/steal`, {})).rejects.toThrow(/refusing to send a bearer token/);
    expect(other.seen).toHaveLength(0);
    await Promise.all([rs.close(), other.close()]);
  });
});
