import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import express, { type ErrorRequestHandler } from "express";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BearerGuard, createVerifier, type TokenRejectedEvent, type TokenVerifiedEvent, type TokenVerifier } from "./index.js";
import { accessTokenClaims, requireAccessToken, requireScope } from "./express.js";
import { FakeClock, FakeIssuer, makeKey } from "./testing/fake-issuer.js";

const clock = new FakeClock();
let issuer: FakeIssuer;
let verifier: TokenVerifier;
let server: Server;
let base: string;
let events: Array<{ type: "verified"; event: TokenVerifiedEvent } | { type: "rejected"; event: TokenRejectedEvent }>;

// every guard of the app reports here, as an app's logger would subscribe
const listeners = {
  onVerified: (event: TokenVerifiedEvent) => events.push({ type: "verified", event }),
  onRejected: (event: TokenRejectedEvent) => events.push({ type: "rejected", event }),
};

// what service-kit's renderer does: exposable errors as they say, anything else a bare 500
const render: ErrorRequestHandler = (error, _req, res, _next) => {
  if (error?.expose === true) {
    if (error.headers) res.set(error.headers);
    res.status(error.status).json(error.toJSON());
  } else {
    res.status(500).json({ error: "server_error" });
  }
};

beforeAll(async () => {
  issuer = await FakeIssuer.start();
  verifier = createVerifier({ issuer: issuer.issuer, audience: "payment-service", clock: clock.now, cooldownMs: 10_000 });
  const realm = "payment-service";
  const app = express();
  app.post("/charge", requireAccessToken(verifier, { realm, scope: "charge:customer", ...listeners }), (_req, res) => {
    res.status(201).json({ client: accessTokenClaims(res).client_id });
  });
  app.get(
    "/charges/:id",
    requireAccessToken(verifier, { realm, ...listeners }),
    requireScope("charge:read", { realm, ...listeners }),
    (_req, res) => {
      res.json({ client: (res.locals.auth as { client_id: string }).client_id });
    },
  );
  app.use(express.urlencoded({ extended: false }));
  app.post("/form", requireAccessToken(verifier, { realm, ...listeners }), (_req, res) => {
    res.json({ ok: true });
  });
  app.use(render);
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await issuer.close();
});
beforeEach(() => {
  events = [];
  issuer.mode = "ok";
});

const mint = (options: Parameters<FakeIssuer["mint"]>[0] = {}) => issuer.mint({ nowSec: clock.sec, ...options });

function call(path: string, authorization?: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (authorization !== undefined) headers.set("authorization", authorization);
  return fetch(`${base}${path}`, { method: "POST", ...init, headers });
}

