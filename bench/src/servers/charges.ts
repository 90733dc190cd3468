import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { closeServer, createBaseApp, createLogger, finishApp, listen, serverUrl } from "@m2m/service-kit";
import type { ErrorRequestHandler, Express, RequestHandler } from "express";
import { createChargesRouter, LEDGER_FILE, limitProcessor, openChargeStore } from "payment-service";
import type { Counters } from "./instrument.js";
import type { ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";

/**
 * A bench-only server built like payment-service (the service kit's base
 * app: helmet, request log, health; its error renderer; the same ledger in
 * SQLite) around payment-service's own charges router, with `guard` in front
 * instead of our token verifier. With no guard it is the "no auth"
 * reference; the real app never runs that way.
 */
export async function startChargesServer(spec: ServerSpec, counters: Counters, guard: RequestHandler[], onError?: ErrorRequestHandler): Promise<RunningServer> {
  const logger = createLogger({ service: spec.kind, level: spec.logLevel ?? "info", destination: counters.logSink() });
  mkdirSync(spec.dataDir, { recursive: true });
  const store = openChargeStore(join(spec.dataDir, LEDGER_FILE));
  const app: Express = createBaseApp({ logger, ready: () => true });
  if (guard.length > 0) app.post("/charge", ...guard);
  app.use(createChargesRouter({ store, processor: limitProcessor(100_000), logger }));
  if (onError) app.use(onError);
  finishApp(app, logger);
  let server: Server;
  try {
    server = await listen(app, spec.port ?? 0, "127.0.0.1");
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
