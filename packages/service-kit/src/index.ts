export { ConfigError, EnvReader, loadConfigOrExit, startOrExit } from "./config.js";
export { HttpError, invalidRequest, isExposableError } from "./errors.js";
export type { ExposableError } from "./errors.js";
export { createBaseApp, errorHandler, finishApp, jsonBody } from "./http.js";
export type { BaseAppOptions } from "./http.js";
export { closeServer, handleShutdown, listen, serverUrl } from "./lifecycle.js";
export type { ShutdownOptions } from "./lifecycle.js";
export { createLogger, fingerprint, LOG_LEVELS, logLevelFrom, REDACTED_PATHS, silentLogger } from "./logger.js";
export type { Logger, LoggerOptions, LogLevel } from "./logger.js";
