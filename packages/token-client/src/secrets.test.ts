import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formUrlEncode } from "./client-auth.js";
import { clientSecretBasic, clientSecretPost, TokenClient, type ClientAuth } from "./index.js";
import { oauthError, recordingListeners, startFakeAuthServer, type FakeAuthServer } from "./testing/fake-auth-server.js";

let as: FakeAuthServer;
beforeEach(async () => {
  as = await startFakeAuthServer();
});
afterEach(() => as.close());

const secret = "Sup3r secret:with&odd=chars";
/** Every form in which the secret could leak. */
const leaks = [secret, formUrlEncode(secret), encodeURIComponent(secret), Buffer.from(`order-service:${formUrlEncode(secret)}`).toString("base64")];

function expectNoSecret(value: unknown): void {
  const renderings = [
    inspect(value, { depth: Infinity, showHidden: true, getters: true }),
    JSON.stringify(value) ?? "",
    String(value),
    value instanceof Error ? `${value.message}\n${value.stack}` : "",
  ];
  for (const text of renderings) for (const leak of leaks) expect(text).not.toContain(leak);
}

describe.each<[string, (s: string) => ClientAuth]>([
  ["client_secret_basic", clientSecretBasic],
  ["client_secret_post", clientSecretPost],
])("the secret (%s) never shows", (_name, method) => {
  const clientFor = (issuer: string, recorded = recordingListeners()) =>
    new TokenClient({ issuer, clientId: "order-service", clientAuth: method(secret), ...recorded.listeners, retry: { maxAttempts: 2, baseDelayMs: 1 } });

  it("in the client, its auth value, or its events", async () => {
    const recorded = recordingListeners();
    const tokens = clientFor(as.issuer, recorded);
    await tokens.getToken({ audience: "payment-service" });
    await tokens.getToken({ audience: "payment-service" });
    expectNoSecret(tokens);
    expectNoSecret(method(secret));
    expectNoSecret(recorded.events);
    expect(inspect(tokens)).toContain("order-service");
  });

  it("in a refusal", async () => {
    as.respond(() => oauthError(401, "invalid_client", { "www-authenticate": 'Basic realm="auth"' }));
    const error = await clientFor(as.issuer).getToken({ audience: "payment-service" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expectNoSecret(error);
  });

  it("in a server error or a network failure", async () => {
    as.respond((_r, i) => (i === 0 ? { status: 500, body: "boom" } : "reset"));
    const recorded = recordingListeners();
    const error = await clientFor(as.issuer, recorded).getToken({ audience: "payment-service" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expectNoSecret(error);
    expect(recorded.events.map((e) => e.type)).toEqual(["retry"]);
    expectNoSecret(recorded.events);

    const unreachable = await clientFor("http://127.0.0.1:9").getToken({ audience: "payment-service" }).catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(Error);
    expectNoSecret(unreachable);
  });
});
