// express-oauth2-jwt-bearer is one of the bench's peers (bench/peers, installed on first run, see src/peers.ts):
// its own declarations are not there when the bench is type-checked, so this is the little the bench uses.
declare module "express-oauth2-jwt-bearer" {
  import type { Handler } from "express";

  export interface AuthOptions {
    issuer?: string;
    jwksUri?: string;
    audience?: string | string[];
    tokenSigningAlg?: string;
    /** Checks `typ: at+jwt` and the other RFC 9068 rules. */
    strict?: boolean;
    /** DPoP (RFC 9449): proofs accepted when `enabled`, demanded when also `required`. */
    dpop?: { enabled?: boolean; required?: boolean };
  }

  /** Sets `req.auth = { header, payload, token }` once the token is verified. */
  export function auth(options?: AuthOptions): Handler;
  export function requiredScopes(scopes: string | string[]): Handler;
}
