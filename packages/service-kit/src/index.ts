/**
 * The HTTP plumbing the three apps share, and nothing else: configuration
 * from the environment, the base Express app (security headers, request ids,
 * one log line per request, health endpoints, the one error renderer), the
 * request fields both edges of a charge read alike, listening and graceful
 * shutdown, JSON logs, and the signals: a span per request, `/metrics`, and
 * the OpenTelemetry SDK when the `OTEL_*` variables ask for it. Not meant
 * for use outside this repository's apps.
 *
 * @packageDocumentation
 */

/** The environment, read once at the edge: typed values, one clear line per problem. */
export { ConfigError, EnvReader, loadConfigOrExit, startOrExit } from "./config.js";
/** Errors an app throws for the renderer: `HttpError`, and `invalid_request` for a bad body. */
export { HttpError, invalidRequest } from "./errors.js";
export type { ExposableError } from "./errors.js";
/** The fields of a charge, one definition for order-service and payment-service: ids, amounts, currencies, `Idempotency-Key`. */
export { parseAmount, parseCurrency, parseIdempotencyKey, parseIdentifier } from "./fields.js";
/** The base app every service builds on, its JSON body parser, and its one error renderer (`finishApp`). */
export { createBaseApp, finishApp, jsonBody, sendReply } from "./http.js";
export type { BaseAppOptions, JsonReply } from "./http.js";
/** Listening within limits that slow clients cannot outwait (`HTTP_*` variables), and stopping cleanly on SIGTERM / SIGINT. */
export { closeServer, handleShutdown, httpLimitsFrom, listen, serverUrl } from "./lifecycle.js";
export type { HttpLimits, ShutdownOptions } from "./lifecycle.js";
/** JSON lines on stdout with `service`, `req_id` and `trace_id`, secrets redacted; fingerprints instead of credentials. */
export { createLogger, fingerprint, logLevelFrom, silentLogger } from "./logger.js";
export type { Logger, LoggerOptions, LogLevel } from "./logger.js";
/** Prometheus: a registry per app with the process defaults, served on `GET /metrics` by `createBaseApp`. */
export { createMetricsRegistry } from "./metrics.js";
export type { Registry } from "./metrics.js";
/** Traces: an app's own spans and its outgoing requests' client spans, no-ops without an SDK. */
export { activeSpan, describeSpan, endClientSpan, inSpan, startClientSpan } from "./spans.js";
export type { Span } from "./spans.js";
/** Traces: the OpenTelemetry SDK, started only when the standard `OTEL_*` variables ask for it. */
export { startTelemetry, telemetryFrom } from "./telemetry.js";
export type { Telemetry, TelemetrySettings } from "./telemetry.js";
