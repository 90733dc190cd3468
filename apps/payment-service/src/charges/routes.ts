import { jsonBody, sendReply } from "@m2m/service-kit";
import { Router, type Response } from "express";
import type { Charges } from "./charges.js";

/**
 * `POST /charge` and `GET /charges/:id` (CONTRACT.md) as an Express router
 * over {@link Charges}, with no authentication of its own: the app mounts
 * the token checks in front of them. This is the handler the benchmark also
 * mounts bare, to measure what authentication costs; the real app never runs
 * it unprotected.
 */
export function createChargesRouter(charges: Charges): Router {
  const router = Router();
  router.post("/charge", jsonBody(), async (req, res) => {
    const reply = await charges.create({
      clientId: clientOf(res),
      idempotencyKey: req.get("idempotency-key"),
      body: req.body,
      ...(typeof res.locals.requestId === "string" ? { requestId: res.locals.requestId } : {}),
    });
    sendReply(res, reply);
  });
  router.get("/charges/:id", (req, res) => {
    sendReply(res, charges.view(String(req.params.id)));
  });
  return router;
}

/** The client the key belongs to, as the guard in front set it; with no guard (never in the real app), `""` for all. */
function clientOf(res: Response): string {
  const auth = res.locals.auth as { client_id?: unknown } | undefined;
  return typeof auth?.client_id === "string" ? auth.client_id : "";
}
