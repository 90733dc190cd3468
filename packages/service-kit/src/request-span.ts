import type { IncomingMessage, ServerResponse } from "node:http";
import { isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from "@opentelemetry/api";

const tracer = trace.getTracer("@m2m/service-kit");
const SERVER = { kind: SpanKind.SERVER };

/** One request's server span, and the context the request's work runs in (none without an SDK: nothing to carry). */
export interface RequestSpan {
  span: Span;
  context: Context | undefined;
}

/**
 * Starts the server span of a request (OpenTelemetry HTTP semantic
 * conventions), as the child of the caller's span when the request carries
 * a W3C `traceparent` (through the propagator the SDK installed). Without
 * an SDK, every call here is a no-op of the API and no attribute is built.
 */
export function startRequestSpan(req: IncomingMessage, requestId: string): RequestSpan {
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer.startSpan(req.method ?? "HTTP", SERVER, parent);
  if (!isSpanContextValid(span.spanContext())) return { span, context: undefined };
  if (span.isRecording()) {
    span.setAttributes({
      "http.request.method": req.method ?? "_OTHER",
      // without the query string: a misbehaving client may put a token there
      "url.path": pathOf(req.url ?? "/"),
      "url.scheme": "http",
      "request.id": requestId,
    });
  }
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Ends a request's span once its answer is finished: the route it matched
 * (`POST /token`), the status, and an error status for a `5xx` only (a
 * `4xx` is the caller's problem, not the server's).
 */
export function endRequestSpan(span: Span, res: ServerResponse, route: string | undefined): void {
  if (span.isRecording()) {
    span.setAttribute("http.response.status_code", res.statusCode);
    if (route !== undefined) {
      span.setAttribute("http.route", route);
      span.updateName(`${res.req.method} ${route}`);
    }
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    if (!res.writableFinished) span.setAttribute("http.request.aborted", true);
  }
  span.end();
}

/**
 * The ids of the active span for a log line: a line found in the logs leads
 * to its trace. Nothing outside a span, so nothing without an SDK.
 */
export function activeTraceFields(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : undefined;
}

/** The trace id of `span`, if it has a real one (a no-op span has none). */
export function traceIdOf(span: Span): string | undefined {
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? ids.traceId : undefined;
}

function pathOf(url: string): string {
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}
