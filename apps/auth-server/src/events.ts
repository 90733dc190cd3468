import type { Logger } from "@m2m/service-kit";
import type { TokenIssuerOptions } from "@m2m/token-issuer";

/**
 * The issuer's events as log lines (docs/log-events.md): `token.issued`,
 * `token.refused`, `introspection.refused`, `token.introspected`. The
 * request's `req_id` is added by the logger.
 */
export function logIssuerEvents(logger: Logger): Pick<TokenIssuerOptions, "onIssued" | "onRefused" | "onIntrospected"> {
  return {
    onIssued(event) {
      logger.info(
        {
          client_id: event.clientId,
          grant_type: event.grantType,
          auth_method: event.authMethod,
          requested: event.requested,
          header: event.header,
          claims: event.claims,
          expires_in: event.expiresIn,
          checks: event.checks,
        },
        "token.issued",
      );
    },
    onRefused({ endpoint, error, clientId }) {
      logger.info(
        { error: error.code, error_description: error.description, client_id: clientId },
        endpoint === "token" ? "token.refused" : "introspection.refused",
      );
    },
    onIntrospected({ clientId, active }) {
      logger.info({ client_id: clientId, active }, "token.introspected");
    },
  };
}
