import { expect, it } from "vitest";
import { accessToken, eventually, postJson } from "../support.js";
import { useFaultStack } from "./fault-stack.js";
import { FAST_RECOVERY, SETTLE_TIMEOUT_MS } from "./knobs.js";
import { expectPaidExactlyOnce, readLedger } from "./ledger.js";
import { orderBody, orderIds, placeOrders, pool, waitUntilSettled } from "./orders.js";

// Issue 3, fault 3: payment-service is killed (SIGKILL) in the middle of a
// burst, with charges in flight, and restarted.
const faultStack = useFaultStack(FAST_RECOVERY);

const BURST = 200;

it("every order of the burst ends paid, with exactly one charge per order in the ledger", async () => {
  const stack = faultStack();
  const burst = placeOrders(stack.urls.order, BURST, 10);
  // Kill it once charges are flowing, so some are in flight: committed (or
  // not) on the payment side, their answer never reaching order-service.
  await eventually(async () => (stack.events("payment-service", "charge.created").length >= 20 ? true : undefined), 30_000, "the first charges");
  await stack.stop("payment-service", "SIGKILL");
  const replies = await burst;

  const statuses = replies.map((reply) => `${reply.status} ${reply.body?.status}`);
  expect(statuses.filter((status) => status !== "201 paid" && status !== "202 pending")).toEqual([]);
  expect(statuses.filter((status) => status === "202 pending").length, "orders that met the dead payment-service").toBeGreaterThan(0);
  const ids = orderIds(replies);

  await stack.start("payment-service");
  const orders = await waitUntilSettled(stack.urls.order, ids, SETTLE_TIMEOUT_MS);
  const ledger = readLedger(stack.dataDir("payment-service"));
  expectPaidExactlyOnce(orders, ledger);
  expect(ledger).toHaveLength(BURST);

  // The idempotency keys survived the crash with the charges: a late retry of
  // any of these charges (an answer lost on the way back) finds the charge
  // already made and never makes a second one.
  const token = await accessToken(stack.urls.auth, "order-service", "super-secret", "charge:customer");
  const retries = await pool(ids.length, 10, (index) => {
    const id = ids[index] as string;
    return postJson(`${stack.urls.payment}/charge`, { ...orderBody(), orderId: id }, { authorization: `Bearer ${token}`, "idempotency-key": id });
  });
  const notTheSameCharge = retries.flatMap((reply, index) => {
    const chargeId = orders.get(ids[index] as string)?.chargeId;
    return [200, 201].includes(reply.status) && reply.body?.id === chargeId ? [] : [{ chargeId, status: reply.status, body: reply.body }];
  });
  expect(notTheSameCharge).toEqual([]);
  expect(readLedger(stack.dataDir("payment-service"))).toHaveLength(BURST);
}, 60_000);
