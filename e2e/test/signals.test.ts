import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportTo, startOtlpReceiver, type ReceivedSpan } from "../../scripts/otlp-receiver.mjs";
import { parsePrometheusText, valueOf } from "./prometheus.js";
import { accessToken, basic, eventually, postJson, startTestStack, type Reply, type Stack } from "./support.js";

/**
 * The demo's run against the three built apps, exporting their spans over
 * OTLP/HTTP to a receiver in this test: two orders (the first fetches a
 * token, the second reuses it), then reporting-service's token refused on
 * /charge. Then what the traces, the logs and /metrics say about it.
 */
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let stack: Stack;
const orders: Reply[] = [];
let refused: Reply;
let reportingToken: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const env = exportTo(receiver.url);
  stack = await startTestStack({ "auth-server": env, "payment-service": env, "order-service": env });
  for (const amount of [1299, 2599]) orders.push(await postJson(`${stack.urls.order}/orders`, { customerId: "cus_1", amount, currency: "EUR" }));
  reportingToken = await accessToken(stack.urls.auth, "reporting-service", "reporting-secret", "charge:read");
  refused = await postJson(
    `${stack.urls.payment}/charge`,
    { orderId: "refused", customerId: "cus_3", amount: 500, currency: "EUR" },
    { authorization: `Bearer ${reportingToken}`, "idempotency-key": "refused" },
  );
  // the apps send their spans in batches every 100 ms
  await eventually(async () => (named("Charges.create").length === 2 && named("BearerGuard.check").length === 3 ? true : undefined), 15_000, "the spans");
});
afterAll(async () => {
  await stack?.dispose();
  await receiver?.close();
});

const named = (name: string, where: (span: ReceivedSpan) => boolean = () => true) => receiver.spans.filter((span) => span.name === name && where(span));

/** The trace of the request that `reply` answered, found by its request id. */
function traceOf(reply: Reply): ReceivedSpan[] {
  const requestId = reply.headers.get("x-request-id");
  const server = receiver.spans.find((span) => span.kind === "server" && span.attributes["request.id"] === requestId);
  if (!server) throw new Error(`no server span for request ${requestId}`);
  return receiver.trace(server.traceId);
}

/** The one span of `trace` named `name` (of `service`). */
function one(trace: ReceivedSpan[], name: string, service?: string): ReceivedSpan {
  const found = trace.filter((span) => span.name === name && (service === undefined || span.service === service));
  expect(found.map((span) => `${span.service} ${span.name}`), `${service ?? ""} ${name}`).toHaveLength(1);
  return found[0]!;
}

const childOf = (child: ReceivedSpan, parent: ReceivedSpan) => expect(child.parentSpanId, `${child.name} under ${parent.name}`).toBe(parent.spanId);
const checks = (span: ReceivedSpan) => span.events.filter((event) => event.name === "check").map((event) => event.attributes.check);

