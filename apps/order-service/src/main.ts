import { createLogger, handleShutdown, loadConfigOrExit } from "@m2m/service-kit";
import { loadConfig } from "./config.js";
import { startOrderService } from "./server.js";

const config = loadConfigOrExit(() => loadConfig(process.env));
const logger = createLogger({ service: "order-service" });
const service = await startOrderService(config, { logger });
handleShutdown({ logger, server: service.server, beforeClose: service.stopBackground, afterClose: service.release });
