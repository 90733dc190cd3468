import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidClientError, OAuthError, TooManyRequestsError, UnsupportedGrantTypeError } from "./errors.js";
import { DEVELOPMENT_REGISTRY, developmentRegistry } from "./development-registry.js";
import { ClientRegistry } from "./registry.js";
import { parseRegistry } from "./registry-file.js";
import { SigningKeys } from "./signing-keys.js";
import { TokenIssuer } from "./token-issuer.js";

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
const ORDER = basic("order-service", "super-secret");
const REPORTING = basic("reporting-service", "reporting-secret");
const form = (entries: Record<string, string>) => new Map(Object.entries(entries));
const grant = { grant_type: "client_credentials" };

let dir: string;
let keys: SigningKeys;
const clock = { now: Date.parse("2026-06-01T08:00:00Z") };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "token-issuer-core-"));
  keys = await SigningKeys.open({ path: dir, alg: "ES256", tokenTtlSeconds: 300, manage: true, clock: () => clock.now });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A core over the development registry, with every event it tells its listeners captured in order. */
function issuer() {
  const events: { type: string; event: Record<string, unknown> }[] = [];
  const record = (type: string) => (event: object) => events.push({ type, event: event as Record<string, unknown> });
  const core = new TokenIssuer({
    issuer: "https://as.example",
    registry: developmentRegistry(),
    keys,
    accessTokenTtl: 300,
    clock: () => clock.now,
    onIssued: record("issued"),
    onRefused: record("refused"),
    onIntrospected: record("introspected"),
  });
  return { core, events };
}

async function thrown(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
  throw new Error("expected an OAuthError");
}

describe("TokenIssuer.token", () => {
  it("issues a token and tells onIssued who got it, how they authenticated, what they asked for and which checks passed", async () => {
    const { core, events } = issuer();
    const res = await core.token({ authorization: ORDER, params: form({ ...grant, scope: "charge:customer" }), remoteAddress: "10.0.0.1" });
    expect(res).toMatchObject({ token_type: "Bearer", expires_in: 300, scope: "charge:customer" });
    expect(events.map((e) => e.type)).toEqual(["issued"]);
    expect(events[0]!.event).toEqual({
      clientId: "order-service",
      grantType: "client_credentials",
      authMethod: "client_secret_basic",
      requested: { scope: "charge:customer" },
      header: { alg: "ES256", typ: "at+jwt", kid: keys.current().kid },
      claims: expect.objectContaining({ iss: "https://as.example", iat: clock.now / 1000, exp: clock.now / 1000 + 300 }),
      expiresIn: 300,
      checks: ["client known", "secret matches", "scope allowed: charge:customer", "audience allowed: payment-service"],
    });
  });

  it("reports only what the client sent: no scope, a resource", async () => {
    const { core, events } = issuer();
    await core.token({ authorization: ORDER, params: form({ ...grant, resource: "https://payment.internal" }), remoteAddress: "10.0.0.5" });
    const issued = events.find((e) => e.type === "issued")!.event;
    expect(issued.requested).toEqual({ resource: "https://payment.internal" });
    expect(issued.claims).toMatchObject({ aud: "payment-service" });
  });

  it("reports each token's own facts, whatever came before", async () => {
    const { core, events } = issuer();
    const asks: Record<string, string>[] = [{ scope: "charge:customer" }, { resource: "https://payment.internal" }, { scope: "charge:customer" }, {}];
    for (const ask of asks) await core.token({ authorization: ORDER, params: form({ ...grant, ...ask }), remoteAddress: "10.0.0.7" });
    expect(events.map((e) => e.event.requested)).toEqual(asks);
    expect(new Set(events.map((e) => (e.event.claims as { jti: string }).jti)).size).toBe(asks.length);
  });

  it("works without listeners", async () => {
    const core = new TokenIssuer({ issuer: "https://as.example", registry: developmentRegistry(), keys, accessTokenTtl: 300, clock: () => clock.now });
    await expect(core.token({ authorization: ORDER, params: form(grant), remoteAddress: "10.0.0.6" })).resolves.toMatchObject({ token_type: "Bearer" });
  });

  it("authenticates before looking at the grant, and reports each refusal with the client it claimed to be", async () => {
    const { core, events } = issuer();
    expect(await thrown(core.token({ params: form({ grant_type: "password" }), remoteAddress: "10.0.0.2" }))).toBeInstanceOf(InvalidClientError);
    expect(await thrown(core.token({ authorization: ORDER, params: form({ grant_type: "password" }), remoteAddress: "10.0.0.2" }))).toBeInstanceOf(
      UnsupportedGrantTypeError,
    );
    expect(events.map((e) => [e.type, e.event.endpoint, (e.event.error as OAuthError).code, e.event.presentedClientId])).toEqual([
      ["refused", "token", "invalid_client", undefined],
      ["refused", "token", "unsupported_grant_type", "order-service"],
    ]);
  });

  it("refuses a disabled client like an unknown one", async () => {
    const { core } = issuer();
    core.setRegistry(
      new ClientRegistry(
        parseRegistry({ ...DEVELOPMENT_REGISTRY, clients: DEVELOPMENT_REGISTRY.clients.map((c) => ({ ...c, disabled: true })) }, "t"),
      ),
    );
    const error = await thrown(core.token({ authorization: ORDER, params: form(grant), remoteAddress: "10.0.0.3" }));
    expect(error.toJSON()).toEqual({ error: "invalid_client", error_description: "client authentication failed" });
  });

  it("locks a client after 20 failures a minute, without checking the credential", async () => {
    const { core } = issuer();
    const wrong = basic("order-service", "wrong");
    for (let i = 0; i < 21; i++) await thrown(core.token({ authorization: wrong, params: form(grant), remoteAddress: "10.0.0.4" }));
    expect(await thrown(core.token({ authorization: ORDER, params: form(grant), remoteAddress: "10.0.0.4" }))).toBeInstanceOf(TooManyRequestsError);
    clock.now += 60_000;
    await expect(core.token({ authorization: ORDER, params: form(grant), remoteAddress: "10.0.0.4" })).resolves.toMatchObject({ token_type: "Bearer" });
  });
});

describe("TokenIssuer.introspect", () => {
  it("describes a live token, and nothing about an expired one or one of a disabled client", async () => {
    const { core, events } = issuer();
    const { access_token } = await core.token({ authorization: ORDER, params: form(grant), remoteAddress: "10.0.1.1" });
    const ask = () => core.introspect({ authorization: REPORTING, params: form({ token: access_token }), remoteAddress: "10.0.1.1" });
    expect(await ask()).toMatchObject({ active: true, client_id: "order-service", aud: "payment-service", token_type: "Bearer" });
    expect(events.at(-1)).toEqual({ type: "introspected", event: { clientId: "reporting-service", active: true } });
    clock.now += 300_000;
    expect(await ask()).toEqual({ active: false });
    clock.now -= 300_000;
    core.setRegistry(
      new ClientRegistry(
        parseRegistry(
          { ...DEVELOPMENT_REGISTRY, clients: DEVELOPMENT_REGISTRY.clients.map((c) => (c.client_id === "order-service" ? { ...c, disabled: true } : c)) },
          "t",
        ),
      ),
    );
    expect(await ask()).toEqual({ active: false });
  });

  it("requires the caller to authenticate", async () => {
    const { core } = issuer();
    expect(await thrown(core.introspect({ params: form({ token: "x" }), remoteAddress: "10.0.1.2" }))).toBeInstanceOf(InvalidClientError);
  });
});
