import { afterEach, describe, expect, it } from "vitest";
import { AuthServerUnavailableError, clientSecretBasic, TokenClient, type TokenClientOptions } from "./index.js";
import { settleWithin, startTricklingServer, type TricklingServer } from "./testing/trickling-server.js";

// The numbers: one byte every 1.5 s, a 2 s timeout. An idle timeout
// never fires (no pause reaches 2 s); only a total deadline ends the exchange.
const TRICKLE_MS = 1_500;
const DEADLINE_MS = 2_000;
/** Two attempts, so the retry budget shows too. */
const ATTEMPTS = 2;
/** What the machine may add to the deadlines: timers, connecting, a busy CI. */
const SLACK_MS = 1_000;

const tokenResponse = JSON.stringify({ access_token: "slow-token", token_type: "Bearer", expires_in: 300 });

let slow: TricklingServer | undefined;
afterEach(async () => {
  await slow?.close();
  slow = undefined;
});

function client(options: Partial<TokenClientOptions>): TokenClient {
  return new TokenClient({
    issuer: slow!.url,
    clientId: "order-service",
    clientAuth: clientSecretBasic("super-secret"),
    requestTimeoutMs: DEADLINE_MS,
    retry: { maxAttempts: ATTEMPTS },
    sleep: async () => {}, // no backoff: the time measured is the requests'
    ...options,
  });
}

describe("the total deadline of a request to the authorization server", { timeout: 20_000 }, () => {
  it("hardening #8: a token endpoint trickling one byte every 1.5 s fails within the 2 s deadline, as AuthServerUnavailableError, and the retry budget still applies", async () => {
    slow = await startTricklingServer(tokenResponse, TRICKLE_MS);
    const tokens = client({ tokenEndpoint: `${slow.url}/token` });

    const outcome = await settleWithin(tokens.getToken(), ATTEMPTS * DEADLINE_MS + SLACK_MS);

    expect(outcome).toMatchObject({ error: expect.any(AuthServerUnavailableError) });
    const { error, elapsedMs } = outcome as { error: AuthServerUnavailableError; elapsedMs: number };
    expect(error.details).toEqual({ networkCode: "ETIMEDOUT", attempts: ATTEMPTS });
    expect(error.message).toBe(`token request failed: no complete answer within ${DEADLINE_MS} ms`);
    expect(elapsedMs).toBeGreaterThanOrEqual(ATTEMPTS * DEADLINE_MS - 50);
    expect(slow.requests).toEqual(["POST /token", "POST /token"]);
  });

  it("hardening #8: discovery trickling one byte every 1.5 s fails within the 2 s deadline, as AuthServerUnavailableError, and the retry budget still applies", async () => {
    slow = await startTricklingServer(JSON.stringify({ issuer: "http://unused", token_endpoint: "http://unused/token" }), TRICKLE_MS);
    const tokens = client({});

    const outcome = await settleWithin(tokens.getToken(), ATTEMPTS * DEADLINE_MS + SLACK_MS);

    expect(outcome).toMatchObject({ error: expect.any(AuthServerUnavailableError) });
    const { error, elapsedMs } = outcome as { error: AuthServerUnavailableError; elapsedMs: number };
    expect(error.details).toEqual({ networkCode: "ETIMEDOUT", attempts: ATTEMPTS });
    expect(error.message).toBe(`discovery failed: no complete answer within ${DEADLINE_MS} ms`);
    expect(elapsedMs).toBeGreaterThanOrEqual(ATTEMPTS * DEADLINE_MS - 50);
    const metadata = "GET /.well-known/oauth-authorization-server";
    expect(slow.requests).toEqual([metadata, metadata]);
  });

  it("ends the request in flight when the client's signal aborts, with its reason, and retries nothing", async () => {
    slow = await startTricklingServer(tokenResponse, TRICKLE_MS);
    const shutdown = new AbortController();
    const tokens = client({ tokenEndpoint: `${slow.url}/token`, signal: shutdown.signal });

    const pending = settleWithin(tokens.getToken(), DEADLINE_MS);
    setTimeout(() => shutdown.abort(new Error("shutting down")), 100);
    const outcome = await pending;

    expect(outcome).toMatchObject({ error: new Error("shutting down") });
    expect((outcome as { elapsedMs: number }).elapsedMs).toBeLessThan(DEADLINE_MS / 2);
    expect(slow.requests).toEqual(["POST /token"]);
    // and asks nothing once aborted
    await expect(tokens.getToken()).rejects.toThrow("shutting down");
    expect(slow.requests).toHaveLength(1);
  });

  it("stops waiting between retries when the client's signal aborts", async () => {
    slow = await startTricklingServer(tokenResponse, TRICKLE_MS);
    const shutdown = new AbortController();
    const tokens = new TokenClient({
      issuer: slow.url,
      tokenEndpoint: `${slow.url}/token`,
      clientId: "order-service",
      clientAuth: clientSecretBasic("super-secret"),
      requestTimeoutMs: 100,
      retry: { maxAttempts: 2, baseDelayMs: 10_000, maxDelayMs: 10_000, maxElapsedMs: 60_000 },
      random: () => 0.999,
      signal: shutdown.signal,
      onRetry: () => setTimeout(() => shutdown.abort(new Error("shutting down")), 50),
    });

    const outcome = await settleWithin(tokens.getToken(), 2_000);

    expect(outcome).toMatchObject({ error: new Error("shutting down") });
    expect(slow.requests).toHaveLength(1);
  });
});

it("refuses a requestTimeoutMs that is not a positive number (0 no longer means none: it would end every request at once)", () => {
  const options = { issuer: "http://127.0.0.1:1", clientId: "order-service", clientAuth: clientSecretBasic("super-secret") };
  expect(() => new TokenClient({ ...options, requestTimeoutMs: 0 })).toThrow(TypeError);
  expect(() => new TokenClient({ ...options, requestTimeoutMs: Infinity })).toThrow(TypeError);
});