describe("requireAccessToken", () => {
  it("lets a valid token through and puts its claims on res.locals.auth", async () => {
    const res = await call("/charge", `Bearer ${await mint()}`);
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ client: "order-service" });
  });

  it("takes the scheme in lowercase", async () => {
    expect((await call("/charge", `bearer ${await mint()}`)).status).toBe(201);
  });

  it("answers 401 with only the realm when no credentials are sent", async () => {
    const res = await call("/charge");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="payment-service"');
    expect(await res.json()).toMatchObject({ error: "unauthorized" });
  });

  it("does not take a token from the query string: 401 alone, 400 next to a header", async () => {
    const token = await mint();
    const alone = await call(`/charge?access_token=${token}`);
    expect(alone.status).toBe(401);
    expect(alone.headers.get("www-authenticate")).toBe('Bearer realm="payment-service"');
    const both = await call(`/charge?access_token=${token}`, `Bearer ${token}`);
    expect(both.status).toBe(400);
    expect(both.headers.get("www-authenticate")).toMatch(/^Bearer realm="payment-service", error="invalid_request"/);
  });

  it("does not take a token from a form body: 401 alone, 400 next to a header", async () => {
    const token = await mint();
    const form = { headers: { "content-type": "application/x-www-form-urlencoded" }, body: `access_token=${token}` };
    expect((await call("/form", undefined, form)).status).toBe(401);
    expect((await call("/form", `Bearer ${token}`, form)).status).toBe(400);
  });

  it("answers 400 invalid_request for a malformed Bearer header", async () => {
    const res = await call("/charge", "Bearer");
    expect(res.status).toBe(400);
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer realm="payment-service", error="invalid_request", error_description="the Authorization header is not Bearer followed by one token"',
    );
  });

  it("answers 400 for two Authorization header fields", async () => {
    const token = await mint();
    const head = await rawRequest(
      `POST /charge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer ${token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    expect(head).toMatch(/^HTTP\/1.1 400/);
    expect(head).toMatch(/error="invalid_request"/);
  });

  it("answers 401 invalid_token with the contract's challenge for a bad token", async () => {
    const res = await call("/charge", `Bearer ${await mint({ claims: { aud: "someone-else" } })}`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer realm="payment-service", error="invalid_token", error_description="the access token is not meant for this resource server"',
    );
    expect(await res.json()).toEqual({
      error: "invalid_token",
      error_description: "the access token is not meant for this resource server",
    });
  });

  it("answers 401 invalid_token for an oversized token", async () => {
    const res = await call("/charge", `Bearer ${"a".repeat(9000)}`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error_description="the access token is too large"');
  });

  it("answers 503 with Retry-After when the token's key cannot be fetched", async () => {
    await verifier.load();
    issuer.mode = "fail";
    clock.advance(60); // past any cooldown
    const res = await call("/charge", `Bearer ${await mint({ key: await makeKey("ES256") })}`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("10");
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(await res.json()).toEqual({ error: "temporarily_unavailable" });
    expect(events.at(-1)).toMatchObject({ type: "rejected", event: { error: { status: 503, code: "temporarily_unavailable" } } });
  });
});

describe("scope", () => {
  it.each([["charge:read"], ["charge:customers"], ["charge:customer:x"], ["Charge:Customer"], [""]])(
    "answers 403 insufficient_scope for scope %j on /charge",
    async (scope) => {
      const res = await call("/charge", `Bearer ${await mint({ claims: { scope } })}`);
      expect(res.status).toBe(403);
      expect(res.headers.get("www-authenticate")).toBe(
        'Bearer realm="payment-service", error="insufficient_scope", scope="charge:customer"',
      );
    },
  );

  it("requireScope guards a route on its own", async () => {
    const reader = await mint({ claims: { sub: "reporting-service", client_id: "reporting-service", scope: "charge:read" } });
    const ok = await call("/charges/ch_1", `Bearer ${reader}`, { method: "GET" });
    expect(ok.status).toBe(200);
    const denied = await call("/charges/ch_1", `Bearer ${await mint()}`, { method: "GET" });
    expect(denied.status).toBe(403);
    expect(denied.headers.get("www-authenticate")).toBe(
      'Bearer realm="payment-service", error="insufficient_scope", scope="charge:read"',
    );
  });
});

describe("misuse", () => {
  it("a listener that throws becomes an error for the renderer, not an unhandled rejection", async () => {
    const guard = requireAccessToken(verifier, {
      realm: "payment-service",
      onVerified: () => {
        throw new Error("disk full");
      },
    });
    const request = { url: "/charge", rawHeaders: ["Authorization", `Bearer ${await mint()}`] };
    const error = await new Promise((resolve) => guard(request as never, { locals: {} } as never, resolve));
    expect((error as Error).message).toBe("disk full");
  });

  it("requireScope without requireAccessToken before it fails closed, as a server error", async () => {
    const guard = requireScope("charge:read", { realm: "payment-service" });
    const error = await new Promise((resolve) => guard({} as never, { locals: {} } as never, resolve));
    expect(error).toBeInstanceOf(Error);
    expect((error as { expose?: unknown }).expose).toBeUndefined();
    expect(() => accessTokenClaims({ locals: {} } as never)).toThrow(/requireAccessToken/);
  });

  it("a required scope that is not RFC 6749 scope tokens is refused at start", () => {
    expect(() => requireAccessToken(verifier, { realm: "r", scope: "charge:customer  x" })).toThrow(TypeError);
    expect(() => requireScope("", { realm: "r" })).toThrow(TypeError);
    expect(() => requireScope(["a\"b"], { realm: "r" })).toThrow(TypeError);
  });
});

describe("events", () => {
  it("onVerified gets the verified token and each check passed, in words", async () => {
    const token = await mint();
    await call("/charge", `Bearer ${token}`);
    await call("/charge", `Bearer ${token}`);
    const verified = events.flatMap((e) => (e.type === "verified" ? [e.event] : []));
    expect(verified).toHaveLength(2);
    expect(verified[0]!.token).toMatchObject({
      claims: { client_id: "order-service", sub: "order-service", aud: "payment-service", iss: issuer.issuer, scope: "charge:customer", exp: clock.sec + 300 },
      header: { kid: issuer.key.kid, alg: "RS256", typ: "at+jwt" },
      scopes: ["charge:customer"],
      cached: false,
    });
    expect(verified[0]!.checks).toEqual([
      `signature (RS256, kid ${issuer.key.kid})`,
      "typ at+jwt",
      `iss ${issuer.issuer}`,
      "aud payment-service",
      `exp ${new Date((clock.sec + 300) * 1000).toISOString()} not passed`,
      "iat not in the future",
      "scope charge:customer",
    ]);
    const [signature, ...rest] = verified[0]!.checks;
    expect(verified[1]!.token.cached).toBe(true);
    expect(verified[1]!.checks).toEqual([`${signature}, verified on first use and cached`, ...rest]);
  });

  it("describes an exp no Date can hold as the number it is, never throwing, whatever verifier the guard is given", async () => {
    // createVerifier refuses such a token as invalid_token (hardening #10)...
    expect((await call("/charge", `Bearer ${await mint({ claims: { exp: 8.64e15 } })}`)).status).toBe(401);
    // ...but a guard takes any TokenVerifier, and describing what it let through must not throw
    const verified = await verifier.verify(await mint());
    const lenient = { verify: async () => ({ ...verified, claims: { ...verified.claims, exp: 8.64e15 } }) } as unknown as TokenVerifier;
    let checks: readonly string[] = [];
    const guard = new BearerGuard(lenient, { realm: "payment-service", onVerified: (event) => (checks = event.checks) });
    await guard.check({ authorization: "Bearer any" });
    expect(checks).toContain("exp 8640000000000000 not passed");
  });

  it("onRejected gets the answer the request got, realm included", async () => {
    const token = await mint({ claims: { scope: "charge:read" } });
    await call("/charge", `Bearer ${token}`);
    await call("/charge");
    const rejected = events.flatMap((e) => (e.type === "rejected" ? [e.event.error] : []));
    expect(rejected.map((error) => [error.status, error.code, error.description, error.realm])).toEqual([
      [403, "insufficient_scope", "the access token does not grant the scope charge:customer", "payment-service"],
      [401, "unauthorized", "this resource needs a Bearer access token", "payment-service"],
    ]);
  });
});

function rawRequest(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const socket = connect(Number(url.port), url.hostname, () => socket.end(text));
    let data = "";
    socket.on("data", (chunk: Buffer) => (data += chunk.toString("latin1")));
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
}
