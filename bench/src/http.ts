/** Small fetch helpers for the probes each scenario makes before loading a server. */
import type { JsonWebKey } from "node:crypto";
import { proofMaker } from "./load/dpop-proofs.js";

export const TOKEN_BODY = "grant_type=client_credentials&scope=charge%3Acustomer&resource=https%3A%2F%2Fpayment.internal";

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString("base64")}`;
}

export interface TokenResponse {
  access_token: string;
  expires_in: number;
  scope?: string;
}

/** Asks `/token` for a `charge:customer` token for payment-service, as order-service would. */
export async function fetchToken(issuerUrl: string, clientId = "order-service", secret = "super-secret"): Promise<TokenResponse> {
  const res = await fetch(`${issuerUrl}/token`, {
    method: "POST",
    headers: { authorization: basic(clientId, secret), "content-type": "application/x-www-form-urlencoded" },
    body: TOKEN_BODY,
  });
  const body = (await res.json()) as Partial<TokenResponse> & { error?: string };
  if (res.status !== 200 || typeof body.access_token !== "string") {
    throw new Error(`POST ${issuerUrl}/token answered ${res.status} ${JSON.stringify(body)}`);
  }
  return body as TokenResponse;
}

/**
 * A DPoP-bound token (RFC 9449 §5) for `key`, as order-service with
 * `CLIENT_DPOP=true` gets one: a proof with the request; on
 * `use_dpop_nonce`, once more with the server's nonce.
 */
export async function fetchDPoPToken(issuerUrl: string, key: JsonWebKey): Promise<TokenResponse & { token_type: string }> {
  const request = (nonce?: string) =>
    fetch(`${issuerUrl}/token`, {
      method: "POST",
      headers: {
        authorization: basic("order-service", "super-secret"),
        "content-type": "application/x-www-form-urlencoded",
        dpop: proofMaker({ htm: "POST", htu: `${issuerUrl}/token`, key, ...(nonce === undefined ? {} : { nonce }) })(),
      },
      body: TOKEN_BODY,
    });
  let res = await request();
  const nonce = res.headers.get("dpop-nonce");
  if (res.status === 400 && nonce !== null) res = await request(nonce);
  const body = (await res.json()) as Partial<TokenResponse> & { token_type?: string; error?: string };
  if (res.status !== 200 || typeof body.access_token !== "string" || body.token_type !== "DPoP") {
    throw new Error(`POST ${issuerUrl}/token with a DPoP proof answered ${res.status} ${JSON.stringify(body)}`);
  }
  return body as TokenResponse & { token_type: string };
}

/** The DPoP nonce auth-server hands out now: what it answers a proof without one (`use_dpop_nonce`). */
export async function fetchDPoPNonce(issuerUrl: string): Promise<string> {
  const res = await fetch(`${issuerUrl}/token`, {
    method: "POST",
    headers: {
      authorization: basic("order-service", "super-secret"),
      "content-type": "application/x-www-form-urlencoded",
      dpop: proofMaker({ htm: "POST", htu: `${issuerUrl}/token` })(),
    },
    body: TOKEN_BODY,
  });
  const nonce = res.headers.get("dpop-nonce");
  const body = await res.text();
  if (res.status !== 400 || nonce === null) throw new Error(`POST ${issuerUrl}/token without a nonce answered ${res.status} ${body.slice(0, 300)}, no DPoP-Nonce`);
  return nonce;
}

export function jwtHeader(token: string): { alg?: string; kid?: string; typ?: string } {
  return JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8")) as { alg?: string };
}

/** Sends one request and insists on the status, so a broken server fails fast with its answer. */
export async function expectStatus(url: string, init: RequestInit, statuses: number[]): Promise<unknown> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!statuses.includes(res.status)) throw new Error(`${init.method ?? "GET"} ${url} answered ${res.status} ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function chargeBody(id: string): string {
  return JSON.stringify({ orderId: `o-${id}`, customerId: "c-bench", amount: 1299, currency: "EUR" });
}

/** Polls `/readyz` until 200 (payment-service is ready once it holds the issuer's JWKS). */
export async function waitForReady(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
      last = `${res.status} ${await res.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}/readyz not 200 after ${timeoutMs} ms (last: ${last})`);
}
