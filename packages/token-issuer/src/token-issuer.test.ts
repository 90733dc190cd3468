import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidClientError, OAuthError, TooManyRequestsError, UnsupportedGrantTypeError } from "./errors.js";
import { ClientRegistry, DEVELOPMENT_REGISTRY, developmentRegistry } from "./registry.js";
import { parseRegistry } from "./registry-file.js";
import type { EventLogger } from "./clock.js";
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

/** A core over the development registry; its events are captured unless another logger is given. */
function issuer(logger?: EventLogger) {
  const events: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: object, msg: string) => events.push({ level, msg, fields: fields as Record<string, unknown> });
  const core = new TokenIssuer({
    issuer: "https://as.example",
    registry: developmentRegistry(),
    keys,
    accessTokenTtl: 300,
    clock: () => clock.now,
    logger: logger ?? { debug: at("debug"), info: at("info"), warn: at("warn") },
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
  it("issues a token and logs one info line, token.issued, after requested and authenticated at debug", async () => {
    const { core, events } = issuer();
    const res = await core.token({ authorization: ORDER, params: form({ ...grant, scope: "charge:customer" }), remoteAddress: "10.0.0.1" });
    expect(res).toMatchObject({ token_type: "Bearer", expires_in: 300, scope: "charge:customer" });
    expect(events.map((e) => `${e.level} ${e.msg}`)).toEqual(["debug token.requested", "debug client.authenticated", "info token.issued"]);
    expect(events[0]!.fields).toEqual({
      grant_type: "client_credentials",
      auth_method: "client_secret_basic",
      client_id: "order-service",
      scope: "charge:customer",
    });
    expect(events[2]!.fields).toMatchObject({
      client_id: "order-service",
      grant_type: "client_credentials",
      auth_method: "client_secret_basic",
      requested: { scope: "charge:customer" },
      header: { alg: "ES256", typ: "at+jwt", kid: keys.current().kid },
      claims: { iss: "https://as.example", iat: clock.now / 1000, exp: clock.now / 1000 + 300 },
      checks: ["client known", "secret matches", "scope allowed: charge:customer", "audience allowed: payment-service"],
    });
  });

  it("puts in token.issued only what the client sent: no scope, a resource", async () => {
    const { core, events } = issuer();
    await core.token({ authorization: ORDER, params: form({ ...grant, resource: "https://payment.internal" }), remoteAddress: "10.0.0.5" });
    const issued = events.find((e) => e.msg === "token.issued")!;
    expect(issued.fields.requested).toEqual({ resource: "https://payment.internal" });
    expect(issued.fields.claims).toMatchObject({ aud: "payment-service" });
  });

  it("logs each token's own facts through a logger with child loggers, whatever came before", async () => {
    // a pino-like logger: a child's bindings come first on each of its lines
    const lines: Record<string, unknown>[] = [];
    const logger = (bindings: Record<string, unknown>): EventLogger => ({
      info: (fields, msg) => lines.push({ ...bindings, ...fields, msg }),
      warn: (fields, msg) => lines.push({ ...bindings, ...fields, msg }),
      child: (more) => logger({ ...bindings, ...more }),
    });
    const { core } = issuer(logger({}));
    const asks: Record<string, string>[] = [{ scope: "charge:customer" }, { resource: "https://payment.internal" }, { scope: "charge:customer" }, {}];
    for (const ask of asks) await core.token({ authorization: ORDER, params: form({ ...grant, ...ask }), remoteAddress: "10.0.0.7" });
    expect(lines.map((line) => line.requested)).toEqual(asks);
    expect(lines.every((line) => line.msg === "token.issued" && line.client_id === "order-service")).toBe(true);
  });

  it("works with a logger that has no debug method", async () => {
    const lines: string[] = [];
    const { core } = issuer({ info: (_fields, msg) => lines.push(msg), warn: (_fields, msg) => lines.push(msg) });
    await core.token({ authorization: ORDER, params: form(grant), remoteAddress: "10.0.0.6" });
    expect(lines).toEqual(["token.issued"]);
  });

  it("authenticates before looking at the grant, and logs the refusal", async () => {
    const { core, events } = issuer();
    expect(await thrown(core.token({ params: form({ grant_type: "password" }), remoteAddress: "10.0.0.2" }))).toBeInstanceOf(InvalidClientError);
    expect(await thrown(core.token({ authorization: ORDER, params: form({ grant_type: "password" }), remoteAddress: "10.0.0.2" }))).toBeInstanceOf(
      UnsupportedGrantTypeError,
    );
    expect(events.filter((e) => e.msg === "token.refused").map((e) => `${e.level} ${String(e.fields.error)}`)).toEqual([
      "info invalid_client",
      "info unsupported_grant_type",
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
    const { core } = issuer();
    const { access_token } = await core.token({ authorization: ORDER, params: form(grant), remoteAddress: "10.0.1.1" });
    const ask = () => core.introspect({ authorization: REPORTING, params: form({ token: access_token }), remoteAddress: "10.0.1.1" });
    expect(await ask()).toMatchObject({ active: true, client_id: "order-service", aud: "payment-service", token_type: "Bearer" });
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
