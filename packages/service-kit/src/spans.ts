import { context, isSpanContextValid, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";

export type { Span } from "@opentelemetry/api";

const tracer = trace.getTracer("@m2m/service-kit");

/**
 * Runs `job` in a span named `name` (an app's own step, such as
 * `Settler.settle`), the active span while it runs, and ends it however the
 * job ends; without an SDK no context is made for it. A failure is named by
 * its class alone: an error's message may hold anything.
 */
export function inSpan<T>(name: string, job: (span: Span) => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name);
  if (!isSpanContextValid(span.spanContext())) return job(span);
  return context.with(trace.setSpan(context.active(), span), () => job(span)).then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      if (span.isRecording()) {
        span.setAttribute("error.type", error instanceof Error ? error.name : "unknown");
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      throw error;
    },
  );
}

/** Attributes for `span`, built only when it records. */
export function describeSpan(span: Span | undefined, attributes: () => Attributes): void {
  if (span?.isRecording()) span.setAttributes(attributes());
}

/** The active span, to describe from code that did not start it. */
export function activeSpan(): Span | undefined {
  return trace.getActiveSpan();
}

/**
 * Starts the client span of an outgoing HTTP request (`POST /charge`,
 * OpenTelemetry's HTTP conventions) and hands its W3C `traceparent` to
 * `setHeader`, so the server's spans join this trace. End it with
 * {@link endClientSpan}. The URL must hold no credential.
 */
export function startClientSpan(method: string, url: string, setHeader: (name: string, value: string) => void): Span {
  const { pathname, hostname, port, protocol } = new URL(url);
  const span = tracer.startSpan(`${method} ${pathname}`, { kind: SpanKind.CLIENT });
  if (!isSpanContextValid(span.spanContext())) return span;
  if (span.isRecording()) {
    span.setAttributes({
      "http.request.method": method,
      "url.full": url,
      "server.address": hostname,
      "server.port": Number(port || (protocol === "https:" ? 443 : 80)),
    });
  }
  propagation.inject(trace.setSpan(context.active(), span), undefined, { set: (_carrier, name, value) => setHeader(name, value) });
  return span;
}

/** Ends a client span with the answer's status, or with the network failure that stood for one (`ECONNREFUSED`). */
export function endClientSpan(span: Span, outcome: { status: number } | { errorType: string }): void {
  if (span.isRecording()) {
    if ("status" in outcome) span.setAttribute("http.response.status_code", outcome.status);
    else span.setAttribute("error.type", outcome.errorType);
    // a client span is in error for any status of 400 and up (OpenTelemetry's HTTP conventions)
    if (!("status" in outcome) || outcome.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}
