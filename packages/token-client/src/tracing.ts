import { context, isSpanContextValid, propagation, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { TokenClientError } from "./errors.js";
import type { TokenClientOptions } from "./token-client.js";

/**
 * Spans of token acquisition, through `@opentelemetry/api` only: without an
 * SDK in the process every call is a no-op and nothing is built. What a
 * span says comes from the client's own events (the same ones an app logs),
 * with tokens as fingerprints only; a request to the authorization server
 * carries the W3C `traceparent` of its span, so the server's spans join the
 * caller's trace. Never a secret, an assertion or a token.
 */
const tracer = trace.getTracer("@m2m/token-client");

/**
 * Runs `job` in a span named `name`, the active span while it runs, so the
 * events it emits describe this span. Without an SDK the span is a no-op and
 * no context is made for it.
 */
export function inSpan<T>(name: string, job: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name);
  if (!isSpanContextValid(span.spanContext())) return job();
  return ended(span, context.with(trace.setSpan(context.active(), span), job));
}

/**
 * One HTTP request to the authorization server as a client span
 * (`POST /token`, OpenTelemetry's HTTP conventions), whose `traceparent` is
 * added to `headers` before `send` runs. The URL is the server's (metadata
 * or token endpoint): it never holds a credential.
 */
export function inClientSpan<T extends { status: number }>(method: string, url: string, headers: Record<string, string>, send: () => Promise<T>): Promise<T> {
  const { pathname, hostname, port, protocol } = new URL(url);
  const span = tracer.startSpan(`${method} ${pathname}`, { kind: SpanKind.CLIENT });
  if (!isSpanContextValid(span.spanContext())) return send();
  if (span.isRecording()) {
    span.setAttributes({
      "http.request.method": method,
      "url.full": url,
      "server.address": hostname,
      "server.port": Number(port || (protocol === "https:" ? 443 : 80)),
    });
  }
  propagation.inject(trace.setSpan(context.active(), span), headers);
  return ended(
    span,
    send().then((answer) => {
      span.setAttribute("http.response.status_code", answer.status);
      // a client span is in error for any status of 400 and up (OpenTelemetry's HTTP conventions)
      if (answer.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
      return answer;
    }),
  );
}

/** Ends `span` when `work` settles; a failure is named by its code or class alone (a message may hold anything). */
function ended<T>(span: Span, work: Promise<T>): Promise<T> {
  return work.then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      if (span.isRecording()) {
        span.setAttribute("error.type", error instanceof TokenClientError ? error.code : error instanceof Error ? error.name : "unknown");
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      throw error;
    },
  );
}

type Listeners = Required<Pick<TokenClientOptions, "onLookup" | "onFetched" | "onReused" | "onRefreshFailed" | "onRetry">>;

/**
 * The client's listeners, each first describing the event on the active
 * span (`TokenClient.getToken`, or `TokenClient.refresh` in the
 * background), then calling the listener the options gave, if any.
 */
export function tracedListeners(options: Partial<Listeners>): Listeners {
  return {
    onLookup(event) {
      const span = trace.getActiveSpan();
      if (span?.isRecording()) {
        span.setAttributes({
          "oauth.token.cache": event.outcome,
          "oauth.client_id": event.clientId,
          ...(event.scope === undefined ? {} : { "oauth.scope": event.scope }),
          ...(event.audience === undefined ? {} : { "oauth.audience": event.audience }),
          ...(event.resource === undefined ? {} : { "oauth.resource": event.resource }),
        });
      }
      options.onLookup?.(event);
    },
    onFetched(event) {
      trace.getActiveSpan()?.setAttributes({
        "oauth.client_auth_method": event.authMethod,
        "oauth.token.fingerprint": event.tokenFingerprint,
        "oauth.token.lifetime_seconds": event.lifetimeSeconds,
      });
      options.onFetched?.(event);
    },
    onReused(event) {
      trace.getActiveSpan()?.setAttributes({
        "oauth.token.fingerprint": event.tokenFingerprint,
        "oauth.token.expires_in_remaining": event.expiresInSeconds,
      });
      options.onReused?.(event);
    },
    onRefreshFailed(event) {
      const code = event.error instanceof TokenClientError ? event.error.code : "unknown";
      trace.getActiveSpan()?.addEvent("refresh failed", { "error.type": code });
      options.onRefreshFailed?.(event);
    },
    onRetry(event) {
      trace.getActiveSpan()?.addEvent("retry", { attempt: event.attempt, delay_ms: event.delayMs, "error.type": event.error.code });
      options.onRetry?.(event);
    },
  };
}
