import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { elapsedMs, errorReply, logRequest, requestIdOf, SECURITY_HEADERS, type JsonReply } from "./http.js";

/**
 * A hot JSON endpoint served in front of Express (see {@link withFastLane}).
 * The lane gives it what the base app gives every route (security headers,
 * request id, the `http.request` line, the shared error renderer) and its
 * request body, read whole; the route only turns the body into a reply.
 */
export interface FastRoute {
  /** `POST`, `GET`, …: only this method is served here. */
  method: string;
  /** The exact path. A request with a query string, another case or a trailing slash goes to Express. */
  path: string;
  /** Largest body read here, bytes; a larger declared `Content-Length` goes to Express. */
  bodyLimit: number;
  /** Headers on every answer of this route, errors included (e.g. `Cache-Control: no-store`). */
  headers?: Readonly<Record<string, string>>;
  /**
   * `true` when the route writes its own line for every success, carrying
   * the request id (as `/token`'s `token.issued` does): the lane then writes
   * `http.request` only for answers of 400 and above, so a success costs one
   * log line rather than two. Default `false`: a line for every answer.
   */
  logsSuccess?: boolean;
  /**
   * Whether the lane serves this request, decided from its headers before the
   * body is read (e.g. the media type is the one expected). `false` hands it
   * to Express untouched, to be answered as it always was.
   */
  accepts?(req: IncomingMessage): boolean;
  /** Answers the request. A thrown error or a rejection is rendered like any error of the app. */
  serve(req: IncomingMessage, body: Buffer, requestId: string): Promise<JsonReply> | JsonReply;
}

/**
 * Puts `routes` in front of an Express app. Express costs a good share of a
 * request that does little else (its router, prototype swaps, `res.json`
 * → `res.send`); the benchmark's `/token` and `/charge` are such requests
 * (bench/FINDINGS.md). The lane serves only the plain case of a route:
 * exact method and path, no query string, a `Content-Length` within the
 * limit, no `Content-Encoding` or `Transfer-Encoding`, and whatever the
 * route's `accepts` asks. Everything else (including every malformed or
 * unusual request) reaches the Express app unread, which keeps the route's
 * full, strict handling there: a route served by the lane must also be
 * mounted in the app, and answer the same.
 */
export function withFastLane(app: RequestListener, routes: readonly FastRoute[], logger: Logger): RequestListener {
  const table = new Map<string, Lane[]>();
  for (const route of routes) table.set(route.path, [...(table.get(route.path) ?? []), new Lane(route, logger)]);
  return (req, res) => {
    const lane = table.get(req.url ?? "")?.find((l) => l.route.method === req.method);
    if (lane === undefined || !eligible(req, lane.route)) {
      app(req, res);
      return;
    }
    lane.serve(req, res);
  };
}

function eligible(req: IncomingMessage, route: FastRoute): boolean {
  const { headers } = req;
  if (headers["content-encoding"] !== undefined || headers["transfer-encoding"] !== undefined) return false;
  const declared = headers["content-length"];
  const length = declared === undefined ? 0 : Number(declared);
  if (!Number.isSafeInteger(length) || length > route.bodyLimit) return false;
  return route.accepts?.(req) ?? true;
}

/** One route in the lane, with the headers every answer of it carries, flattened once. */
class Lane {
  /** Security headers, then the route's own: `[name, value, name, value, …]`. */
  private readonly fixedHeaders: string[];

  constructor(
    readonly route: FastRoute,
    private readonly logger: Logger,
  ) {
    this.fixedHeaders = [...SECURITY_HEADERS.flat(), ...Object.entries(route.headers ?? {}).flat()];
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const requestId = requestIdOf(req);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    // the caller hung up in the middle of its body: there is nobody to answer, only the line to write
    req.once("error", () => this.log(req, requestId, started, res.statusCode, true));
    req.once("end", () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      let answer: Promise<JsonReply> | JsonReply;
      try {
        answer = this.route.serve(req, body, requestId);
      } catch (error) {
        answer = errorReply(error, this.logger, requestId);
      }
      if (answer instanceof Promise) {
        answer.then(
          (reply) => this.send(req, res, reply, requestId, started),
          (error: unknown) => this.send(req, res, errorReply(error, this.logger, requestId), requestId, started),
        );
      } else {
        this.send(req, res, answer, requestId, started);
      }
    });
  }

  private send(req: IncomingMessage, res: ServerResponse, reply: JsonReply, requestId: string, started: number): void {
    if (res.destroyed) {
      // the caller hung up before its answer: nothing to write, but the request still happened
      this.log(req, requestId, started, reply.status, true);
      return;
    }
    let json: string;
    try {
      json = JSON.stringify(reply.body);
    } catch (error) {
      reply = errorReply(error, this.logger, requestId);
      json = JSON.stringify(reply.body);
    }
    // one array to writeHead: no per-header bookkeeping on the response object
    const headers = reply.headers === undefined ? [...this.fixedHeaders] : withOverrides(this.fixedHeaders, reply.headers);
    headers.push("X-Request-Id", requestId, "Content-Type", "application/json; charset=utf-8", "Content-Length", String(Buffer.byteLength(json)));
    res.writeHead(reply.status, headers).end(json);
    if (reply.status >= 400 || !this.route.logsSuccess) this.log(req, requestId, started, reply.status, false);
  }

  private log(req: IncomingMessage, requestId: string, started: number, status: number, aborted: boolean): void {
    logRequest(this.logger, {
      req_id: requestId,
      method: req.method,
      path: this.route.path,
      status,
      ms: elapsedMs(started),
      aborted: aborted ? true : undefined,
    });
  }
}

/** `fixed` (`[name, value, …]`) with `overrides` replacing the fields of the same name, as `setHeader` would. */
function withOverrides(fixed: readonly string[], overrides: Readonly<Record<string, string>>): string[] {
  const replaced = new Set(Object.keys(overrides).map((name) => name.toLowerCase()));
  const headers: string[] = [];
  for (let i = 0; i < fixed.length; i += 2) {
    if (!replaced.has(fixed[i]!.toLowerCase())) headers.push(fixed[i]!, fixed[i + 1]!);
  }
  for (const name in overrides) headers.push(name, overrides[name]!);
  return headers;
}
