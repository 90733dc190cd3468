import { telemetry } from "./telemetry.js";
import { ConfigError, createLogger, handleShutdown, loadConfigOrExit, logLevelFrom, startOrExit } from "@m2m/service-kit";
import { MigrationError } from "@m2m/store-kit";
import { KeyFileError } from "@m2m/token-issuer";
import { loadConfig } from "./config.js";
import { startAuthServer } from "./server.js";

const config = loadConfigOrExit(() => loadConfig(process.env));
const logger = createLogger({ service: "auth-server", level: loadConfigOrExit(() => logLevelFrom(process.env)) });

// Problems of the environment, not bugs: one line naming the variable, no stack.
const app = await startOrExit(() =>
  startAuthServer(config, { logger }).catch((error: unknown) => {
    if (error instanceof KeyFileError) {
      throw new ConfigError(`invalid ${config.stores.databaseUrl !== undefined ? "DATABASE_URL" : "SIGNING_KEYS"}: ${error.message}`);
    }
    if (error instanceof MigrationError) throw new ConfigError(`invalid DATABASE_URL: ${error.message}`);
    throw error;
  }),
);

// `npm run rotate-keys` writes to the key directory; SIGHUP makes the change visible at once.
process.on("SIGHUP", () => void app.reload());
handleShutdown({
  logger,
  server: app.server,
  beforeClose: () => app.stop(),
  afterClose: async () => {
    app.release();
    await telemetry.shutdown();
  },
});
