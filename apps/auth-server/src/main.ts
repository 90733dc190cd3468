import { createLogger, handleShutdown, loadConfigOrExit, logLevelFrom } from "@m2m/service-kit";
import { KeyFileError } from "@m2m/token-issuer";
import { loadConfig } from "./config.js";
import { startAuthServer } from "./server.js";

const config = loadConfigOrExit(() => loadConfig(process.env));
const logger = createLogger({ service: "auth-server", level: loadConfigOrExit(() => logLevelFrom(process.env)) });

let running;
try {
  running = await startAuthServer(config, { logger });
} catch (error) {
  // Problems of the environment, not bugs: one line naming the variable, no stack.
  if (error instanceof KeyFileError) {
    console.error(`invalid SIGNING_KEYS: ${error.message}`);
  } else if ((error as NodeJS.ErrnoException).code === "EADDRINUSE" || (error as NodeJS.ErrnoException).code === "EACCES") {
    console.error(`invalid PORT: cannot listen on ${config.host}:${config.port} (${(error as NodeJS.ErrnoException).code})`);
  } else {
    throw error;
  }
  logger.flush();
  process.exit(1);
}
const app = running;

// `npm run rotate-keys` writes to the key directory; SIGHUP makes the change visible at once.
process.on("SIGHUP", () => void app.reload());
handleShutdown({
  logger,
  server: app.server,
  beforeClose: () => app.stop(),
});
