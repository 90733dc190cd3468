import { randomBytes } from "node:crypto";
import { HttpError, jsonBody, type Logger } from "@m2m/service-kit";
import { Router, type Response } from "express";
import { chargeCreatedBody, chargeView, type Charge } from "./charge.js";
import type { CardProcessor } from "./processor.js";
import type { ChargeStore, StoredResponse } from "./store.js";
import { parseChargeRequest, parseIdempotencyKey, requestFingerprint } from "./validation.js";

export interface ChargesRouterDeps {
  store: ChargeStore;
  processor: CardProcessor;
  logger: Logger;
  /** Milliseconds since the epoch, for `createdAt`. Default `Date.now`. */
  clock?: () => number;
}

/**
 * `POST /charge` and `GET /charges/:id` (CONTRACT.md), with no
 * authentication of their own: the app mounts the token checks in front of
 * them. This is the handler the benchmark also mounts bare, to measure what
 * authentication costs; the real app never runs it unprotected.
 *
 * Idempotency (draft-ietf-httpapi-idempotency-key-header): a key belongs to
 * the client that used it (the token's `client_id`). The first request with a
 * key is charged, and the charge, the key, the request fingerprint and the
 * response are written in one transaction; the same key with the same request
 * gets that response again (same charge id, also after a restart), with
 * another request `422 idempotency_key_reused`, and while the first is still
 * with the processor `409 idempotency_key_in_use`.
 */
export function createChargesRouter(deps: ChargesRouterDeps): Router {
  const { store, processor, logger } = deps;
  const clock = deps.clock ?? Date.now;
  /** Keys whose first request is with the processor now, and that request's fingerprint. */
  const inProgress = new Map<string, string>();
  const router = Router();

  router.post("/charge", jsonBody(), async (req, res) => {
    const key = parseIdempotencyKey(req.get("idempotency-key"));
    const request = parseChargeRequest(req.body);
    const clientId = clientOf(res);
    const fingerprint = requestFingerprint(request);

    const stored = store.findResponse(clientId, key);
    if (stored) {
      replay(res, stored, fingerprint);
      return;
    }
    const lock = `${clientId}\n${key}`;
    const running = inProgress.get(lock);
    if (running !== undefined) throw running === fingerprint ? keyInUse() : keyReused();

    inProgress.set(lock, fingerprint);
    try {
      const decision = await processor.authorize(request);
      const charge: Charge = {
        id: newChargeId(),
        ...request,
        status: decision.approved ? "succeeded" : "declined",
        clientId,
        createdAt: new Date(clock()).toISOString(),
      };
      const response = decision.approved
        ? { status: 201, body: chargeCreatedBody(charge) }
        : { status: 402, body: { error: "card_declined", error_description: decision.reason } };
      const result = store.record({ charge, idempotencyKey: key, fingerprint, response });
      if (!result.created) {
        replay(res, result.existing, fingerprint);
        return;
      }
      logger.info(
        { charge_id: charge.id, order_id: charge.orderId, amount: charge.amount, currency: charge.currency, status: charge.status },
        "charge.created",
      );
      res.status(response.status).json(response.body);
    } finally {
      inProgress.delete(lock);
    }
  });

  router.get("/charges/:id", (req, res) => {
    const charge = store.getCharge(String(req.params.id));
    if (!charge) throw new HttpError(404, "not_found", "no such charge");
    res.json(chargeView(charge));
  });

  return router;

  function replay(res: Response, stored: StoredResponse, fingerprint: string): void {
    if (stored.fingerprint !== fingerprint) throw keyReused();
    logger.info({ charge_id: stored.chargeId, order_id: stored.orderId }, "charge.replayed");
    res.status(stored.status).set("Idempotent-Replayed", "true").json(stored.body);
  }
}

/** The client the key belongs to; the bench-only app, which has no token, shares one space. */
function clientOf(res: Response): string {
  const auth = res.locals.auth as { client_id?: unknown } | undefined;
  return typeof auth?.client_id === "string" ? auth.client_id : "";
}

function newChargeId(): string {
  return `ch_${randomBytes(16).toString("base64url")}`;
}

function keyReused(): HttpError {
  return new HttpError(422, "idempotency_key_reused", "this Idempotency-Key was used with a different request");
}

function keyInUse(): HttpError {
  return new HttpError(409, "idempotency_key_in_use", "a request with this Idempotency-Key is still being processed");
}
