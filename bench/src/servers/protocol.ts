/**
 * The messages between the benchmark (parent) and a server it runs in a
 * child process. The child is started with an IPC channel; it answers
 * `ready` once listening, and `stats` or `memory` when asked.
 */
export type ServerKind =
  | "auth-server"
  | "payment-service"
  | "order-service"
  | "charge-unprotected"
  | "charge-express"
  | "charge-jwt-bearer"
  | "oidc-provider"
  | "token-floor"
  | "http-floor";

export type SigningAlg = "RS256" | "PS256" | "ES256" | "EdDSA";

export interface ServerSpec {
  kind: ServerKind;
  /** Temp folder for keys and SQLite files, made and removed by the parent. */
  dataDir: string;
  /** Port to listen on, chosen free by the parent (0 where the URL need not be known in advance). */
  port?: number;
  alg?: SigningAlg;
  /** auth-server: access token lifetime in seconds. */
  tokenTtl?: number;
  /** Issuer URL (payment-service, order-service, charge-jwt-bearer). */
  issuer?: string;
  /** order-service: where payment-service listens. */
  paymentUrl?: string;
  /** auth-server: count `token.issued` log events (parses those lines; only where the count is the point). */
  countTokens?: boolean;
  /** Log level of our apps (default `info`, as deployed); `silent` for what-if runs. */
  logLevel?: string;
}

export interface ServerStats {
  /** Requests seen, by `METHOD /path`. */
  requests: Record<string, number>;
  /** `token.issued` log events, by `client_id aud scope`. */
  tokensIssued: Record<string, number>;
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
}

export type ParentMessage = { type: "stats" } | { type: "memory"; gc: boolean } | { type: "stop" };

export type ChildMessage =
  | { type: "ready"; url: string }
  | { type: "failed"; error: string }
  | { type: "stats"; stats: ServerStats }
  | { type: "memory"; memory: MemorySample };
