import { decodeProtectedHeader, jwtVerify } from "jose";
import type { Clock } from "./clock.js";
import type { ClientRegistry } from "./registry.js";
import type { SigningKeys } from "./signing-keys.js";

/** RFC 7662 §2.2 introspection response. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      iss: string;
      sub: string;
      client_id: string;
      aud: string;
      scope: string;
      exp: number;
      iat: number;
      jti: string;
      token_type: "Bearer" | "DPoP";
      /** RFC 9449 §6.2: the key a DPoP-bound token is bound to. */
      cnf?: { jkt: string };
    };

/**
 * RFC 7662 §2.2: whether `token` is live: signed by one of our published
 * keys, `typ` `at+jwt` (RFC 9068 §2.1), our `iss`, not expired, and its client
 * still registered and enabled. Anything else is only `{"active": false}`,
 * never why.
 */
export async function inspectToken(
  token: string,
  context: { issuer: string; keys: SigningKeys; registry: ClientRegistry; clock: Clock },
): Promise<IntrospectionResponse> {
  try {
    const { kid } = decodeProtectedHeader(token);
    const key = typeof kid === "string" ? context.keys.verificationKey(kid) : undefined;
    if (key === undefined) return { active: false };
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [key.alg],
      issuer: context.issuer,
      typ: "at+jwt",
      requiredClaims: ["exp", "iat", "jti", "sub", "aud"],
      currentDate: new Date(context.clock()),
    });
    const clientId = payload.client_id;
    const client = typeof clientId === "string" ? context.registry.client(clientId) : undefined;
    if (client === undefined || client.disabled) return { active: false };
    if (typeof payload.aud !== "string" || typeof payload.scope !== "string") return { active: false };
    const jkt = (payload.cnf as { jkt?: unknown } | undefined)?.jkt;
    return {
      active: true,
      iss: context.issuer,
      sub: payload.sub!,
      client_id: client.clientId,
      aud: payload.aud,
      scope: payload.scope,
      exp: payload.exp!,
      iat: payload.iat!,
      jti: payload.jti!,
      ...(typeof jkt === "string" ? { token_type: "DPoP", cnf: { jkt } } : { token_type: "Bearer" }),
    };
  } catch {
    // Foreign, tampered, expired or malformed.
    return { active: false };
  }
}
