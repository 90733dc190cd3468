import { afterEach, describe, expect, it } from "vitest";
import { basic, ORDER_SERVICE, postForm, REPORTING_SERVICE, startTestServer, type TestServer } from "./support.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.dispose();
  server = undefined;
});

const grant = { grant_type: "client_credentials" };

describe("failed authentication is rate limited", () => {
  it("answers 429 with Retry-After and a JSON error after more than 20 failures a minute for one client, and recovers", async () => {
    server = await startTestServer({ SIGNING_ALG: "ES256" });
    const tokenUrl = `${server.url}/token`;
    const wrong = basic("order-service", "guess");
    for (let i = 0; i < 21; i++) expect((await postForm(tokenUrl, grant, { authorization: wrong })).status).toBe(401);
    const limited = await postForm(tokenUrl, grant, { authorization: wrong });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(limited.headers.get("cache-control")).toBe("no-store");
    expect(limited.body).toEqual({ error: "temporarily_unavailable", error_description: expect.stringMatching(/too many/) });
    // Even the right secret is refused from this address while locked: a correct guess must not get through.
    expect((await postForm(tokenUrl, grant, { authorization: ORDER_SERVICE })).status).toBe(429);
    // Other clients are not affected.
    expect((await postForm(tokenUrl, grant, { authorization: REPORTING_SERVICE })).status).toBe(200);
    server.clock.now += 61_000;
    expect((await postForm(tokenUrl, grant, { authorization: ORDER_SERVICE })).status).toBe(200);
  });

  it("answers 429 after more than 100 failures from one address, whatever the client ids", async () => {
    server = await startTestServer({ SIGNING_ALG: "ES256" });
    const tokenUrl = `${server.url}/token`;
    for (let i = 0; i < 101; i++) {
      expect((await postForm(tokenUrl, grant, { authorization: basic(`made-up-${i}`, "x") })).status).toBe(401);
    }
    const limited = await postForm(tokenUrl, grant, { authorization: REPORTING_SERVICE });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).not.toBeNull();
  });
});
