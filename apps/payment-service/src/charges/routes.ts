import { inSpan, jsonBody, sendReply } from "@m2m/service-kit";
import type { DPoPVerifier, GuardOptions, TokenVerifier } from "@m2m/token-verifier";
import { accessTokenClaims, requireAccessToken } from "@m2m/token-verifier/express";
import { Router } from "express";
import type { Charges } from "./charges.js";

/** The protection space of every challenge, as the wire contract writes it. */
export const REALM = "payment-service";

/**
 * `POST /charge` and `GET /charges/:id` (the wire contract): each route
 * checks the access token and its scope first (step 5), before its body is
 * even read, then hands over to {@link Charges} (in a `Charges.create` span).
 * `guardEvents` hear what the guard decided (the log lines, the counts).
 */
export function chargeRoutes(deps: {
  charges: Charges;
  verifier: TokenVerifier;
  dpop?: DPoPVerifier | undefined;
  guardEvents: Pick<GuardOptions, "onVerified" | "onRejected">;
}): Router {
  const { charges, verifier } = deps;
  // one DPoP verifier for both routes: one replay cache, one nonce
  const events = { ...deps.guardEvents, ...(deps.dpop ? { dpop: deps.dpop } : {}) };
  const router = Router();
  router.post("/charge", requireAccessToken(verifier, { realm: REALM, scope: "charge:customer", ...events }), jsonBody(), async (req, res) => {
    const attempt = { clientId: accessTokenClaims(res).client_id, idempotencyKey: req.get("idempotency-key"), body: req.body };
    const reply = await inSpan("Charges.create", () => charges.create(attempt));
    sendReply(res, reply);
  });
  router.get("/charges/:id", requireAccessToken(verifier, { realm: REALM, scope: "charge:read", ...events }), async (req, res) => {
    sendReply(res, await charges.view(String(req.params.id)));
  });
  return router;
}
