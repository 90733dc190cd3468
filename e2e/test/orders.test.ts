import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnApp, stackEnv, stopApp, waitUntilReady } from "../../scripts/stack.mjs";
import { accessToken, eventually, postJson, send, startTestStack, type Stack } from "./support.js";

// docs/wire-contract.md, order-service: POST /orders and GET /orders/:id, through the
// whole flow with the three real apps as separate processes.
let stack: Stack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.dispose();
});

const order = (amount = 1299) => ({ customerId: "cus_42", amount, currency: "EUR" });
const placeOrder = (body: unknown, headers: Record<string, string> = {}) => postJson(`${stack.urls.order}/orders`, body, headers);
const events = (service: string, msg: string) => stack.logs.filter((l) => l.service === service && l.msg === msg);

/** Exactly one charge for the order, in the ledger: read back through GET /charges/:id and the log. */
async function expectOneCharge(orderId: string) {
  const order = await send(`${stack.urls.order}/orders/${orderId}`);
  const readToken = await accessToken(stack.urls.auth, "reporting-service", "reporting-secret", "charge:read");
  const charge = await send(`${stack.urls.payment}/charges/${order.body.chargeId}`, { headers: { authorization: `Bearer ${readToken}` } });
  expect(charge.body.orderId).toBe(orderId);
  // Log lines arrive asynchronously: wait for the charge's line, then make sure there is only one.
  await eventually(async () => (events("payment-service", "charge.created").some((l) => l.order_id === orderId) ? true : undefined));
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(events("payment-service", "charge.created").filter((l) => l.order_id === orderId)).toHaveLength(1);
}

describe("POST /orders", () => {
  it("201 paid: the order is charged with a token the auth server issued, and the charge is there", async () => {
    const res = await placeOrder(order());
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "paid" });
    expect(typeof res.body.id).toBe("string");
    expect(typeof res.body.chargeId).toBe("string");

    const readToken = await accessToken(stack.urls.auth, "reporting-service", "reporting-secret", "charge:read");
    const charge = await send(`${stack.urls.payment}/charges/${res.body.chargeId}`, { headers: { authorization: `Bearer ${readToken}` } });
    expect(charge.status).toBe(200);
    expect(charge.body).toMatchObject({ orderId: res.body.id, amount: 1299, currency: "EUR", status: "succeeded" });
  });

  it("reuses the cached token: more orders cause no more token requests", async () => {
    const before = events("auth-server", "token.issued").filter((l) => l.client_id === "order-service").length;
    expect(before).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect((await placeOrder(order())).status).toBe(201);
    const after = events("auth-server", "token.issued").filter((l) => l.client_id === "order-service").length;
    expect(after).toBe(before);
  });

  it("201 payment_failed with a reason when payment declines", async () => {
    const res = await placeOrder(order(100_001));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "payment_failed" });
    expect(typeof res.body.reason).toBe("string");
  });

  it("400 invalid_request for an invalid body", async () => {
    for (const body of [{}, order(0), { ...order(), currency: "eur" }, { ...order(), amount: "12" }]) {
      const res = await placeOrder(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toBe("invalid_request");
    }
    const notJson = await send(`${stack.urls.order}/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(notJson.status).toBe(400);
  });

  it("the same Idempotency-Key returns the same order, never a second one", async () => {
    const first = await placeOrder(order(777), { "idempotency-key": "order-key-1" });
    const second = await placeOrder(order(777), { "idempotency-key": "order-key-1" });
    expect(first.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    await expectOneCharge(first.body.id);
  });
});

describe("one set of field rules at both edges", () => {
  // Values that order-service accepted and payment-service refused (or the
  // other way round) before hardening #12, found by comparing the two
  // validators: an order accepted with one of them could only end
  // payment_failed. The amount and currency rules already agreed.
  const customerIds = ["a b", " cus_1", "cus_1 "];
  const idempotencyKeys = ['"a b"', '"a"b"', '"a\\b"', '"a\\"b"', '"unterminated'];

  const charge = async (fields: Record<string, unknown>, key: string) => {
    const token = await accessToken(stack.urls.auth, "order-service", "super-secret", "charge:customer");
    return postJson(`${stack.urls.payment}/charge`, { orderId: `ord_${randomUUID()}`, ...order(), ...fields }, { authorization: `Bearer ${token}`, "idempotency-key": key });
  };

  it('hardening #12: an order with customerId "a b" is refused with 400 and never becomes payment_failed; payment-service refuses it too', async () => {
    for (const customerId of customerIds) {
      const what = JSON.stringify(customerId);
      const placed = await placeOrder({ ...order(), customerId });
      expect(placed.status, `order-service, customerId ${what}: ${JSON.stringify(placed.body)}`).toBe(400);
      expect(placed.body.error, what).toBe("invalid_request");
      const charged = await charge({ customerId }, randomUUID());
      expect(charged.status, `payment-service, customerId ${what}`).toBe(400);
    }
    // before, order-service took them, and payment-service's 400 settled them as failed
    expect(events("order-service", "order.settled").filter((l) => l.reason === "invalid_request")).toEqual([]);
  });

  it("hardening #12: an Idempotency-Key is accepted or refused alike by order-service and payment-service", async () => {
    for (const key of idempotencyKeys) {
      const placed = await placeOrder(order(), { "idempotency-key": key });
      const charged = await charge({}, key);
      const verdict = (status: number) => (status === 400 ? "refused" : "accepted");
      expect(verdict(placed.status), `${key}: order-service ${placed.status}, payment-service ${charged.status}`).toBe(verdict(charged.status));
    }
  });
});

describe("GET /orders/:id", () => {
  it("200 with the order and its status, 404 when unknown", async () => {
    const placed = await placeOrder(order());
    const res = await send(`${stack.urls.order}/orders/${placed.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: placed.body.id, status: "paid", amount: 1299, currency: "EUR" });
    expect((await send(`${stack.urls.order}/orders/does-not-exist`)).status).toBe(404);
  });
});

describe("payment-service unreachable", () => {
  // Last: it stops and restarts payment-service.
  it("202 pending while payment-service is down, then paid once it is back, charged exactly once", async () => {
    const payment = stack.apps["payment-service"];
    await stopApp(payment);
    const res = await placeOrder(order(4242));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "pending" });
    expect((await send(`${stack.urls.order}/orders/${res.body.id}`)).body.status).toBe("pending");

    const port = Number(new URL(stack.urls.payment).port);
    const env = stackEnv({ auth: Number(new URL(stack.urls.auth).port), order: 0, payment: port }, { payment: `${stack.dataRoot}/payment` });
    const restarted = spawnApp("payment-service", env["payment-service"], (line) => stack.logs.push(line));
    stack.apps["payment-service"] = restarted;
    await waitUntilReady(`${restarted.url}/readyz`, restarted);

    const settled = await eventually(async () => {
      const current = await send(`${stack.urls.order}/orders/${res.body.id}`);
      return current.body.status === "paid" ? current.body : undefined;
    }, 30_000, "the pending order to be paid");
    expect(typeof settled.chargeId).toBe("string");
    await expectOneCharge(res.body.id);
  });
});
