import { createHash } from "node:crypto";
import { context, isSpanContextValid, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { InvalidClientError, OAuthError } from "./errors.js";
import type { RequestRefusedEvent, TokenIntrospectedEvent, TokenIssuedEvent, TokenIssuerOptions } from "./token-issuer.js";

/**
 * Spans of the authorization server's jobs, through `@opentelemetry/api`
 * only: without an SDK in the process every call is a no-op and nothing is
 * built. What a span says comes from the issuer's own events, so the trace
 * and the log line of a request say the same thing. Never a secret, a token
 * or an assertion: a presented (unauthenticated) client id only as a
 * fingerprint, like the logs.
 */
const tracer = trace.getTracer("@m2m/token-issuer");

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
      if (span.isRecording() && !(error instanceof OAuthError)) {
        span.setAttribute("error.type", error instanceof Error ? error.name : "unknown");
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      throw error;
    },
  );
}

type Listeners = Required<Pick<TokenIssuerOptions, "onIssued" | "onRefused" | "onIntrospected">>;

/**
 * The issuer's listeners, each first describing the event on the active
 * span (`TokenIssuer.token`, or the request's span for introspection), then
 * calling the listener the options gave, if any.
 */
export function tracedListeners(options: Partial<Listeners>): Listeners {
  return {
    onIssued(event) {
      describeIssued(trace.getActiveSpan(), event);
      options.onIssued?.(event);
    },
    onRefused(event) {
      describeRefused(trace.getActiveSpan(), event);
      options.onRefused?.(event);
    },
    onIntrospected(event) {
      describeIntrospected(trace.getActiveSpan(), event);
      options.onIntrospected?.(event);
    },
  };
}

/** Who asked, for what, how they authenticated, which key signed, and each step-2 check that passed, in order. */
function describeIssued(span: Span | undefined, event: TokenIssuedEvent): void {
  if (!span?.isRecording()) return;
  const { header, claims } = event;
  span.setAttributes({
    "oauth.client_id": event.clientId,
    "oauth.grant_type": event.grantType,
    "oauth.client_auth_method": event.authMethod,
    ...prefixed("oauth.requested.", event.requested),
    "oauth.scope": claims.scope,
    "oauth.audience": claims.aud,
    "oauth.expires_in": event.expiresIn,
    "jwt.header.alg": header.alg,
    "jwt.header.typ": header.typ,
    "jwt.header.kid": header.kid,
    ...prefixed("jwt.claims.", claims),
    // a DPoP-bound token: the thumbprint of the client's public key, never the key's private part
    ...(event.dpop ? { "oauth.dpop.jkt": event.dpop.jkt, "oauth.dpop.alg": event.dpop.alg } : {}),
  });
  for (const check of event.checks) span.addEvent("check", { check });
}

/** Why the request was refused: the OAuth error, and for `invalid_client` the reason the client was not told. */
function describeRefused(span: Span | undefined, { error, presentedClientId, authMethod }: RequestRefusedEvent): void {
  if (!span?.isRecording()) return;
  span.setAttributes({
    "oauth.error": error.code,
    ...(authMethod === undefined ? {} : { "oauth.client_auth_method": authMethod }),
    ...(error instanceof InvalidClientError ? { "oauth.refusal_reason": error.reason } : {}),
    // not authenticated, so it may be anything (a secret pasted into the wrong field): a fingerprint only
    ...(presentedClientId === undefined ? {} : { "oauth.client_fingerprint": fingerprint(presentedClientId) }),
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
}

function describeIntrospected(span: Span | undefined, event: TokenIntrospectedEvent): void {
  if (!span?.isRecording()) return;
  span.setAttributes({ "oauth.client_id": event.clientId, "oauth.introspection.active": event.active });
}

function prefixed(prefix: string, values: object): Record<string, string | number> {
  const attributes: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === "string" || typeof value === "number") attributes[prefix + name] = value;
  }
  return attributes;
}

/** `sha256:` and 12 hex digits, as the apps' logs write it. */
function fingerprint(value: string): string {
  return `sha256:${createHash("sha256").update(value).digest("hex").slice(0, 12)}`;
}
