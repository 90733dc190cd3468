import type { DPoPProofSpec } from "./dpop-proofs.js";

/**
 * One load run, described as data so it can cross into the load-generator
 * process. Per-request variation is declared, not passed as code.
 */
export interface LoadJob {
  title: string;
  url: string;
  /** More servers to spread the connections over, round robin (several instances of one app). */
  moreUrls?: string[];
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Set this header to a value unique to each request (e.g. `Idempotency-Key`). */
  uniqueHeader?: string;
  /** In `body`, replace every `{id}` with the same per-request unique value. */
  uniqueBody?: boolean;
  /** Send a distinct, well-formed but forged bearer token on every request. */
  bogusBearer?: BogusBearer;
  /** Send a new DPoP proof (RFC 9449) in a `DPoP` header on every request, made in the load generator. */
  dpop?: DPoPProofSpec;
  /** Count responses whose body contains each of these texts (costs load-generator CPU). */
  countBodyContaining?: string[];
  /** Count the values of this response header (lower case), e.g. `retry-after`: how many answers carried which (costs load-generator CPU). */
  countHeader?: string;
  connections: number;
  seconds: number;
  /** Statuses that count as a correct answer; anything else is a failure. */
  expect: number[];
}

export interface BogusBearer {
  alg: string;
  /** A kid the issuer really publishes; every other token names an unknown kid. */
  kid: string;
  iss: string;
  aud: string;
  scope: string;
}

export interface LoadResult {
  title: string;
  seconds: number;
  /** Answers per second (all statuses). */
  rps: number;
  /** Latency in ms. */
  p50: number;
  p99: number;
  total: number;
  /** Responses whose status is not in `expect`. */
  unexpected: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** For each of `countBodyContaining`, how many responses contained it. */
  bodyMatches?: Record<string, number>;
  /** For `countHeader`: answers by the header's value (`""` for answers without it), with the status: `503 7`. */
  headerValues?: Record<string, number>;
}
