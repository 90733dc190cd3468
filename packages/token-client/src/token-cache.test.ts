import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fingerprint } from "./fingerprint.js";
import { clientSecretBasic, TokenClient, TokenRequestError, type TokenClientOptions } from "./index.js";
import { gate, issue, manualClock, oauthError, recordingListeners, startFakeAuthServer, type FakeAuthServer } from "./testing/fake-auth-server.js";

let as: FakeAuthServer;
beforeEach(async () => {
  as = await startFakeAuthServer();
});
afterEach(() => as.close());

const client = (options: Partial<TokenClientOptions> = {}) =>
  new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: clientSecretBasic("super-secret"), ...options });

describe("the token cache", () => {
  it("asks the discovered token endpoint once and serves the same token to later calls", async () => {
    const tokens = client();
    const first = await tokens.getToken({ audience: "payment-service", scope: "charge:customer" });
    const second = await tokens.getToken({ audience: "payment-service", scope: "charge:customer" });

    expect(first.accessToken).toBe("tok-1");
    expect(second).toBe(first);
    expect(as.tokenRequests).toHaveLength(1);
    expect(as.metadataRequests).toBe(1);
    const form = as.tokenRequests[0]!.form;
    expect(Object.fromEntries(form)).toEqual({ grant_type: "client_credentials", scope: "charge:customer", audience: "payment-service" });
    expect(as.tokenRequests[0]!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
  });

  it("keeps one token per audience, resource and scope set, whatever the order of the scopes", async () => {
    const tokens = client();
    const a = await tokens.getToken({ audience: "payment-service", scope: "charge:customer charge:read" });
    expect(await tokens.getToken({ audience: "payment-service", scope: ["charge:read", "charge:customer", "charge:read"] })).toBe(a);

    const otherScope = await tokens.getToken({ audience: "payment-service", scope: "charge:read" });
    const otherAudience = await tokens.getToken({ audience: "ledger-service", scope: "charge:customer charge:read" });
    const asResource = await tokens.getToken({ resource: "payment-service", scope: "charge:customer charge:read" });
    const noScope = await tokens.getToken({ audience: "payment-service" });

    const values = [a, otherScope, otherAudience, asResource, noScope].map((t) => t.accessToken);
    expect(new Set(values).size).toBe(5);
    expect(as.tokenRequests).toHaveLength(5);
    expect(as.tokenRequests[3]!.form.get("resource")).toBe("payment-service");
    expect(as.tokenRequests[4]!.form.has("scope")).toBe(false);
  });

  it("keeps tokens of different clients apart", async () => {
    const one = client();
    const other = client({ clientId: "reporting-service", clientAuth: clientSecretBasic("reporting-secret") });
    const a = await one.getToken({ audience: "payment-service" });
    const b = await other.getToken({ audience: "payment-service" });
    expect(a.accessToken).not.toBe(b.accessToken);
    expect(as.tokenRequests).toHaveLength(2);
  });

  it("times expiry by expires_in on the local clock, not by anything in the token", async () => {
    const clock = manualClock();
    // A JWT-looking token whose exp is long past: the client must not read it.
    const stale = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"exp":1}').toString("base64url")}.x`;
    as.respond((_r, i) => ({ status: 200, body: { access_token: i === 0 ? stale : "fresh", token_type: "bearer", expires_in: 100 } }));
    const tokens = client({ clock: clock.now, refreshAfter: 1, refreshJitter: 0, expiryMarginMs: 5_000 });

    const first = await tokens.getToken({ audience: "payment-service" });
    expect(first.accessToken).toBe(stale);
    expect(first.expiresAt).toBe(clock.now() + 95_000);

    clock.advance(94_999);
    expect((await tokens.getToken({ audience: "payment-service" })).accessToken).toBe(stale);
    expect(as.tokenRequests).toHaveLength(1);

    clock.advance(1);
    expect((await tokens.getToken({ audience: "payment-service" })).accessToken).toBe("fresh");
    expect(as.tokenRequests).toHaveLength(2);
  });

  it("refreshes ahead in the background and never makes a caller wait while the token is valid", async () => {
    const clock = manualClock();
    const held = gate();
    as.respond(async (request, index) => {
      if (index === 1) await held.promise;
      return issue(100)(request, index);
    });
    const tokens = client({ clock: clock.now, refreshAfter: 0.5, refreshJitter: 0 });
    const first = await tokens.getToken({ audience: "payment-service" });

    clock.advance(49_000);
    expect(await tokens.getToken({ audience: "payment-service" })).toBe(first);
    expect(as.tokenRequests).toHaveLength(1);

    clock.advance(2_000); // past half its life: this use starts the refresh, and still gets the old token
    expect(await tokens.getToken({ audience: "payment-service" })).toBe(first);
    await expect.poll(() => as.tokenRequests.length).toBe(2);
    // the refresh is held by the server: callers keep getting the valid token, and no third request starts
    for (let i = 0; i < 10; i++) expect(await tokens.getToken({ audience: "payment-service" })).toBe(first);
    expect(as.tokenRequests).toHaveLength(2);

    held.open();
    await expect.poll(async () => (await tokens.getToken({ audience: "payment-service" })).accessToken).toBe("tok-2");
    expect(as.tokenRequests).toHaveLength(2);
  });

  it("keeps serving the current token when a background refresh fails", async () => {
    const clock = manualClock();
    const { events, listeners } = recordingListeners();
    as.respond((request, index) => (index === 0 ? issue(100)(request, index) : oauthError(400, "invalid_scope")));
    const tokens = client({ clock: clock.now, refreshAfter: 0.5, ...listeners });
    const first = await tokens.getToken({ audience: "payment-service" });
    clock.advance(60_000);
    expect(await tokens.getToken({ audience: "payment-service" })).toBe(first);
    await expect.poll(() => events.some((e) => e.type === "refresh_failed")).toBe(true);
    expect(await tokens.getToken({ audience: "payment-service" })).toBe(first);
    expect((events.find((e) => e.type === "refresh_failed")!.event.error as TokenRequestError).code).toBe("invalid_scope");
  });

  it("makes exactly one token request for 100 concurrent callers, and gives them all its token", async () => {
    const held = gate();
    as.respond(async (request, index) => {
      await held.promise;
      return issue()(request, index);
    });
    const tokens = client();
    const calls = Array.from({ length: 100 }, () => tokens.getToken({ audience: "payment-service", scope: "charge:customer" }));
    await expect.poll(() => as.tokenRequests.length).toBe(1);
    held.open();
    const results = await Promise.all(calls);
    expect(new Set(results.map((t) => t.accessToken))).toEqual(new Set(["tok-1"]));
    expect(as.tokenRequests).toHaveLength(1);
  });

  it("gives the one refusal to all concurrent callers", async () => {
    as.respond(() => oauthError(400, "invalid_scope"));
    const tokens = client();
    const calls = Array.from({ length: 100 }, () => tokens.getToken({ audience: "payment-service", scope: "charge:everything" }));
    const results = await Promise.allSettled(calls);
    expect(results.every((r) => r.status === "rejected" && r.reason instanceof TokenRequestError && r.reason.code === "invalid_scope")).toBe(true);
    expect(as.tokenRequests).toHaveLength(1);
  });

  it("drops a token on invalidate, but only the rejected one when it is named", async () => {
    const tokens = client();
    const params = { audience: "payment-service" };
    const first = await tokens.getToken(params);
    tokens.invalidate(params, first.accessToken);
    const second = await tokens.getToken(params);
    expect(second.accessToken).toBe("tok-2");

    tokens.invalidate(params, first.accessToken); // a late report about the old token
    expect(await tokens.getToken(params)).toBe(second);

    tokens.invalidate();
    expect((await tokens.getToken(params)).accessToken).toBe("tok-3");
  });

  it("reports fetched and reused tokens by fingerprint only", async () => {
    const { events, listeners } = recordingListeners();
    const tokens = client(listeners);
    await tokens.getToken({ audience: "payment-service", scope: "charge:customer" });
    await tokens.getToken({ audience: "payment-service", scope: "charge:customer" });

    expect(events.map((e) => e.type)).toEqual(["fetched", "reused"]);
    const [fetched, reused] = events.map((e) => e.event);
    expect(fetched).toEqual({
      clientId: "order-service",
      audience: "payment-service",
      scope: "charge:customer",
      authMethod: "client_secret_basic",
      expiresIn: 300,
      lifetimeSeconds: 300,
      tokenFingerprint: fingerprint("tok-1"),
    });
    expect(reused).toMatchObject({ clientId: "order-service", audience: "payment-service", scope: "charge:customer", tokenFingerprint: fingerprint("tok-1") });
    expect(reused!.expiresInSeconds).toBeGreaterThan(280);
    expect(JSON.stringify(events)).not.toContain('"tok-1"');
  });
});
