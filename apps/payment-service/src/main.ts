import { telemetry } from "./telemetry.js";
import { createLogger, handleShutdown, loadConfigOrExit, logLevelFrom, startOrExit } from "@m2m/service-kit";
import { loadConfig } from "./config.js";
import { startPaymentService } from "./server.js";

const config = loadConfigOrExit(() => loadConfig(process.env));
const logger = createLogger({ service: "payment-service", level: loadConfigOrExit(() => logLevelFrom(process.env)) });
const running = await startOrExit(() => startPaymentService(config, { logger }));
handleShutdown({
  logger,
  server: running.server,
  beforeClose: running.stopAccepting,
  afterClose: async () => {
    running.closeResources();
    await telemetry.shutdown();
  },
});
