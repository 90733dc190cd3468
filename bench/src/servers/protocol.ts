/**
 * The servers the bench runs, each in a child process of its own, and the
 * messages between the benchmark (parent) and them. A child has an IPC
 * channel; it says `ready` once listening, answers `memory` when asked, and
 * stops on SIGTERM.
 */

/** Our apps, run as `npm start` runs them: `apps/<app>/dist/main.js` with environment variables. */
export type AppKind = "auth-server" | "payment-service" | "order-service";

/** The bench's own servers, built from the packages' public APIs (src/servers/entry.ts). */
export type BenchServerKind = "charge-bare" | "charge-guarded" | "charge-jwt-bearer" | "oidc-provider" | "token-floor" | "express-floor" | "http-floor";

export type ServerKind = AppKind | BenchServerKind;

export const APP_KINDS: readonly AppKind[] = ["auth-server", "payment-service", "order-service"];

export function isApp(kind: ServerKind): kind is AppKind {
  return (APP_KINDS as readonly string[]).includes(kind);
}

export type SigningAlg = "RS256" | "PS256" | "ES256" | "EdDSA";

export interface ServerSpec {
  kind: ServerKind;
  /** Temp folder for keys and SQLite files, made and removed by the parent. */
  dataDir: string;
  /** Port to listen on, chosen free by the parent (our apps always get one: their URLs are configuration). */
  port?: number;
  alg?: SigningAlg;
  /** auth-server: access token lifetime in seconds (`ACCESS_TOKEN_TTL`). */
  tokenTtl?: number;
  /** Issuer URL (payment-service, order-service, the guarded bench servers). */
  issuer?: string;
  /** order-service: where payment-service listens. */
  paymentUrl?: string;
  /** Our apps: more environment, as an operator would set it (the shared stores: `DATABASE_URL`, `REDIS_URL`, `KEY_ENCRYPTION_KEY_FILE`). */
  env?: Record<string, string>;
  /**
   * DPoP at a resource server (RFC 9449 §7): payment-service's `DPOP_MODE`,
   * or the mode of the bench's guarded charge server's `createDPoPVerifier`;
   * either way with its own origin as the public URL proofs must name
   * (`PUBLIC_URL`), so the port is chosen before it starts. Unset: the
   * app's default (payment-service: `allowed`, no `PUBLIC_URL`), no `dpop`
   * option for the bench's guard.
   */
  dpopMode?: "off" | "allowed" | "required";
  /** The bench's guarded charge server with `dpopMode`: its replay cache's `replayCacheMaxEntries` (default the package's). */
  replayCacheMaxEntries?: number;
  /** auth-server: `DPOP_NONCE_REQUIRED` (unset: the app's default, true). */
  dpopNonceRequired?: boolean;
  /**
   * Our apps: where to export traces (`OTEL_EXPORTER_OTLP_ENDPOINT`, the SDK's
   * default protocol); unset, no OpenTelemetry SDK is loaded, as deployed
   * without the variables.
   */
  traces?: string;
  /** The bench's charge servers: serve `/metrics` and count every request into it, as the apps do. */
  metrics?: boolean;
  /** Our apps: `LOG_LEVEL` (default `info`, as deployed); `silent` for what-if runs. */
  logLevel?: string;
  /**
   * Where the process's stdout (one JSON line per log event) goes: a file,
   * read afterwards where the bench counts events, or /dev/null.
   */
  logFile?: string;
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
}

export type ParentMessage = { type: "memory"; gc: boolean };

export type ChildMessage =
  | { type: "ready"; url: string }
  | { type: "failed"; error: string }
  | { type: "memory"; memory: MemorySample };
