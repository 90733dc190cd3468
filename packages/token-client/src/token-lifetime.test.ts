import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clientSecretBasic, TokenClient, type TokenClientOptions } from "./index.js";
import { manualClock, startFakeAuthServer, type FakeAuthServer } from "./testing/fake-auth-server.js";

let as: FakeAuthServer;
beforeEach(async () => {
  as = await startFakeAuthServer();
});
afterEach(() => as.close());

const client = (options: Partial<TokenClientOptions> = {}) =>
  new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: clientSecretBasic("super-secret"), ...options });

/** The token endpoint answers every request with this `expires_in`, as a JSON number. */
const answerExpiresIn = (expiresIn: number) =>
  as.respond((_request, index) => ({ status: 200, body: { access_token: `tok-${index + 1}`, token_type: "Bearer", expires_in: expiresIn } }));

const params = { audience: "payment-service" };
const DAY_MS = 86_400_000;

describe("token lifetime bounds", () => {
  it.each([1e308, 1e12])("hardening #8: clamps expires_in %s to the ceiling of 24 h, then asks again", async (expiresIn) => {
    const clock = manualClock();
    answerExpiresIn(expiresIn);
    const tokens = client({ clock: clock.now, refreshAfter: 1, refreshJitter: 0 });
    const sentAt = clock.now();

    const first = await tokens.getToken(params);
    // the usual expiry margin of 5 s still applies within the ceiling
    expect(first.expiresAt).toBe(sentAt + DAY_MS - 5_000);

    clock.advance(DAY_MS - 5_001);
    expect(await tokens.getToken(params)).toBe(first);
    clock.advance(1);
    expect((await tokens.getToken(params)).accessToken).toBe("tok-2");
    expect(as.tokenRequests).toHaveLength(2);
  });

  it("hardening #8: keeps a token whose expires_in is 0.001 for the floor of 1 s, not one request per call", async () => {
    const clock = manualClock();
    answerExpiresIn(0.001);
    const tokens = client({ clock: clock.now, refreshAfter: 1, refreshJitter: 0 });
    const sentAt = clock.now();

    // nine calls, 100 ms apart, all within the floor: one request
    const first = await tokens.getToken(params);
    for (let i = 0; i < 8; i++) {
      clock.advance(100);
      await tokens.getToken(params);
    }
    expect(as.tokenRequests).toHaveLength(1);
    // 1 s, less a tenth of it as the expiry margin
    expect(first.expiresAt).toBe(sentAt + 900);

    clock.advance(100);
    expect((await tokens.getToken(params)).accessToken).toBe("tok-2");
  });

  it("counts whole seconds: a fraction of a second is dropped, never added", async () => {
    const clock = manualClock();
    answerExpiresIn(100.9);
    const tokens = client({ clock: clock.now });
    const token = await tokens.getToken(params);
    expect(token.expiresAt).toBe(clock.now() + 100_000 - 5_000);
  });

  it("clamps the lifetime assumed without expires_in too, and takes other bounds when given", async () => {
    const clock = manualClock();
    as.respond((_request, index) => ({ status: 200, body: { access_token: `tok-${index + 1}`, token_type: "Bearer" } }));
    const tokens = client({ clock: clock.now, defaultExpiresIn: 3_600, minLifetimeSeconds: 30, maxLifetimeSeconds: 600 });
    expect((await tokens.getToken(params)).expiresAt).toBe(clock.now() + 600_000 - 5_000);
  });

  it("reports the lifetime it counts with beside the one the server sent", async () => {
    answerExpiresIn(1e12);
    const fetched: { expiresIn: number | undefined; lifetimeSeconds: number }[] = [];
    const tokens = client({ onFetched: (event) => fetched.push(event) });
    await tokens.getToken(params);
    expect(fetched).toEqual([expect.objectContaining({ expiresIn: 1e12, lifetimeSeconds: 86_400 })]);
  });

  it("refuses bounds that cannot hold a lifetime", () => {
    expect(() => client({ minLifetimeSeconds: 0 })).toThrow(TypeError);
    expect(() => client({ minLifetimeSeconds: 60, maxLifetimeSeconds: 30 })).toThrow(TypeError);
    expect(() => client({ maxLifetimeSeconds: Infinity })).toThrow(TypeError);
    expect(() => client({ defaultExpiresIn: Number.NaN })).toThrow(TypeError);
  });
});

describe("refresh-ahead jitter", () => {
  it("hardening #8: two clients started together compute different refresh times, within 72-80 % of the lifetime (refreshAfter 0.8, jitter 0.1)", async () => {
    const clock = manualClock();
    answerExpiresIn(100);
    const fetched = { early: 0, late: 0 };
    // the jitter's extremes: u = 0 refreshes at 80 s, u → 1 at 72 s
    const late = client({ clock: clock.now, random: () => 0, onFetched: () => (fetched.late += 1) });
    const early = client({ clock: clock.now, random: () => 0.999, onFetched: () => (fetched.early += 1) });
    const both = async () => Promise.all([late.getToken(params), early.getToken(params)]);
    await both();

    clock.advance(71_900); // before the band: neither refreshes
    await both();
    expect(fetched).toEqual({ early: 1, late: 1 });

    clock.advance(200); // 72.1 s: u = 0.999 refreshes at 80 s x (1 - 0.0999) = 72.008 s
    await both();
    await expect.poll(() => fetched.early).toBe(2);
    expect(fetched.late).toBe(1);

    clock.advance(7_899); // 79.999 s
    await both();
    expect(fetched.late).toBe(1);
    clock.advance(1); // 80 s: u = 0 refreshes at refreshAfter exactly
    await both();
    await expect.poll(() => fetched.late).toBe(2);
  });

  it("refuses a jitter outside [0, 1)", () => {
    expect(() => client({ refreshJitter: -0.1 })).toThrow(TypeError);
    expect(() => client({ refreshJitter: 1 })).toThrow(TypeError);
  });
});
