import { expect, it } from "vitest";
import { send } from "../support.js";
import { useFaultStack } from "./fault-stack.js";
import { FAST_RECOVERY, SETTLE_TIMEOUT_MS } from "./knobs.js";
import { expectPaidExactlyOnce, readLedger } from "./ledger.js";
import { orderIds, placeOrder, placeOrders, waitUntilSettled } from "./orders.js";

// Issue 3, fault 2: payment-service is down, then up again.
const faultStack = useFaultStack(FAST_RECOVERY);

it("orders placed while payment-service is down answer 202 pending, and each is paid exactly once when it is back", async () => {
  const stack = faultStack();
  const first = await placeOrder(stack.urls.order);
  expect(first.status, JSON.stringify(first.body)).toBe(201);

  await stack.stop("payment-service");
  const replies = await placeOrders(stack.urls.order, 10, 5);
  for (const reply of replies) {
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);
    expect(reply.body).toMatchObject({ status: "pending" });
  }
  const ids = orderIds(replies);
  await stack.waitForRetries(ids, 3);
  for (const id of ids) expect((await send(`${stack.urls.order}/orders/${id}`)).body.status).toBe("pending");

  await stack.start("payment-service");
  const orders = await waitUntilSettled(stack.urls.order, ids, SETTLE_TIMEOUT_MS);
  const ledger = readLedger(stack.dataDir("payment-service"));
  expectPaidExactlyOnce(orders, ledger);
  expect(ledger).toHaveLength(ids.length + 1);
  // The logs agree: one charge.created per order, no second one.
  const created = stack.events("payment-service", "charge.created").map((line) => line.order_id);
  expect(created.filter((id) => ids.includes(id as string)).sort()).toEqual([...ids].sort());
}, 60_000);
