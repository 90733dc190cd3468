import type { RequestHandler } from "express";
import { startChargesServer } from "./charges.js";
import { BENCH_CLIENT } from "./dev-registry.js";
import type { Counters } from "./instrument.js";
import type { ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";

/**
 * The reference of scenario 2: payment-service's charges handler as
 * payment-service serves it (its fast route in front of the Express router)
 * with no auth: every request is charged for the client the bench's tokens
 * name, as if a guard had said so.
 */
export function startUnprotectedCharges(spec: ServerSpec, counters: Counters): Promise<RunningServer> {
  return startChargesServer(spec, counters, { lane: () => Promise.resolve(BENCH_CLIENT) });
}

/**
 * The same charges router on Express alone, no fast route, no auth: what
 * express-oauth2-jwt-bearer's stack costs without its guard, so the two
 * guards can be compared on the same footing.
 */
export function startExpressCharges(spec: ServerSpec, counters: Counters): Promise<RunningServer> {
  return startChargesServer(spec, counters, { guard: [asClient(BENCH_CLIENT)] });
}

/** What the router reads as the authenticated client (`res.locals.auth.client_id`), set without any check. */
function asClient(clientId: string): RequestHandler {
  return (_req, res, next) => {
    res.locals.auth = { client_id: clientId };
    next();
  };
}
