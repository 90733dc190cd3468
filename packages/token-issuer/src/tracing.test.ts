import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { developmentRegistry } from "./development-registry.js";
import { SigningKeys } from "./signing-keys.js";
import { TokenIssuer } from "./token-issuer.js";

// What the SDK would install: spans kept in memory, the context carried across awaits.
const exported = new InMemorySpanExporter();
let dir: string;
let keys: SigningKeys;
beforeAll(async () => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exported)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  dir = mkdtempSync(join(tmpdir(), "token-issuer-tracing-"));
  keys = await SigningKeys.open({ path: dir, alg: "ES256", tokenTtlSeconds: 300, manage: true, clock: Date.now });
});
afterAll(() => {
  trace.disable();
  context.disable();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => exported.reset());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
const issuer = () => new TokenIssuer({ issuer: "https://as.example", registry: developmentRegistry(), keys, accessTokenTtl: 300 });

describe("the TokenIssuer.token span", () => {
  it("says who asked, for what, how they authenticated, which key signed, and each step-2 check in order", async () => {
    const answer = await issuer().token({
      authorization: basic("order-service", "super-secret"),
      params: new Map([["grant_type", "client_credentials"], ["scope", "charge:customer"]]),
      remoteAddress: "10.0.0.1",
    });
    const [span] = exported.getFinishedSpans();
    expect(span?.name).toBe("TokenIssuer.token");
    expect(span?.attributes).toMatchObject({
      "oauth.client_id": "order-service",
      "oauth.client_auth_method": "client_secret_basic",
      "oauth.requested.scope": "charge:customer",
      "oauth.scope": "charge:customer",
      "oauth.audience": "payment-service",
      "jwt.header.alg": "ES256",
      "jwt.header.typ": "at+jwt",
      "jwt.header.kid": keys.current().kid,
      "jwt.claims.sub": "order-service",
    });
    expect(span?.events.map((event) => event.attributes?.check)).toEqual([
      "client known",
      "secret matches",
      "scope allowed: charge:customer",
      "audience allowed: payment-service",
    ]);
    const attributes = JSON.stringify([span?.attributes, span?.events]);
    expect(attributes).not.toContain("super-secret");
    expect(attributes).not.toContain(answer.access_token.split(".")[2]);
  });

  it("says why a request was refused, with the presented client id only as a fingerprint", async () => {
    await expect(
      issuer().token({ authorization: basic("order-service-typo", "super-secret"), params: new Map([["grant_type", "client_credentials"]]), remoteAddress: "10.0.0.1" }),
    ).rejects.toMatchObject({ code: "invalid_client" });
    const [span] = exported.getFinishedSpans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "invalid_client" });
    expect(span?.attributes).toEqual({
      "oauth.error": "invalid_client",
      "oauth.client_auth_method": "client_secret_basic",
      "oauth.refusal_reason": "no enabled client with this id and secret",
      "oauth.client_fingerprint": expect.stringMatching(/^sha256:[0-9a-f]{12}$/),
    });
  });
});
