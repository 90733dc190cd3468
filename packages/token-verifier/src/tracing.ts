import { context, isSpanContextValid, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { BearerError } from "./errors.js";
import type { GuardOptions, TokenRejectedEvent, TokenVerifiedEvent } from "./guard.js";

/**
 * Spans of the resource server's checks, through `@opentelemetry/api`
 * only: without an SDK in the process every call is a no-op and nothing is
 * built. What a span says comes from the guard's own events, so the trace
 * and the log line of a request say the same thing. Never the token: its
 * header and claims (which any holder can read) and the checks it passed.
 */
const tracer = trace.getTracer("@m2m/token-verifier");

/**
 * Runs `job` in a span named `name`, the active span while it runs, so the
 * events it emits describe this span. Without an SDK the span is a no-op and
 * no context is made for it.
 */
export function inSpan<T>(name: string, job: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name);
  if (!isSpanContextValid(span.spanContext())) return job();
  return context.with(trace.setSpan(context.active(), span), job).then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      // a refusal was described by its event; anything else is named by its class alone (a message may hold anything)
      if (span.isRecording() && !(error instanceof BearerError)) {
        span.setAttribute("error.type", error instanceof Error ? error.name : "unknown");
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      throw error;
    },
  );
}

type Listeners = Required<Pick<GuardOptions, "onVerified" | "onRejected">>;

/**
 * The guard's listeners, each first describing the event on the active span
 * (`BearerGuard.check`), then calling the listener the options gave, if any.
 */
export function tracedListeners(options: Pick<GuardOptions, "onVerified" | "onRejected">): Listeners {
  return {
    onVerified(event) {
      describeVerified(trace.getActiveSpan(), event);
      options.onVerified?.(event);
    },
    onRejected(event) {
      describeRejected(trace.getActiveSpan(), event);
      options.onRejected?.(event);
    },
  };
}

/** Who called, with what rights, which key signed, whether the signature check came from the cache, and each step-5 check in order. */
function describeVerified(span: Span | undefined, event: TokenVerifiedEvent): void {
  if (!span?.isRecording()) return;
  const { claims, header, cached } = event.token;
  span.setAttributes({
    "oauth.client_id": claims.client_id,
    "oauth.scope": claims.scope,
    "oauth.audience": claims.aud,
    "oauth.token.cached": cached,
    "jwt.header.alg": header.alg,
    "jwt.header.typ": header.typ,
    ...(header.kid === undefined ? {} : { "jwt.header.kid": header.kid }),
    "jwt.claims.iss": claims.iss,
    "jwt.claims.sub": claims.sub,
    "jwt.claims.jti": claims.jti,
    "jwt.claims.iat": claims.iat,
    "jwt.claims.exp": claims.exp,
    ...(event.dpop ? { "oauth.dpop.jkt": event.dpop.jkt, "oauth.dpop.alg": event.dpop.alg } : {}),
  });
  for (const check of event.checks) span.addEvent("check", { check });
}

/** Why the request was refused: the RFC 6750 error code and its description (never anything taken from the token). */
function describeRejected(span: Span | undefined, { error }: TokenRejectedEvent): void {
  if (!span?.isRecording()) return;
  span.setAttributes({ "oauth.error": error.code, "oauth.error_description": error.description });
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
}
