import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { clientSecretBasic, TokenClient, type TokenCacheOutcome } from "./index.js";
import { issue, manualClock, startFakeAuthServer, type FakeAuthServer } from "./testing/fake-auth-server.js";

// What the SDK would install: spans kept in memory, the context carried across awaits, W3C propagation.
const exported = new InMemorySpanExporter();
beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exported)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

let as: FakeAuthServer;
beforeEach(async () => {
  as = await startFakeAuthServer();
  as.respond(issue(100));
});
afterEach(async () => {
  await as.close();
  exported.reset();
});

const params = { audience: "payment-service", scope: "charge:customer" };
const spans = (name: string) => exported.getFinishedSpans().filter((span) => span.name === name);
const outcomes = () => spans("TokenClient.getToken").map((span) => span.attributes["oauth.token.cache"] as TokenCacheOutcome);

describe("the TokenClient.getToken span", () => {
  it("on a miss, holds the discovery and the token request as client spans, whose traceparent reaches the server", async () => {
    const tokens = new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: clientSecretBasic("super-secret") });
    const token = await tokens.getToken(params);

    const [lookup] = spans("TokenClient.getToken");
    expect(lookup?.attributes).toMatchObject({
      "oauth.token.cache": "miss",
      "oauth.client_id": "order-service",
      "oauth.audience": "payment-service",
      "oauth.client_auth_method": "client_secret_basic",
      "oauth.token.fingerprint": expect.stringMatching(/^sha256:[0-9a-f]{12}$/),
    });
    const [post] = spans("POST /token");
    expect(post?.kind).toBe(SpanKind.CLIENT);
    expect(post?.parentSpanContext?.spanId).toBe(lookup?.spanContext().spanId);
    expect(post?.attributes).toMatchObject({ "http.request.method": "POST", "url.full": `${as.url}/token`, "http.response.status_code": 200 });
    expect(spans("GET /.well-known/oauth-authorization-server")).toHaveLength(1);
    expect(as.tokenRequests[0]?.headers.traceparent).toBe(`00-${post?.spanContext().traceId}-${post?.spanContext().spanId}-01`);

    const everything = JSON.stringify(exported.getFinishedSpans().map((span) => [span.attributes, span.events]));
    expect(everything).not.toContain("super-secret");
    expect(everything).not.toContain(token.accessToken);
  });

  it("tells a hit, a wait on another caller's request, and a refresh ahead apart", async () => {
    const clock = manualClock();
    const tokens = new TokenClient({ issuer: as.issuer, clientId: "order-service", clientAuth: clientSecretBasic("super-secret"), clock: clock.now, random: () => 0 });
    await Promise.all([tokens.getToken(params), tokens.getToken(params)]);
    await tokens.getToken(params);
    clock.advance(90_000);
    await tokens.getToken(params);
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(outcomes()).toEqual(["miss", "wait", "hit", "refresh"]);
    expect(spans("POST /token")).toHaveLength(2);
    const [refresh] = spans("TokenClient.refresh");
    expect(spans("POST /token")[1]?.parentSpanContext?.spanId).toBe(refresh?.spanContext().spanId);
  });
});
