import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { EnvReader } from "@m2m/service-kit";

/** payment-service's configuration, read once from the environment (docs/wire-contract.md, "Starting an app, and its configuration"). */
export interface PaymentConfig {
  port: number;
  host: string;
  /** Where the authorization server is reached for its metadata and JWK Set. */
  authServerUrl: string;
  /** The only `iss` accepted; the metadata at `authServerUrl` must name it (RFC 8414 §3.3). */
  issuer: string;
  /** The only `aud` accepted. */
  audience: string;
  /** Charges above this amount, in minor units, are declined. */
  chargeLimit: number;
  /** Where the SQLite ledger lives. */
  dataDir: string;
}

// dist/config.js and src/config.ts are both one level below the app folder
const DEFAULT_DATA_DIR = fileURLToPath(new URL("../data", import.meta.url));

/** Environment in, typed config out; the first invalid variable throws a one-line `ConfigError`. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): PaymentConfig {
  const read = new EnvReader(env);
  const authServerUrl = read.url("AUTH_SERVER_URL", "http://localhost:4000");
  return {
    port: read.port("PORT", 4002),
    host: read.string("HOST", "127.0.0.1"),
    authServerUrl,
    issuer: read.url("ISSUER", authServerUrl),
    audience: read.string("AUDIENCE", "payment-service"),
    chargeLimit: read.positiveInt("CHARGE_LIMIT", 100_000),
    dataDir: resolve(read.string("DATA_DIR", DEFAULT_DATA_DIR)),
  };
}
