import { createLogger, handleShutdown, loadConfigOrExit } from "@m2m/service-kit";
import { KeyFileError } from "@m2m/token-issuer";
import { loadConfig } from "./config.js";
import { startAuthServer } from "./server.js";

const config = loadConfigOrExit(() => loadConfig(process.env));
const logger = createLogger({ service: "auth-server" });

let running;
try {
  running = await startAuthServer(config, { logger });
} catch (error) {
  if (!(error instanceof KeyFileError)) throw error;
  // A key file that cannot be used is a configuration problem: one line, no stack.
  console.error(`invalid SIGNING_KEYS: ${error.message}`);
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
