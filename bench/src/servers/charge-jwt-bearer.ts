import type { ErrorRequestHandler, RequestHandler } from "express";
import { auth, requiredScopes } from "express-oauth2-jwt-bearer";
import { startChargesServer } from "./charges.js";
import { CHARGE_SCOPE, PAYMENT_AUDIENCE } from "./dev-registry.js";
import type { Counters } from "./instrument.js";
import type { ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";

/**
 * Scenario 4b: the stack people use instead, Auth0's
 * express-oauth2-jwt-bearer with `requiredScopes`, pointed at our issuer and
 * its JWKS, in front of the same charges router. `strict` makes it check
 * `typ: at+jwt` as RFC 9068 (and our verifier) do.
 */
export async function startJwtBearerCharges(spec: ServerSpec, counters: Counters): Promise<RunningServer> {
  if (!spec.issuer) throw new Error("charge-jwt-bearer needs the issuer");
  const res = await fetch(`${spec.issuer}/.well-known/oauth-authorization-server`);
  const metadata = (await res.json()) as { issuer: string; jwks_uri: string };
  const guard = [
    auth({ issuer: metadata.issuer, jwksUri: metadata.jwks_uri, audience: PAYMENT_AUDIENCE, tokenSigningAlg: spec.alg ?? "RS256", strict: true }),
    requiredScopes(CHARGE_SCOPE),
    // the router keys charges and idempotency keys to the client, as payment-service's guard tells it
    tokenClient,
  ];
  return startChargesServer(spec, counters, { guard, onError: renderBearerErrors });
}

/** Hands the verified token's `client_id` to the router where it reads it (`res.locals.auth`). */
const tokenClient: RequestHandler = (req, res, next) => {
  res.locals.auth = { client_id: req.auth?.payload.client_id };
  next();
};

/** express-oauth2-jwt-bearer's errors carry status and WWW-Authenticate; render them as RFC 6750 says. */
const renderBearerErrors: ErrorRequestHandler = (error: unknown, _req, res, next) => {
  const e = error as { status?: unknown; headers?: Record<string, string>; code?: unknown; message?: string };
  if (typeof e.status !== "number" || e.status < 400 || e.status >= 500) {
    next(error);
    return;
  }
  if (e.headers) res.set(e.headers);
  res.status(e.status).json(typeof e.code === "string" ? { error: e.code, error_description: e.message } : { error: "unauthorized" });
};
