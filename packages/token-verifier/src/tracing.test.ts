import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BearerGuard } from "./guard.js";
import type { TokenVerifier, VerifiedAccessToken } from "./verifier.js";
import { InvalidTokenError } from "./errors.js";

// What the SDK would install: spans kept in memory, the context carried across awaits.
const exported = new InMemorySpanExporter();
beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exported)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  trace.disable();
  context.disable();
});
afterEach(() => exported.reset());

const TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvcmRlci1zZXJ2aWNlIn0.c2lnbmF0dXJlLW9mLWEtdG9rZW4";
const now = Math.floor(Date.now() / 1000);
const verified: VerifiedAccessToken = {
  claims: { iss: "https://as.example", sub: "order-service", client_id: "order-service", aud: "payment-service", scope: "charge:read", iat: now, exp: now + 300, jti: "j-1" },
  header: { alg: "ES256", kid: "k-1", typ: "at+jwt" },
  scopes: ["charge:read"],
  cached: false,
  checkedAt: now,
};
/** A verifier that accepts exactly {@link TOKEN}: the guard's own checks are what is traced here. */
const verifier = {
  verify: async (token: string) => {
    if (token !== TOKEN) throw new InvalidTokenError("the access token's signature is invalid");
    return verified;
  },
} as unknown as TokenVerifier;
const request = (token: string) => ({ authorization: [`Bearer ${token}`] });

describe("the BearerGuard.check span", () => {
  it("says who called, which key signed, and each step-5 check in order, and never holds the token", async () => {
    await new BearerGuard(verifier, { realm: "payments", scope: "charge:read" }).check(request(TOKEN));
    const [span] = exported.getFinishedSpans();
    expect(span?.name).toBe("BearerGuard.check");
    expect(span?.attributes).toMatchObject({
      "oauth.client_id": "order-service",
      "oauth.token.cached": false,
      "jwt.header.alg": "ES256",
      "jwt.header.kid": "k-1",
      "jwt.claims.jti": "j-1",
    });
    const checks = span?.events.map((event) => event.attributes?.check);
    expect(checks?.[0]).toBe("signature (ES256, kid k-1)");
    expect(checks?.at(-1)).toBe("scope charge:read");
    expect(JSON.stringify([span?.attributes, span?.events])).not.toContain(TOKEN.split(".")[2]);
  });

  it("says why a request was refused: insufficient_scope, for a token that passed every other check", async () => {
    await expect(new BearerGuard(verifier, { realm: "payments", scope: "charge:customer" }).check(request(TOKEN))).rejects.toMatchObject({
      code: "insufficient_scope",
    });
    const [span] = exported.getFinishedSpans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "insufficient_scope" });
    expect(span?.attributes).toEqual({
      "oauth.error": "insufficient_scope",
      "oauth.error_description": "the access token does not grant the scope charge:customer",
    });
  });

  it("says invalid_token for a token that fails verification", async () => {
    await expect(new BearerGuard(verifier, { realm: "payments" }).check(request(`${TOKEN}x`))).rejects.toBeInstanceOf(InvalidTokenError);
    expect(exported.getFinishedSpans()[0]?.attributes).toMatchObject({ "oauth.error": "invalid_token" });
  });
});
