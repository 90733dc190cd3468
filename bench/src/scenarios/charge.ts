import type { BenchContext } from "../context.js";
import { chargeBody, expectStatus, fetchToken, waitForReady } from "../http.js";
import { measure, type Measurement, type Target } from "../rounds.js";
import type { ChildServer } from "../servers/child-server.js";
import { startTraceSink } from "../servers/trace-sink.js";

export interface ChargeResults {
  measurements: Measurement[];
}

/** The target's two sides: the bench's charge handler behind our guard, and the same handler bare. */
export const GUARDED = "charge handler + our guard (requireAccessToken)";
export const BARE = "same charge handler, no auth";
/** Informational: the same handler behind express-oauth2-jwt-bearer. */
export const JWT_BEARER = "same charge handler + express-oauth2-jwt-bearer";
/** Informational: the real app, same token, same request. */
export const PAYMENT_SERVICE = "payment-service (the app)";
/** The signals on: the real app exporting its spans over OTLP (to a sink on loopback); PAYMENT_SERVICE is the same app with no exporter. */
export const PAYMENT_SERVICE_TRACED = "payment-service, traces exported";
/** Metrics on: the guarded handler with a /metrics registry counting every request, as the apps do; GUARDED is the same without. */
export const GUARDED_METRICS = "charge handler + our guard + /metrics";

/**
 * Scenarios 2 and 4b: `POST /charge` with one token reused and a fresh
 * `Idempotency-Key` per request (so every request is a real charge written
 * to SQLite). The bench's own charge handler (src/servers/charge-servers.ts)
 * on the service kit's base app runs bare, behind our guard and behind
 * express-oauth2-jwt-bearer, so the ratios isolate the guards; the real
 * payment-service gets the same token and requests beside them.
 */
export async function runCharge(ctx: BenchContext): Promise<ChargeResults> {
  const started: ChildServer[] = [];
  const start = async (...args: Parameters<BenchContext["start"]>) => {
    const server = await ctx.start(...args);
    started.push(server);
    return server;
  };
  const sink = await startTraceSink();
  let measurements: Measurement[];
  try {
    const auth = await start("auth-server-charge", { kind: "auth-server", alg: "RS256" });
    const issuer = auth.url;
    const [guarded, bare, jwtBearer, payment, guardedMetrics, traced] = await Promise.all([
      start("charge-guarded", { kind: "charge-guarded", issuer }),
      start("charge-bare", { kind: "charge-bare" }),
      start("charge-jwt-bearer", { kind: "charge-jwt-bearer", issuer }),
      start("payment-service", { kind: "payment-service", issuer }),
      start("charge-guarded-metrics", { kind: "charge-guarded", issuer, metrics: true }),
      start("payment-service-traced", { kind: "payment-service", issuer, traces: sink.url }),
    ]);
    const servers: [string, ChildServer, boolean][] = [
      [GUARDED, guarded, true],
      [GUARDED_METRICS, guardedMetrics, true],
      [BARE, bare, false],
      [JWT_BEARER, jwtBearer, true],
      [PAYMENT_SERVICE, payment, true],
      [PAYMENT_SERVICE_TRACED, traced, true],
    ];
    let token = (await fetchToken(issuer)).access_token;
    for (const [i, [, server, needsToken]] of servers.entries()) {
      await waitForReady(server.url);
      const headers: Record<string, string> = { "content-type": "application/json", "idempotency-key": `probe-${i}` };
      if (needsToken) {
        // without a token a protected server must refuse: otherwise it is not measuring auth at all
        await expectStatus(`${server.url}/charge`, { method: "POST", headers, body: chargeBody("probe-anon") }, [401]);
        headers.authorization = `Bearer ${token}`;
      }
      await expectStatus(`${server.url}/charge`, { method: "POST", headers, body: chargeBody(`probe-${i}`) }, [201]);
    }
    const targets: Target[] = servers.map(([name, server, needsToken]) => ({
      name,
      processes: [server],
      job: async () => {
        // a fresh token per round for the servers that verify it: its first use is a real signature check
        if (needsToken) token = (await fetchToken(issuer)).access_token;
        return {
          title: name,
          url: server.url,
          method: "POST",
          path: "/charge",
          // the same request to every server, token included: only what each does with it differs
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: chargeBody("{id}"),
          uniqueBody: true,
          uniqueHeader: "idempotency-key",
          expect: [201],
        };
      },
    }));
    measurements = await measure(ctx.load, targets, ctx.options, ctx.log);
  } finally {
    // stopped before the sink: a stopping app sends the spans it still holds
    await ctx.stop(...started);
    await sink.close();
  }
  // the traced app's spans must have reached the sink, or its row measured no export at all
  if (sink.exports === 0) throw new Error(`${PAYMENT_SERVICE_TRACED} exported no spans to ${sink.url}`);
  return { measurements };
}
