import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from "express";
import helmet from "helmet";
import { pinoHttp } from "pino-http";
import type { Logger } from "pino";
import { HttpError, isExposableError } from "./errors.js";

export interface BaseAppOptions {
  logger: Logger;
  /** `/readyz` answers 200 only while this returns true. */
  ready: () => boolean;
}

/**
 * An Express app with what every service of this project shares: security
 * headers, request ids, one log line per request, `/healthz` and `/readyz`.
 * Add routes, then call {@link finishApp}.
 */
export function createBaseApp(options: BaseAppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");
  app.use(helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }));
  app.use(requestLogging(options.logger));
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const ready = options.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not_ready" });
  });
  return app;
}

/** Appends the JSON 404 and the single error renderer. Call after all routes. */
export function finishApp(app: Express, logger: Logger): Express {
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

function requestLogging(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const given = req.headers["x-request-id"];
      const id = typeof given === "string" && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
      res.setHeader("X-Request-Id", id);
      return id;
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? "error" : "info"),
    customSuccessMessage: () => "http.request",
    customErrorMessage: () => "http.request",
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        // never log query strings: a misbehaving client may put a token there
        path: req.url.split("?")[0],
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
  }) as unknown as RequestHandler;
}

const notFound: RequestHandler = (_req, _res, next) => {
  next(new HttpError(404, "not_found", "no such resource"));
};

/** Body-parser failures, mapped to the contract's `invalid_request`. */
function fromBodyParser(error: unknown): HttpError | undefined {
  if (typeof error !== "object" || error === null || !("type" in error)) return undefined;
  switch ((error as { type: unknown }).type) {
    case "entity.parse.failed":
      return new HttpError(400, "invalid_request", "the request body is not valid JSON");
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

/**
 * The one place errors become responses: exposable errors as they say,
 * everything else as `500 server_error` without detail (the cause goes to the
 * log, never to the client).
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const known = isExposableError(error) ? error : fromBodyParser(error);
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    if (known) {
      if (known.headers) res.set(known.headers);
      res.status(known.status).json(known.toJSON());
      return;
    }
    logger.error({ err: error, reqId: (req as { id?: unknown }).id }, "http.unhandled_error");
    res.status(500).json({ error: "server_error", error_description: "internal error" });
  };
}

/** `express.json` with a small limit, strict parsing and only `application/json`. */
export function jsonBody(limit = "16kb"): RequestHandler {
  return express.json({ limit, strict: true, type: "application/json" });
}
