import { afterAll, beforeAll, expect, it } from "vitest";
import { send } from "../support.js";
import { FaultStack } from "./fault-stack.js";
import { FAST_RECOVERY, SETTLE_TIMEOUT_MS } from "./knobs.js";
import { expectPaidExactlyOnce, readLedger } from "./ledger.js";
import { orderIds, placeOrders, waitUntilSettled } from "./orders.js";

// Issue 3, fault 1: auth-server is down when orders arrive.
let stack: FaultStack;
beforeAll(async () => {
  stack = await FaultStack.create(FAST_RECOVERY);
});
afterAll(async () => {
  await stack?.dispose();
});

it("orders placed while auth-server is down answer 202 pending, and all end paid once it is started", async () => {
  // payment-service needs the JWKS once, at start; then the auth server goes
  // away before order-service ever asked it for a token.
  await stack.start("auth-server");
  await stack.start("payment-service");
  await stack.stop("auth-server");
  await stack.start("order-service");

  const replies = await placeOrders(stack.urls.order, 10, 5);
  for (const reply of replies) {
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);
    expect(reply.body).toMatchObject({ status: "pending" });
  }
  const ids = orderIds(replies);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect((await send(`${stack.urls.order}/orders/${id}`)).body).toMatchObject({ id, status: "pending" });
  expect(stack.events("payment-service", "charge.created")).toEqual([]);

  await stack.start("auth-server");
  const orders = await waitUntilSettled(stack.urls.order, ids, SETTLE_TIMEOUT_MS);
  expectPaidExactlyOnce(orders, readLedger(stack.dataDir("payment-service")));
  expect(stack.tokensIssuedToOrderService().length).toBeGreaterThan(0);
}, 60_000);