describe("one order is one trace across the three apps", () => {
  it("the first order: the order, the token request with each check of step 2, the charge with each check of step 5", () => {
    expect(orders[0]?.body.status).toBe("paid");
    const trace = traceOf(orders[0]!);
    expect(new Set(trace.map((span) => span.service))).toEqual(new Set(["order-service", "auth-server", "payment-service"]));

    const order = one(trace, "POST /orders", "order-service");
    const settle = one(trace, "Settler.settle");
    childOf(settle, order);
    expect(settle.attributes).toMatchObject({ "order.id": orders[0]!.body.id, "order.outcome": "paid" });

    const lookup = one(trace, "TokenClient.getToken");
    childOf(lookup, settle);
    expect(lookup.attributes).toMatchObject({ "oauth.token.cache": "miss", "oauth.client_id": "order-service", "oauth.client_auth_method": "client_secret_basic" });

    const tokenCall = one(trace, "POST /token", "order-service");
    const tokenServed = one(trace, "POST /token", "auth-server");
    const issuing = one(trace, "TokenIssuer.token");
    childOf(tokenCall, lookup);
    childOf(tokenServed, tokenCall);
    childOf(issuing, tokenServed);
    expect(issuing.attributes).toMatchObject({
      "oauth.client_id": "order-service",
      "oauth.client_auth_method": "client_secret_basic",
      "oauth.scope": "charge:customer",
      "oauth.audience": "payment-service",
      "jwt.header.alg": "RS256",
      "jwt.header.typ": "at+jwt",
      "jwt.header.kid": expect.any(String),
    });
    expect(checks(issuing)).toEqual(["client known", "secret matches", "scope allowed: charge:customer", "audience allowed: payment-service"]);

    const chargeCall = one(trace, "POST /charge", "order-service");
    const chargeServed = one(trace, "POST /charge", "payment-service");
    const guard = one(trace, "BearerGuard.check");
    const charge = one(trace, "Charges.create");
    childOf(chargeCall, settle);
    childOf(chargeServed, chargeCall);
    childOf(guard, chargeServed);
    childOf(charge, chargeServed);
    // the charge leaves once the token is in hand (both spans of order-service: one clock; the apps' clocks differ by a little)
    expect(tokenCall.endMs).toBeLessThanOrEqual(chargeCall.startMs);
    expect(guard.attributes).toMatchObject({ "oauth.client_id": "order-service", "oauth.token.cached": false, "jwt.claims.jti": issuing.attributes["jwt.claims.jti"] });
    expect(checks(guard)).toEqual(expect.arrayContaining(["typ at+jwt", "aud payment-service", "scope charge:customer"]));
    expect(charge.attributes).toMatchObject({ "charge.status": "succeeded", "charge.id": orders[0]!.body.chargeId });
  });

  it("the second order reuses the cached token: no /token span in its trace", () => {
    const trace = traceOf(orders[1]!);
    expect(one(trace, "TokenClient.getToken").attributes).toMatchObject({ "oauth.token.cache": "hit" });
    expect(trace.filter((span) => span.name === "POST /token" || span.name === "TokenIssuer.token")).toEqual([]);
    expect(one(trace, "BearerGuard.check").attributes).toMatchObject({ "oauth.token.cached": true });
    expect(one(trace, "Charges.create").attributes).toMatchObject({ "charge.status": "succeeded" });
  });

  it("the refused charge says why, and has no Charges.create span", () => {
    expect(refused.status).toBe(403);
    const trace = traceOf(refused);
    const guard = one(trace, "BearerGuard.check");
    expect(guard.attributes).toMatchObject({ "oauth.error": "insufficient_scope" });
    expect(guard.status).toEqual({ code: "error", message: "insufficient_scope" });
    expect(trace.filter((span) => span.name === "Charges.create")).toEqual([]);
  });

  it("no exported attribute, event, name or status holds a secret, a token or an Authorization header", () => {
    const exported = JSON.stringify(receiver.spans);
    for (const secret of ["super-secret", "reporting-secret", reportingToken, reportingToken.split(".")[2]!, basic("order-service", "super-secret").slice(6)]) {
      expect(exported).not.toContain(secret);
    }
    // order-service's token is never seen by this test: no JWT of any kind may be there
    expect(exported).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
    expect(exported).not.toMatch(/Bearer |Basic /);
  });

  it("each app's log lines of the order carry its trace_id, so a line found in the logs leads to its trace", () => {
    const traceId = one(traceOf(orders[0]!), "POST /orders").traceId;
    const line = (service: string, msg: string) => stack.logs.find((l) => l.service === service && l.msg === msg);
    expect(line("order-service", "token.fetched")?.trace_id).toBe(traceId);
    expect(line("order-service", "order.settled")?.trace_id).toBe(traceId);
    expect(line("auth-server", "token.issued")?.trace_id).toBe(traceId);
    expect(line("payment-service", "charge.created")?.trace_id).toBe(traceId);
    expect(stack.logs.find((l) => l.service === "order-service" && l.msg === "http.request" && l.req_id === orders[0]!.headers.get("x-request-id"))?.trace_id).toBe(traceId);
  });
});

describe("/metrics of each app counts what happened", () => {
  const scrape = async (url: string) => {
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await res.text());
  };

  it("auth-server: one token for the two orders, one for reporting-service, no refusal", async () => {
    const samples = await scrape(stack.urls.auth);
    expect(valueOf(samples, "oauth_token_requests_total", { auth_method: "client_secret_basic", result: "issued", alg: "RS256" })).toBe(2);
    expect(samples.filter((s) => s.name === "oauth_client_authentication_failures_total")).toEqual([]);
    expect(valueOf(samples, "http_server_request_duration_seconds_count", { http_request_method: "POST", http_route: "/token", http_response_status_code: "200" })).toBe(2);
    expect(valueOf(samples, "process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("order-service: one miss, one hit, one token fetched, two orders created and paid", async () => {
    const samples = await scrape(stack.urls.order);
    expect(valueOf(samples, "oauth_client_token_cache_lookups_total", { outcome: "miss" })).toBe(1);
    expect(valueOf(samples, "oauth_client_token_cache_lookups_total", { outcome: "hit" })).toBe(1);
    expect(valueOf(samples, "oauth_client_tokens_fetched_total")).toBe(1);
    expect(valueOf(samples, "orders_created_total")).toBe(2);
    expect(valueOf(samples, "orders_settled_total", { status: "paid" })).toBe(2);
  });

  it("payment-service: two tokens verified (once from the cache), one refused for insufficient_scope, two charges", async () => {
    const samples = await scrape(stack.urls.payment);
    expect(valueOf(samples, "oauth_token_verifications_total", { result: "verified", cached: "false" })).toBe(1);
    expect(valueOf(samples, "oauth_token_verifications_total", { result: "verified", cached: "true" })).toBe(1);
    expect(valueOf(samples, "oauth_token_verifications_total", { result: "rejected", reason: "insufficient_scope" })).toBe(1);
    expect(valueOf(samples, "charges_total", { outcome: "succeeded" })).toBe(2);
    expect(valueOf(samples, "oauth_jwks_fetches_total", { result: "loaded", reason: "load" })).toBeGreaterThanOrEqual(1);
    // no label holds a client id
    expect(samples.flatMap((s) => Object.values(s.labels))).not.toContain("reporting-service");
  });
});
