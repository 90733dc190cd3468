import { telemetry } from "./telemetry.js";
import { createLogger, handleShutdown, loadConfigOrExit, logLevelFrom, startOrExit } from "@m2m/service-kit";
import { loadConfig } from "./config.js";
import { startOrderService } from "./server.js";

const config = loadConfigOrExit(() => loadConfig(process.env));
const logger = createLogger({ service: "order-service", level: loadConfigOrExit(() => logLevelFrom(process.env)) });
const service = await startOrExit(() => startOrderService(config, { logger }));
handleShutdown({
  logger,
  server: service.server,
  beforeClose: service.stopBackground,
  afterClose: async () => {
    service.release();
    await telemetry.shutdown();
  },
});
