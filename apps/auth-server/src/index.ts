export { createApp } from "./app.js";
export type { AuthServerDeps } from "./app.js";
export { DEFAULT_DATA_DIR, loadConfig, loadKeyConfig } from "./config.js";
export type { AuthServerConfig, KeyConfig } from "./config.js";
export { startAuthServer } from "./server.js";
export type { RunningAuthServer, StartOptions } from "./server.js";
