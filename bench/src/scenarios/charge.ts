import type { BenchContext } from "../context.js";
import { chargeBody, expectStatus, fetchToken, waitForReady } from "../http.js";
import { measure, type Measurement, type Target } from "../rounds.js";
import type { ChildServer } from "../servers/child-server.js";

export interface ChargeResults {
  measurements: Measurement[];
}

export const PROTECTED = "payment-service (protected)";
export const UNPROTECTED = "same charges handler, no auth";
export const JWT_BEARER = "express-oauth2-jwt-bearer + same router";
/** Not a target: the Express router alone, so the two guards can be compared on one footing. */
export const EXPRESS_UNPROTECTED = "same router on Express alone, no auth";

/**
 * Scenarios 2 and 4b: `POST /charge` with one token reused and a fresh
 * `Idempotency-Key` per request (so every request is a real charge written
 * to SQLite), against the same handler without auth, the same router behind
 * express-oauth2-jwt-bearer, and that router on Express with no auth.
 */
export async function runCharge(ctx: BenchContext): Promise<ChargeResults> {
  const started: ChildServer[] = [];
  const start = async (...args: Parameters<BenchContext["start"]>) => {
    const server = await ctx.start(...args);
    started.push(server);
    return server;
  };
  try {
    const auth = await start("auth-server-charge", { kind: "auth-server", alg: "RS256" });
    const issuer = auth.url;
    const [payment, bare, jwtBearer, expressBare] = await Promise.all([
      start("payment-service", { kind: "payment-service", issuer }),
      start("charge-unprotected", { kind: "charge-unprotected" }),
      start("charge-jwt-bearer", { kind: "charge-jwt-bearer", issuer }),
      start("charge-express", { kind: "charge-express" }),
    ]);
    const servers: [string, ChildServer, boolean][] = [
      [PROTECTED, payment, true],
      [UNPROTECTED, bare, false],
      [JWT_BEARER, jwtBearer, true],
      [EXPRESS_UNPROTECTED, expressBare, false],
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
    return { measurements: await measure(ctx.load, targets, ctx.options, ctx.log) };
  } finally {
    await ctx.stop(...started);
  }
}
