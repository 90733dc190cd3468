import type { BenchContext } from "../context.js";
import { expectStatus, waitForReady } from "../http.js";
import { measure, type Measurement } from "../rounds.js";
import type { ChildServer } from "../servers/child-server.js";

export interface E2eResults {
  measurement: Measurement;
  /** `token.issued` events during the whole run, by `client aud scope`. */
  tokensIssued: Record<string, number>;
  /** `POST /token` requests auth-server received during the whole run. */
  tokenRequests: number;
  /** `POST /orders` requests order-service received during the whole run (probe and warm-up included). */
  orders: number;
  /** From order-service's start to the end of the last round. */
  elapsedSeconds: number;
  tokenTtl: number;
  /** Orders answered `"status":"paid"`, over all measured rounds. */
  paid: number;
  /** Orders answered `202 pending` (not settled within order-service's SETTLE_WAIT_MS: slow, not broken). */
  pending: number;
  /** Orders answered `payment_failed`: with a valid token and an amount under the limit, a breakage. */
  failed: number;
  answered: number;
}

const TOKEN_TTL = 300;
const PAID = '"status":"paid"';
const PENDING = '"status":"pending"';
const FAILED = '"status":"payment_failed"';

function count(m: Measurement, needle: string): number {
  return m.rounds.reduce((sum, r) => sum + (r.bodyMatches?.[needle] ?? 0), 0);
}
const ORDER_BODY = JSON.stringify({ customerId: "c-{id}", amount: 1299, currency: "EUR" });

/**
 * Scenario 3: `POST /orders` through order-service → payment-service, and
 * how many token requests the whole run caused (counted in auth-server's
 * log: its `http.request` lines for `POST /token` and its `token.issued`
 * events).
 */
export async function runE2e(ctx: BenchContext): Promise<E2eResults> {
  const started: ChildServer[] = [];
  try {
    // their logs go to files: the token requests and orders are counted from them afterwards
    const auth = await ctx.start("auth-server-e2e", { kind: "auth-server", alg: "RS256", tokenTtl: TOKEN_TTL }, true);
    started.push(auth);
    const payment = await ctx.start("payment-service-e2e", { kind: "payment-service", issuer: auth.url });
    started.push(payment);
    const t0 = Date.now();
    const orders = await ctx.start("order-service", { kind: "order-service", issuer: auth.url, paymentUrl: payment.url }, true);
    started.push(orders);
    await waitForReady(payment.url);
    await waitForReady(orders.url);
    await firstOrderPaid(orders.url);

    const [measurement] = await measure(
      ctx.load,
      [
        {
          name: "order-service → payment-service",
          processes: [orders, payment, auth],
          job: async () => ({
            title: "e2e",
            url: orders.url,
            method: "POST",
            path: "/orders",
            headers: { "content-type": "application/json" },
            body: ORDER_BODY,
            uniqueBody: true,
            uniqueHeader: "idempotency-key",
            countBodyContaining: [PAID, PENDING, FAILED],
            // 202 is order-service saying "still settling" (its SETTLE_WAIT_MS): slow, not broken
            expect: [201, 202],
          }),
        },
      ],
      ctx.options,
      ctx.log,
    );
    const elapsedSeconds = (Date.now() - t0) / 1000;
    const stats = auth.logCounts();
    const orderStats = orders.logCounts();
    return {
      measurement: measurement!,
      tokensIssued: stats.tokensIssued,
      tokenRequests: stats.requests["POST /token"] ?? 0,
      orders: orderStats.requests["POST /orders"] ?? 0,
      elapsedSeconds,
      tokenTtl: TOKEN_TTL,
      paid: count(measurement!, PAID),
      pending: count(measurement!, PENDING),
      failed: count(measurement!, FAILED),
      answered: measurement!.rounds.reduce((sum, r) => sum + r.total, 0),
    };
  } finally {
    await ctx.stop(...started);
  }
}

/**
 * One order must end paid before any load: proof that the three apps talk.
 * A 202 (not settled within order-service's SETTLE_WAIT_MS, as on a loaded
 * machine) is followed until it settles.
 */
async function firstOrderPaid(ordersUrl: string): Promise<void> {
  let order = (await expectStatus(
    `${ordersUrl}/orders`,
    { method: "POST", headers: { "content-type": "application/json" }, body: ORDER_BODY.replace("{id}", "probe") },
    [201, 202],
  )) as { id?: string; status?: string };
  const deadline = Date.now() + 30_000;
  while (order.status === "pending" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    order = (await expectStatus(`${ordersUrl}/orders/${order.id}`, {}, [200])) as { id?: string; status?: string };
  }
  if (order.status !== "paid") throw new Error(`the first order ended ${JSON.stringify(order)}, not paid`);
}
