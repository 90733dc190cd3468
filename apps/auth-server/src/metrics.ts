import type { Registry } from "@m2m/service-kit";
import { InvalidClientError, TooManyRequestsError, type OAuthError, type TokenIssuerOptions } from "@m2m/token-issuer";
import { Counter } from "prom-client";

type IssuerListeners = Pick<TokenIssuerOptions, "onIssued" | "onRefused" | "onIntrospected">;

/** The OAuth error codes this server answers with; any other would be counted as `other`, so no label value is ever new. */
const ERROR_CODES = new Set([
  "invalid_request",
  "invalid_client",
  "unsupported_grant_type",
  "invalid_scope",
  "invalid_target",
  "invalid_dpop_proof",
  "use_dpop_nonce",
  "temporarily_unavailable",
  "server_error",
]);

/**
 * Why client authentication failed, as a label: `InvalidClientError.reason`
 * sorted into a fixed set. `bad_credentials` is one reason for an unknown
 * client, a disabled one and a wrong secret alike: the metric must not tell
 * a registered id from an unknown one any more than the answer does.
 */
const AUTH_FAILURE_REASONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^no enabled client with this id and secret$/, "bad_credentials"],
  [/^no client authentication/, "no_credentials"],
  [/^(malformed Basic|unsupported authentication scheme|unsupported client_assertion_type|client_id does not match)/, "malformed"],
  [/jti replayed/, "assertion_replayed"],
  [/client assertion/, "bad_assertion"],
];

/** The label for a refused client authentication, or `undefined` when the refusal was about something else. */
export function authFailureReason(error: OAuthError): string | undefined {
  if (error instanceof TooManyRequestsError) return "rate_limited";
  if (!(error instanceof InvalidClientError)) return undefined;
  return AUTH_FAILURE_REASONS.find(([pattern]) => pattern.test(error.reason))?.[1] ?? "other";
}

/**
 * auth-server's metrics, counted from the issuer's events before `next`
 * (the log lines) hears of them. Every label comes from a fixed set: no
 * `client_id`, whose values a registry (or a caller, for refusals) chooses.
 * The token endpoint's latency is `http_server_request_duration_seconds`
 * with `http_route="/token"`, measured for every route by the base app.
 */
export function countIssuerEvents(registry: Registry, next: IssuerListeners): IssuerListeners {
  const requests = new Counter({
    name: "oauth_token_requests_total",
    help: "Token requests answered: result is issued or the OAuth error code; alg, the signing algorithm of an issued token",
    labelNames: ["auth_method", "result", "alg"],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: "oauth_client_authentication_failures_total",
    help: "Client authentications refused, at the token or introspection endpoint, by reason",
    labelNames: ["endpoint", "reason"],
    registers: [registry],
  });
  const introspections = new Counter({
    name: "oauth_introspections_total",
    help: "Introspection requests answered, by whether the token was active",
    labelNames: ["active"],
    registers: [registry],
  });
  return {
    onIssued(event) {
      requests.inc({ auth_method: event.authMethod, result: "issued", alg: event.header.alg });
      next.onIssued?.(event);
    },
    onRefused(event) {
      const { error, endpoint } = event;
      if (endpoint === "token") requests.inc({ auth_method: event.authMethod ?? "none", result: ERROR_CODES.has(error.code) ? error.code : "other" });
      const reason = authFailureReason(error);
      if (reason !== undefined) authFailures.inc({ endpoint, reason });
      next.onRefused?.(event);
    },
    onIntrospected(event) {
      introspections.inc({ active: String(event.active) });
      next.onIntrospected?.(event);
    },
  };
}
