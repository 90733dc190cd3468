import type { IncomingMessage } from "node:http";
import { isPlainJsonContentType, JSON_BODY_LIMIT, parseJsonBody, type FastRoute } from "@m2m/service-kit";
import type { Charges } from "./charges.js";

/**
 * Who is asking: resolves with the client a request's verified token names,
 * or rejects with the refusal to answer (the app's `BearerGuard`).
 */
export type Authenticate = (req: IncomingMessage) => Promise<string>;

/**
 * `POST /charge` for service-kit's `withFastLane`: the plain request (a
 * JSON body of known length) authenticated, parsed and charged without
 * Express, through the same {@link Charges} as the router, which keeps
 * every other request. The token is checked before the body is parsed.
 */
export function chargeFastRoute(charges: Charges, authenticate: Authenticate): FastRoute {
  return {
    method: "POST",
    path: "/charge",
    bodyLimit: JSON_BODY_LIMIT,
    // charge.created / charge.replayed (with req_id) record every success
    logsSuccess: true,
    accepts: (req) => isPlainJsonContentType(req.headers["content-type"]),
    async serve(req, body, requestId) {
      const clientId = await authenticate(req);
      const key = req.headers["idempotency-key"];
      return charges.create({ clientId, idempotencyKey: typeof key === "string" ? key : undefined, body: parseJsonBody(body), requestId });
    },
  };
}
