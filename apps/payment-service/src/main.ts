import { telemetry } from "./telemetry.js";
import { ConfigError, createLogger, handleShutdown, loadConfigOrExit, logLevelFrom, startOrExit } from "@m2m/service-kit";
import { MigrationError } from "@m2m/store-kit";
import { loadConfig } from "./config.js";
import { startPaymentService } from "./server.js";

const config = loadConfigOrExit(() => loadConfig(process.env));
const logger = createLogger({ service: "payment-service", level: loadConfigOrExit(() => logLevelFrom(process.env)) });
const running = await startOrExit(() =>
  startPaymentService(config, { logger }).catch((error: unknown) => {
    // a database that cannot be reached or migrated: one line naming the variable
    throw error instanceof MigrationError ? new ConfigError(`invalid DATABASE_URL: ${error.message}`) : error;
  }),
);
handleShutdown({
  logger,
  server: running.server,
  beforeClose: running.stopAccepting,
  afterClose: async () => {
    await running.closeResources();
    await telemetry.shutdown();
  },
});
