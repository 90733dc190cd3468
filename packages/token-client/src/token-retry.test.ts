import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthServerUnavailableError, clientSecretBasic, TokenClient, TokenRequestError, type TokenClientOptions } from "./index.js";
import { issue, manualClock, oauthError, startFakeAuthServer, type FakeAuthServer } from "./testing/fake-auth-server.js";

let as: FakeAuthServer;
beforeEach(async () => {
  as = await startFakeAuthServer();
});
afterEach(() => as.close());

/** A client whose waits are recorded and advance a manual clock instead of the real one. */
function retryingClient(options: Partial<TokenClientOptions> = {}) {
  const clock = manualClock();
  const sleeps: number[] = [];
  const tokens = new TokenClient({
    issuer: as.issuer,
    clientId: "order-service",
    clientAuth: clientSecretBasic("super-secret"),
    clock: clock.now,
    random: () => 0.999,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
    ...options,
  });
  return { tokens, sleeps };
}

const params = { audience: "payment-service", scope: "charge:customer" };

describe("retries", () => {
  it("retries 5xx answers and network resets, then succeeds", async () => {
    as.respond((request, index) => (index === 0 ? { status: 500, body: "oops" } : index === 1 ? "reset" : issue()(request, index)));
    const { tokens, sleeps } = retryingClient();
    const token = await tokens.getToken(params);
    expect(token.accessToken).toBe("tok-3");
    expect(as.tokenRequests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it("backs off exponentially with full jitter, within each ceiling", async () => {
    as.respond(() => ({ status: 503 }));
    const random = [0.5, 0.25, 0.999];
    const { tokens, sleeps } = retryingClient({ random: () => random.shift()!, retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 300 } });
    await expect(tokens.getToken(params)).rejects.toBeInstanceOf(AuthServerUnavailableError);
    // ceilings 100, 200, 400→300 (max); each delay is a random share of its ceiling
    expect(sleeps).toEqual([50, 50, 299]);
  });

  it("stops after maxAttempts and says the server is unavailable, with the last status", async () => {
    as.respond(() => ({ status: 502 }));
    const { tokens } = retryingClient({ retry: { maxAttempts: 3 } });
    const error = await tokens.getToken(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthServerUnavailableError);
    expect((error as AuthServerUnavailableError).details).toMatchObject({ status: 502, attempts: 3 });
    expect(as.tokenRequests).toHaveLength(3);
  });

  it("honours Retry-After on 429 as the least wait", async () => {
    as.respond((request, index) => (index === 0 ? oauthError(429, "slow_down", { "retry-after": "2" }) : issue()(request, index)));
    const { tokens, sleeps } = retryingClient({ random: () => 0 });
    expect((await tokens.getToken(params)).accessToken).toBe("tok-2");
    expect(sleeps).toEqual([2_000]);
  });

  it("gives up at once when Retry-After is beyond the time budget, and says when to come back", async () => {
    as.respond(() => oauthError(429, "slow_down", { "retry-after": "60" }));
    const { tokens, sleeps } = retryingClient({ retry: { maxElapsedMs: 10_000 } });
    const error = (await tokens.getToken(params).catch((e: unknown) => e)) as AuthServerUnavailableError;
    expect(error).toBeInstanceOf(AuthServerUnavailableError);
    expect(error.details).toMatchObject({ status: 429, retryAfterSeconds: 60, attempts: 1 });
    expect(sleeps).toEqual([]);
  });

  it("keeps the total wait within maxElapsedMs", async () => {
    as.respond(() => ({ status: 500 }));
    const { tokens, sleeps } = retryingClient({ retry: { maxAttempts: 100, baseDelayMs: 1_000, maxDelayMs: 4_000, maxElapsedMs: 9_000 } });
    await expect(tokens.getToken(params)).rejects.toBeInstanceOf(AuthServerUnavailableError);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(9_000);
    expect(as.tokenRequests.length).toBe(sleeps.length + 1);
    expect(as.tokenRequests.length).toBeLessThan(100);
  });

  it("retries a server that cannot be reached at all, including discovery", async () => {
    const url = as.url;
    await as.close();
    const { tokens, sleeps } = retryingClient({ issuer: url, retry: { maxAttempts: 3 } });
    const error = (await tokens.getToken(params).catch((e: unknown) => e)) as AuthServerUnavailableError;
    expect(error).toBeInstanceOf(AuthServerUnavailableError);
    expect(error.details).toMatchObject({ networkCode: "ECONNREFUSED", attempts: 3 });
    expect(sleeps).toHaveLength(2);
    as = await startFakeAuthServer(); // for afterEach
  });

  it.each(["invalid_client", "invalid_scope", "invalid_target", "unauthorized_client", "invalid_request", "unsupported_grant_type"])(
    "never retries %s, and says which it was",
    async (code) => {
      as.respond(() => oauthError(code === "invalid_client" ? 401 : 400, code));
      const { tokens, sleeps } = retryingClient();
      const error = (await tokens.getToken(params).catch((e: unknown) => e)) as TokenRequestError;
      expect(error).toBeInstanceOf(TokenRequestError);
      expect(error.code).toBe(code);
      expect(error.description).toBe(`refused: ${code}`);
      expect(as.tokenRequests).toHaveLength(1);
      expect(sleeps).toEqual([]);
    },
  );

  it("retries an OAuth server_error or temporarily_unavailable as an outage, then says the server is unavailable", async () => {
    as.respond((_request, index) => oauthError(400, index % 2 === 0 ? "server_error" : "temporarily_unavailable"));
    const { tokens, sleeps } = retryingClient();
    const error = await tokens.getToken(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthServerUnavailableError);
    expect((error as AuthServerUnavailableError).details).toMatchObject({ status: 400, attempts: 4 });
    expect(as.tokenRequests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it("asks again on the next call after a failure (errors are not cached)", async () => {
    as.respond((request, index) => (index === 0 ? oauthError(401, "invalid_client") : issue()(request, index)));
    const { tokens } = retryingClient();
    await expect(tokens.getToken(params)).rejects.toBeInstanceOf(TokenRequestError);
    expect((await tokens.getToken(params)).accessToken).toBe("tok-2");
  });
});
