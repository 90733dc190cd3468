/**
 * `node app-entry.js <auth-server|payment-service|order-service>`: runs one of
 * our apps exactly as `npm start` does, by importing its
 * `apps/<app>/dist/main.js` unchanged (configuration from the environment
 * the bench sets, logs on stdout, shutdown on SIGTERM), with the bench's
 * channel beside it: `ready` once main.js has started the server (its
 * top-level await resolves once it listens), `memory` when asked. Nothing
 * of the app is replaced or switched.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { answerParent, describe, send } from "./child-ipc.js";
import { APP_KINDS, type AppKind } from "./protocol.js";

export function appMain(app: AppKind): string {
  return fileURLToPath(new URL(`../../../apps/${app}/dist/main.js`, import.meta.url));
}

async function main(): Promise<void> {
  const app = process.argv[2] as AppKind;
  if (!APP_KINDS.includes(app)) throw new Error(`usage: app-entry.js <${APP_KINDS.join("|")}>`);
  const entry = appMain(app);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the apps first (npm run build)`);
  // the bench gone, the app stops as it would in a deployment: through its own SIGTERM handler
  answerParent(() => process.kill(process.pid, "SIGTERM"));
  await import(pathToFileURL(entry).href);
  send({ type: "ready", url: `http://127.0.0.1:${process.env.PORT}` });
}

main().catch((error: unknown) => {
  send({ type: "failed", error: describe(error) });
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});
