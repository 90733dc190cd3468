import { expect, it } from "vitest";
import { send } from "../support.js";
import { useFaultStack } from "./fault-stack.js";
import { FAST_RECOVERY, SETTLE_TIMEOUT_MS } from "./knobs.js";
import { expectPaidExactlyOnce, readLedger } from "./ledger.js";
import { orderIds, placeOrders, waitUntilSettled } from "./orders.js";

// Issue 3, fault 1: auth-server is down when orders arrive.
const faultStack = useFaultStack(FAST_RECOVERY, { startAll: false });

it("orders placed while auth-server is down answer 202 pending, and all end paid once it is started", async () => {
  const stack = faultStack();
  // payment-service needs the JWKS once, at start; order-service asks for a
  // token only when an order needs one. Then the auth server goes away
  // before any order arrives.
  await stack.startAll();
  expect(stack.tokensIssuedToOrderService()).toEqual([]);
  await stack.stop("auth-server");

  const replies = await placeOrders(stack.urls.order, 10, 5);
  for (const reply of replies) {
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);
    expect(reply.body).toMatchObject({ status: "pending" });
  }
  const ids = orderIds(replies);
  expect(new Set(ids).size).toBe(ids.length);
  // The worker keeps trying, and keeps them pending: an unreachable auth
  // server is nobody's refusal.
  await stack.waitForRetries(ids, 3);
  for (const id of ids) expect((await send(`${stack.urls.order}/orders/${id}`)).body).toMatchObject({ id, status: "pending" });
  expect(stack.events("payment-service", "charge.created")).toEqual([]);

  await stack.start("auth-server");
  const orders = await waitUntilSettled(stack.urls.order, ids, SETTLE_TIMEOUT_MS);
  expectPaidExactlyOnce(orders, readLedger(stack.dataDir("payment-service")));
  expect(stack.tokensIssuedToOrderService().length).toBeGreaterThan(0);
}, 60_000);
