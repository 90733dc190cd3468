import { fingerprint, type Logger } from "@m2m/service-kit";
import { InvalidClientError, InvalidDPoPProofError } from "@m2m/token-issuer";
import type { TokenIssuerOptions } from "@m2m/token-issuer";

/**
 * The issuer's events as log lines (docs/log-events.md): `token.issued`,
 * `token.refused`, `introspection.refused`, `token.introspected`. The
 * request's `req_id` is added by the logger.
 *
 * A refused request's client id is logged only as a fingerprint: it was not
 * authenticated, so it may be anything, a secret pasted into the wrong field
 * included; and the line must read the same for a registered id and an
 * unknown one.
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
          ...(event.dpop ? { dpop: event.dpop } : {}),
        },
        "token.issued",
      );
    },
    onRefused({ endpoint, error, presentedClientId }) {
      logger.info(
        {
          error: error.code,
          error_description: error.description,
          // what went wrong, which the client is not told
          ...(error instanceof InvalidClientError || error instanceof InvalidDPoPProofError ? { reason: error.reason } : {}),
          client_fingerprint: presentedClientId === undefined ? undefined : fingerprint(presentedClientId),
        },
        endpoint === "token" ? "token.refused" : "introspection.refused",
      );
    },
    onIntrospected({ clientId, active }) {
      logger.info({ client_id: clientId, active }, "token.introspected");
    },
  };
}
