import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { startOrderService, type RunningOrderService } from "../src/server.js";
import { capturingLogger, eventually, startAuthStandIn, startPaymentStandIn, tempDir } from "./support/stand-ins.js";

let auth: Awaited<ReturnType<typeof startAuthStandIn>>;
let payment: Awaited<ReturnType<typeof startPaymentStandIn>>;
let data: ReturnType<typeof tempDir>;
let service: RunningOrderService | undefined;
let log: ReturnType<typeof capturingLogger>;

beforeEach(async () => {
  auth = await startAuthStandIn();
  payment = await startPaymentStandIn(auth);
  data = tempDir();
  log = capturingLogger();
});
afterEach(async () => {
  await service?.close();
  service = undefined;
  await Promise.all([auth.stop(), payment.stop()]);
  data.remove();
});

async function start(env: Record<string, string> = {}) {
  const config = loadConfig({
    PORT: "0",
    AUTH_SERVER_URL: auth.url,
    PAYMENT_SERVICE_URL: payment.url,
    DATA_DIR: data.path,
    SETTLE_WAIT_MS: "2000",
    RETRY_MAX_DELAY_MS: "200",
    ...env,
  });
  service = await startOrderService(config, { logger: log.logger, pollIntervalMs: 20, retryBaseDelayMs: 20 });
  return service;
}

async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${service!.url}/orders`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function getOrder(id: string) {
  const res = await fetch(`${service!.url}/orders/${id}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Waits until the order is paid; its body. */
function untilPaid(id: unknown, timeoutMs?: number) {
  return eventually(async () => {
    const order = await getOrder(id as string);
    return order.body.status === "paid" ? order.body : undefined;
  }, timeoutMs);
}

const eur = { customerId: "cus_42", amount: 1299, currency: "EUR" };
const events = () => log.lines.map((l) => l.msg);

