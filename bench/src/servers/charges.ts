import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { closeServer, createBaseApp, createLogger, finishApp, listen, serverUrl, withFastLane } from "@m2m/service-kit";
import type { ErrorRequestHandler, Express, RequestHandler } from "express";
import { chargeFastRoute, Charges, createChargesRouter, LEDGER_FILE, limitProcessor, openChargeStore, type Authenticate } from "payment-service";
import type { Counters } from "./instrument.js";
import type { ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";

export interface ChargesServerOptions {
  /** Express middleware in front of the router's `POST /charge`. */
  guard?: RequestHandler[];
  onError?: ErrorRequestHandler;
  /** Serve the plain `POST /charge` through payment-service's fast route, authenticated this way, as payment-service does. */
  lane?: Authenticate;
}

/**
 * A bench-only server built like payment-service (the service kit's base
 * app: security headers, request log, health; its error renderer; the same
 * ledger in SQLite) around payment-service's own charges handler, with
 * `guard` in front instead of our token verifier. With no guard it is a "no
 * auth" reference; the real app never runs that way.
 */
export async function startChargesServer(spec: ServerSpec, counters: Counters, options: ChargesServerOptions): Promise<RunningServer> {
  const { guard = [], onError, lane } = options;
  const logger = createLogger({ service: spec.kind, level: spec.logLevel ?? "info", destination: counters.logSink() });
  mkdirSync(spec.dataDir, { recursive: true });
  const store = openChargeStore(join(spec.dataDir, LEDGER_FILE));
  const app: Express = createBaseApp({ logger, ready: () => true });
  if (guard.length > 0) app.post("/charge", ...guard);
  const charges = new Charges({ store, processor: limitProcessor(100_000), logger });
  app.use(createChargesRouter(charges));
  if (onError) app.use(onError);
  finishApp(app, logger);
  let server: Server;
  try {
    server = await listen(lane ? withFastLane(app, [chargeFastRoute(charges, lane)], logger) : app, spec.port ?? 0, "127.0.0.1");
  } catch (error) {
    store.close();
    throw error;
  }
  return {
    server,
    url: serverUrl(server),
    async close() {
      await closeServer(server);
      store.close();
    },
  };
}
