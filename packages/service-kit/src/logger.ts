import { createHash } from "node:crypto";
import { pino, type DestinationStream, type Logger } from "pino";
import { EnvReader } from "./config.js";
import { currentRequestId } from "./request-context.js";
import { activeTraceFields } from "./request-span.js";

export type { Logger } from "pino";

/**
 * Paths that must never reach a log line in clear. Explicit paths, not
 * wildcards: pino compiles them into direct property checks, while a `*.x`
 * path walks every field of every line and doubled the cost of logging on the
 * request path. Nothing here logs request bodies whole; these are the safety
 * net for the places a credential could appear.
 */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "client_secret",
  "client_assertion",
  "access_token",
  "password",
  "body.client_secret",
  "body.client_assertion",
  "body.access_token",
  "params.client_secret",
  "params.client_assertion",
];

/** The levels `LOG_LEVEL` may name. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * `LOG_LEVEL` from an environment (default `info`); `debug` adds the events
 * that are too frequent for production, such as `token.verified` for a token
 * served from the verifier's cache.
 */
export function logLevelFrom(env: Readonly<Record<string, string | undefined>>): LogLevel {
  return new EnvReader(env).oneOf("LOG_LEVEL", LOG_LEVELS, "info");
}

export interface LoggerOptions {
  /** Stamped on every line as `service`. */
  service: string;
  level?: string;
  /** Defaults to stdout, as {@link logDestination} writes. */
  destination?: DestinationStream;
}

/**
 * Where lines go: a file descriptor (default stdout) or a path, written
 * synchronously, one `write` per line. Synchronous, because a line is then
 * out before the response it describes, a crash loses none, and it costs
 * less CPU than pino's asynchronous mode, which hands every line to the
 * libuv pool when traffic does not batch them (bench/FINDINGS.md §7). Node
 * writes its own stdout to pipes and files the same way.
 */
export function logDestination(dest: number | string = 1): DestinationStream {
  return pino.destination({ dest, sync: true });
}

/**
 * One JSON object per line, `service` on every line, the `req_id` of the
 * request being served on every line written while serving it, the
 * `trace_id` and `span_id` of the active span when traces are on, secrets
 * redacted.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: options.service },
      mixin: requestMixin,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? logDestination(),
  );
}

// pino merges each line's own fields into the object returned here: a new one every time
function requestMixin(): object {
  const id = currentRequestId();
  const ids = activeTraceFields();
  if (ids === undefined) return id === undefined ? {} : { req_id: id };
  return id === undefined ? ids : { req_id: id, ...ids };
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * A stable, non-reversible handle for a bearer token or secret, so logs can
 * correlate requests without ever holding the credential: `sha256:` and the
 * first 12 hex digits of its hash.
 */
export function fingerprint(credential: string): string {
  return `sha256:${createHash("sha256").update(credential).digest("hex").slice(0, 12)}`;
}