describe("POST /orders", () => {
  it("answers 201 paid when the charge settles within the request, charged with the order id as Idempotency-Key", async () => {
    await start();
    const res = await post(eur);

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "paid", chargeId: "ch_1", ...eur });
    expect(res.headers.get("location")).toBe(`/orders/${res.body.id}`);
    expect(payment.requests).toHaveLength(1);
    expect(payment.requests[0]).toMatchObject({ idempotencyKey: res.body.id, token: "tok-1", body: { orderId: res.body.id, ...eur } });
    expect(Object.fromEntries(auth.tokenRequests[0]!.form)).toEqual({
      grant_type: "client_credentials",
      scope: "charge:customer",
      resource: "https://payment.internal",
    });
    expect(auth.tokenRequests[0]!.headers.authorization).toMatch(/^Basic /);

    const again = await getOrder(res.body.id as string);
    expect(again).toEqual({ status: 200, body: res.body });
  });

  it("reuses the cached token for the next orders, and logs the flow by event name", async () => {
    await start();
    const first = await post(eur);
    await post(eur);
    expect(auth.tokenRequests).toHaveLength(1);
    expect(payment.requests.map((r) => r.token)).toEqual(["tok-1", "tok-1"]);

    expect(events()).toEqual(expect.arrayContaining(["order.created", "token.fetched", "token.reused", "charge.requested", "order.settled"]));
    const requested = log.lines.find((l) => l.msg === "charge.requested")!;
    expect(requested).toMatchObject({ service: "order-service", order_id: first.body.id, url: `${payment.url}/charge`, token: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) });
    expect(log.lines.find((l) => l.msg === "order.settled")).toMatchObject({ status: "paid", charge_id: "ch_1" });
    expect(JSON.stringify(log.lines)).not.toContain("tok-1");
    expect(JSON.stringify(log.lines)).not.toContain("super-secret");
  });

  it("answers 201 payment_failed when payment-service declines", async () => {
    await start();
    const res = await post({ ...eur, amount: 250_000 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "payment_failed", reason: "card_declined" });
    expect((await getOrder(res.body.id as string)).body.status).toBe("payment_failed");
  });

  it.each([
    [400, "invalid_request"],
    [403, "insufficient_scope"],
    [422, "idempotency_key_reused"],
  ])("answers 201 payment_failed when payment-service refuses with %i %s", async (status, error) => {
    payment.answer = { status, body: { error } };
    await start();
    const res = await post(eur);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "payment_failed", reason: error });
  });

  it.each([
    [500, "server_error"],
    [429, "too_many_requests"],
    [404, "not_found"],
  ])("keeps the order pending when payment-service answers %i", async (status, error) => {
    payment.answer = { status, body: { error } };
    await start();
    const res = await post(eur);
    expect(res.status).toBe(202);
    payment.answer = undefined;
    await untilPaid(res.body.id);
  });

  it("answers 201 payment_failed when the authorization server refuses order-service, and sends no charge", async () => {
    auth.refuse = "invalid_client";
    await start();
    const res = await post(eur);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "payment_failed", reason: "invalid_client" });
    expect(payment.requests).toHaveLength(0);
  });

  it("answers 202 pending while payment-service is down, and the worker settles the order once it is back", async () => {
    await payment.stop();
    await start();
    const res = await post(eur);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: expect.any(String), status: "pending" });

    await payment.start();
    const settled = await eventually(async () => {
      const order = await getOrder(res.body.id as string);
      return order.body.status === "pending" ? undefined : order.body;
    });
    expect(settled).toMatchObject({ status: "paid", chargeId: "ch_1" });
    expect(payment.charges.size).toBe(1);
  });

  it("answers 202 pending while payment-service answers 503, then settles", async () => {
    payment.mode = "unavailable";
    await start();
    const res = await post(eur);
    expect(res.status).toBe(202);
    payment.mode = "normal";
    await untilPaid(res.body.id);
  });

  it("answers 202 pending while auth-server is down, then settles once it is up", async () => {
    await auth.stop();
    await start();
    const res = await post(eur);
    expect(res.status).toBe(202);
    expect(payment.requests).toHaveLength(0);

    await auth.start();
    await untilPaid(res.body.id);
    expect(payment.charges.size).toBe(1);
  });

  it("bounds the wait: answers 202 while the charge hangs, and settles it when the answer comes", async () => {
    payment.mode = "hold";
    await start({ SETTLE_WAIT_MS: "100" });
    const res = await post(eur);
    expect(res.status).toBe(202); // payment-service holds every charge until released below
    await eventually(() => (payment.requests.length === 1 ? true : undefined));

    payment.mode = "normal";
    payment.release();
    await untilPaid(res.body.id);
    expect(payment.requests).toHaveLength(1); // the worker did not race the attempt in flight
  });

  it("cannot charge twice when an answer is lost: the retry carries the same Idempotency-Key", async () => {
    payment.mode = "lose-answer";
    await start();
    const res = await post(eur);
    expect(res.status).toBe(202);
    payment.mode = "normal";
    const settled = await untilPaid(res.body.id);
    expect(payment.requests.length).toBeGreaterThanOrEqual(2);
    expect(new Set(payment.requests.map((r) => r.idempotencyKey))).toEqual(new Set([res.body.id]));
    expect(payment.charges.size).toBe(1);
    expect(settled.chargeId).toBe("ch_1");
  });

  it("treats 409 idempotency_key_in_use as still processing, and tries again later", async () => {
    payment.mode = "in-use";
    await start();
    const res = await post(eur);
    expect(res.status).toBe(202);
    await eventually(() => (payment.requests.length >= 2 ? true : undefined));
    payment.mode = "normal";
    await untilPaid(res.body.id);
  });

  it("gets a new token and retries once when payment-service answers 401 invalid_token", async () => {
    payment.rejectTokens.add("tok-1");
    await start();
    const res = await post(eur);
    expect(res.status).toBe(201);
    expect(res.body.status).toBe("paid");
    expect(payment.requests.map((r) => r.token)).toEqual(["tok-1", "tok-2"]);
    expect(auth.tokenRequests).toHaveLength(2);
  });

  it("keeps settling other pending orders while one of its charges hangs", async () => {
    await payment.stop();
    await start();
    const slow = await post({ ...eur, customerId: "cus_slow" });
    expect(slow.status).toBe(202);
    payment.holdCustomer = "cus_slow";
    await payment.start();
    // the worker's attempt for the slow order is now hanging at payment-service
    await eventually(() => (payment.requests.some((r) => r.body.customerId === "cus_slow") ? true : undefined));

    payment.failCustomer = "cus_fast";
    const fast = await post({ ...eur, customerId: "cus_fast" });
    expect(fast.status).toBe(202);
    payment.failCustomer = undefined;
    await untilPaid(fast.body.id, 5_000);
    expect((await getOrder(slow.body.id as string)).body.status).toBe("pending");

    payment.holdCustomer = undefined;
    payment.releaseHeld();
    await untilPaid(slow.body.id);
  });

  it("resumes pending orders after a restart", async () => {
    await payment.stop();
    await start();
    const first = await post(eur);
    const second = await post({ ...eur, amount: 500 });
    expect([first.status, second.status]).toEqual([202, 202]);
    await service!.close();
    service = undefined;

    await payment.start();
    await start();
    for (const id of [first.body.id, second.body.id]) {
      await untilPaid(id);
    }
    expect(payment.charges.size).toBe(2);
    expect(log.lines.find((l) => l.msg === "service.started" && l.pending_resumed === 2)).toBeDefined();
  });
});

