import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import { context } from "@opentelemetry/api";
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from "express";
import type { Logger } from "pino";
import { HttpError, invalidRequest, isExposableError } from "./errors.js";
import { HttpMetrics, metricsEndpoint, type Registry } from "./metrics.js";
import { withRequestId } from "./request-context.js";
import { endRequestSpan, startRequestSpan, traceIdOf } from "./request-span.js";

export interface BaseAppOptions {
  logger: Logger;
  /** `/readyz` answers 200 only while this returns true. */
  ready: () => boolean;
  /**
   * The app's Prometheus registry (`createMetricsRegistry`): served on
   * `GET /metrics`, with every request's duration in it. Without one, no
   * `/metrics` and nothing measured (tests, benchmarks of the bare app).
   */
  metrics?: Registry;
}

/**
 * An Express app with what every service of this project shares: security
 * headers, request ids, a server span and one log line per request,
 * `/healthz`, `/readyz` and `/metrics`. Add routes, then call {@link finishApp}.
 */
export function createBaseApp(options: BaseAppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");
  app.use(securityHeaders);
  app.use(requestLogging(options.logger, options.metrics && new HttpMetrics(options.metrics)));
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const ready = options.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not_ready" });
  });
  if (options.metrics) app.get("/metrics", metricsEndpoint(options.metrics));
  return app;
}

/** Appends the JSON 404 and the single error renderer. Call after all routes. */
export function finishApp(app: Express, logger: Logger): Express {
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

/**
 * The headers that matter for a JSON API, set once per response. (helmet
 * sets these and a dozen more meant for HTML pages, through thirteen
 * middlewares: a measurable share of a request that does little else.)
 */
const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  // nothing in a response of ours is ever to be run or framed (a JSON API)
  ["Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
  ["Referrer-Policy", "no-referrer"],
  ["Cross-Origin-Resource-Policy", "same-origin"],
  ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
];

const securityHeaders: RequestHandler = (_req, res, next) => {
  for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
  next();
};

const REQUEST_ID = /^[\w.-]{1,128}$/;

/** The caller's `X-Request-Id` when it is sane, else a new one. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

/** What one `http.request` line says. */
interface RequestLine {
  req_id: string;
  trace_id?: string;
  method: string | undefined;
  /** Without the query string: a misbehaving client may put a token there. */
  path: string;
  status: number;
  ms: number;
  aborted?: true;
}

/** Writes the `http.request` line: `error` for a 5xx, else `info`. */
function logRequest(logger: Logger, line: RequestLine): void {
  if (line.status >= 500) logger.error(line, "http.request");
  else logger.info(line, "http.request");
}

/** Milliseconds since `started` (a `performance.now()`), to a tenth. */
function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/** Asked every few seconds for as long as the process lives: neither traced nor logged, but for failures. */
const ROUTINE_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * What every request gets, from this middleware on: a request id (the
 * caller's `X-Request-Id` when it is sane, else a new one, echoed back); a
 * server span, the child of the caller's when it sent a `traceparent`; and
 * once answered, its duration in the metrics and one `http.request` line
 * (but for routine probes that succeed): method, path without the query
 * string, status, duration, and the `trace_id` that leads to its trace.
 */
function requestLogging(logger: Logger, metrics: HttpMetrics | undefined): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const id = requestIdOf(req);
    res.locals.requestId = id;
    res.setHeader("X-Request-Id", id);
    const routine = ROUTINE_PATHS.has(req.path);
    const traced = routine ? undefined : startRequestSpan(req, id);
    // once the answer is written ("finish"), or the connection is gone without one ("close")
    let answered = false;
    const done = () => {
      if (answered) return;
      answered = true;
      const ms = elapsedMs(started);
      const route = routeOf(req);
      metrics?.observe(req.method, route, res.statusCode, ms / 1000);
      if (traced) endRequestSpan(traced.span, res, route);
      if (routine && res.statusCode < 400) return;
      const queryAt = req.originalUrl.indexOf("?");
      const traceId = traced && traceIdOf(traced.span);
      logRequest(logger, {
        req_id: id,
        ...(traceId === undefined ? {} : { trace_id: traceId }),
        method: req.method,
        path: queryAt === -1 ? req.originalUrl : req.originalUrl.slice(0, queryAt),
        status: res.statusCode,
        ms,
        aborted: res.writableFinished ? undefined : true,
      });
    };
    res.once("finish", done);
    res.once("close", done);
    // everything this request does from here on, awaited work included, logs its req_id and is part of its span
    const spanContext = traced?.context;
    withRequestId(id, spanContext ? () => context.with(spanContext, next) : next);
  };
}

/**
 * The route pattern the request matched (`/orders/:id`), never the path a
 * caller chose; none when no route matched. A route of several paths is
 * named by the one that matched exactly, if any.
 */
function routeOf(req: Request): string | undefined {
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path === "string") return req.baseUrl + path;
  if (Array.isArray(path)) return path.find((one) => one === req.path);
  return undefined;
}

const notFound: RequestHandler = (_req, _res, next) => {
  next(new HttpError(404, "not_found", "no such resource"));
};

/** Body-parser failures, mapped to the contract's `invalid_request`. */
function fromBodyParser(error: unknown): HttpError | undefined {
  if (typeof error !== "object" || error === null || !("type" in error)) return undefined;
  switch ((error as { type: unknown }).type) {
    case "entity.parse.failed":
      return notJson();
    case "entity.too.large":
      return new HttpError(413, "invalid_request", "the request body is too large");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new HttpError(415, "invalid_request", "unsupported body encoding");
    case "parameters.too.many":
      return new HttpError(400, "invalid_request", "too many parameters");
    case "request.aborted":
    case "request.size.invalid":
    case "stream.encoding.set":
      return new HttpError(400, "invalid_request", "malformed request body");
    default:
      return undefined;
  }
}

/** A status, headers and the JSON body of an answer. */
export interface JsonReply {
  status: number;
  body: unknown;
  headers?: Readonly<Record<string, string>>;
}

/**
 * The one place errors become answers: exposable errors as they say,
 * everything else as `500 server_error` without detail (the cause goes to the
 * log, never to the client).
 */
function errorReply(error: unknown, logger: Logger, requestId: unknown): JsonReply {
  const known = isExposableError(error) ? error : fromBodyParser(error);
  if (known) return { status: known.status, body: known.toJSON(), ...(known.headers ? { headers: known.headers } : {}) };
  logger.error({ err: error, req_id: requestId }, "http.unhandled_error");
  return { status: 500, body: { error: "server_error", error_description: "internal error" } };
}

/** The Express error handler: {@link errorReply}, rendered. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    sendReply(res, errorReply(error, logger, res.locals.requestId));
  };
}

/** A {@link JsonReply} written through Express: its headers, its status, its body as JSON. */
export function sendReply(res: Response, reply: JsonReply): void {
  if (reply.headers) res.set(reply.headers);
  res.status(reply.status).json(reply.body);
}

/** `express.json` with a small limit (16 KiB by default), strict parsing and only `application/json`. */
export function jsonBody(limit: number | string = 16 * 1024): RequestHandler {
  return express.json({ limit, strict: true, type: "application/json" });
}

function notJson(): HttpError {
  return invalidRequest("the request body is not valid JSON");
}