describe("private_key_jwt", () => {
  it("authenticates with a signed assertion when configured so, and the order is paid", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyFile = join(data.path, "client-key.pem");
    writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    await start({ CLIENT_AUTH_METHOD: "private_key_jwt", CLIENT_PRIVATE_KEY_FILE: keyFile, CLIENT_KEY_ID: "order-key-1" });

    const res = await post(eur);
    expect(res.body.status).toBe("paid");
    const { form, headers } = auth.tokenRequests[0]!;
    expect(headers.authorization).toBeUndefined();
    expect(form.get("client_assertion_type")).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    const assertion = form.get("client_assertion")!;
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: "RS256", kid: "order-key-1" });
    await jwtVerify(assertion, publicKey, { issuer: "order-service", subject: "order-service", audience: auth.url, maxTokenAge: 120 });
  });
});

describe("Idempotency-Key on POST /orders", () => {
  it("returns the same order for the same key, never a second one", async () => {
    await start();
    const first = await post(eur, { "idempotency-key": "client-key-1" });
    const again = await post(eur, { "idempotency-key": "client-key-1" });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(payment.charges.size).toBe(1);
    expect(log.lines.filter((l) => l.msg === "order.created")).toHaveLength(1);
  });

  it("returns the one order to concurrent requests with the same key", async () => {
    await start();
    const results = await Promise.all(Array.from({ length: 10 }, () => post(eur, { "idempotency-key": "burst" })));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(payment.charges.size).toBe(1);
  });

  it("answers 422 idempotency_key_reused for the same key with another body", async () => {
    await start();
    await post(eur, { "idempotency-key": "client-key-2" });
    const res = await post({ ...eur, amount: 1300 }, { "idempotency-key": "client-key-2" });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ error: "idempotency_key_reused", error_description: expect.any(String) });
    expect(payment.charges.size).toBe(1);
  });

  it("refuses a malformed key", async () => {
    await start();
    for (const key of ["x".repeat(256), '"a"b"', '"unterminated']) expect((await post(eur, { "idempotency-key": key })).status, key).toBe(400);
  });
});

describe("invalid orders", () => {
  it.each([
    ["amount zero", { ...eur, amount: 0 }],
    ["a fractional amount", { ...eur, amount: 12.5 }],
    ["an amount as a string", { ...eur, amount: "1299" }],
    ["a lower-case currency", { ...eur, currency: "eur" }],
    ["an unknown currency", { ...eur, currency: "XYZ" }],
    ["no customerId", { amount: 1299, currency: "EUR" }],
    ["a customerId with a space, which payment-service refuses (hardening #12)", { ...eur, customerId: "a b" }],
    ["an array", [eur]],
    ["malformed JSON", "{"],
  ])("answers 400 invalid_request for %s, and stores nothing", async (_name, body) => {
    await start();
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "invalid_request", error_description: expect.any(String) });
    expect(payment.requests).toHaveLength(0);
    expect(auth.tokenRequests).toHaveLength(0);
  });
});

describe("GET /orders/:id and health", () => {
  it("answers 404 for an unknown order", async () => {
    await start();
    const res = await getOrder("no-such-order");
    expect(res).toEqual({ status: 404, body: { error: "not_found", error_description: "no such order" } });
  });

  it("is ready once its store is open, even with auth-server and payment-service down", async () => {
    await Promise.all([auth.stop(), payment.stop()]);
    await start();
    const res = await fetch(`${service!.url}/readyz`);
    expect(res.status).toBe(200);
  });
});

describe("GET /metrics at order-service", () => {
  it("counts how the token cache answered, the tokens fetched, and orders created and settled", async () => {
    await start();
    for (const amount of [100, 200, 300]) expect((await post({ customerId: "cus_1", amount, currency: "EUR" })).body.status).toBe("paid");

    const text = await (await fetch(`${service!.url}/metrics`)).text();
    expect(text).toContain('oauth_client_token_cache_lookups_total{outcome="miss"} 1');
    expect(text).toContain('oauth_client_token_cache_lookups_total{outcome="hit"} 2');
    expect(text).toContain("oauth_client_tokens_fetched_total 1");
    expect(text).toContain("orders_created_total 3");
    expect(text).toContain('orders_settled_total{status="paid"} 3');
    expect(text).toContain('http_server_request_duration_seconds_count{http_request_method="POST",http_response_status_code="201",http_route="/orders"} 3');
  });
});
