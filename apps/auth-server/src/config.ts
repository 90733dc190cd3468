import { createSecretKey, type KeyObject } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, EnvReader, httpLimitsFrom, type HttpLimits } from "@m2m/service-kit";
import { databaseUrlFrom, redisUrlFrom } from "@m2m/store-kit";
import { KeyEncryptionKey } from "./stores/key-encryption.js";
import {
  isKeyFileName,
  loadRegistryFileSync,
  parseRegistry,
  RegistryError,
  SIGNING_ALGORITHMS,
  type RegistryData,
  type SigningAlgorithm,
} from "@m2m/token-issuer";

type Env = Readonly<Record<string, string | undefined>>;

/** Where the signing keys live and how they are managed. */
export interface KeyConfig {
  /** A key file or a directory of key files. */
  path: string;
  /** True when `path` is the server's own directory (under `DATA_DIR`): it may generate, rotate and prune keys there. */
  managed: boolean;
  /** Algorithm of keys this server generates (`SIGNING_ALG`). */
  alg: SigningAlgorithm;
  /** Seconds a rotated-in key is published before it signs (`KEY_PUBLISH_LEAD`). */
  publishLeadSeconds: number;
  /** Scheduled rotation period, seconds (`KEY_ROTATION_INTERVAL`); none when absent. */
  rotationIntervalSeconds?: number;
  /** How often the key directory and the registry file are re-read, seconds (`KEY_RELOAD_INTERVAL`). */
  reloadIntervalSeconds: number;
}

/**
 * Where state shared by several instances lives (the shared-stores extension
 * of the wire contract). Nothing set: everything under `DATA_DIR` and in
 * memory, as on one machine.
 */
export interface SharedStoresConfig {
  /** `DATABASE_URL`: the signing keys and the trusted callers in PostgreSQL. */
  databaseUrl?: string;
  /** `REDIS_URL`: the used-identifier (`jti`) cache and the failure counts in Redis. */
  redisUrl?: string;
  /**
   * `KEY_ENCRYPTION_KEY_FILE` (or `KEY_ENCRYPTION_KEY`): seals private keys in
   * PostgreSQL. Required with `DATABASE_URL` in production; outside it, one
   * is generated under `DATA_DIR` when none is given.
   */
  keyEncryptionKey?: KeyEncryptionKey;
}

export interface AuthServerConfig {
  port: number;
  host: string;
  /** Timeouts and the connection cap of the HTTP server (`HTTP_*`, docs/http-limits.md). */
  http: HttpLimits;
  /** `iss` of tokens and metadata, no trailing slash. */
  issuer: string;
  /** Access token lifetime, seconds. */
  accessTokenTtl: number;
  dataDir: string;
  production: boolean;
  /** The registry: the built-in development one, or a validated file (hashes only, no secrets). */
  clients: { source: "development" } | { source: "file"; path: string; data: RegistryData } | { source: "inline"; data: RegistryData };
  keys: KeyConfig;
  stores: SharedStoresConfig;
  dpop: DPoPConfig;
}

/** How DPoP proofs at `/token` are checked beyond RFC 9449 §4.3 itself. */
export interface DPoPConfig {
  /** Every proof must carry a current server nonce (`DPOP_NONCE_REQUIRED`, default true; RFC 9449 §8). */
  requireNonce: boolean;
  /**
   * What nonces are derived from (`DPOP_NONCE_SECRET` or `_FILE`), as a
   * `KeyObject` so no dump shows it. Unset: a random secret per process, so a
   * nonce is good at the instance that handed it out only.
   */
  nonceSecret?: KeyObject;
}

/** `./data` under the app folder (`dist/..` or `src/..`). */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL("../data", import.meta.url));

/**
 * Environment in, typed configuration out (docs/wire-contract.md, "Starting
 * an app, and its configuration", plus the extras of the app's README). The first
 * problem becomes a {@link ConfigError} with one line naming the variable.
 */
export function loadConfig(env: Env): AuthServerConfig {
  const read = new EnvReader(env);
  const production = env.NODE_ENV === "production";
  const issuer = read.url("ISSUER", "http://localhost:4000");
  if (production && !issuer.startsWith("https://")) {
    throw new ConfigError(`invalid ISSUER: expected an https URL in production, got ${JSON.stringify(issuer)}`);
  }
  if (new URL(issuer).search !== "" || issuer.includes("#")) {
    throw new ConfigError(`invalid ISSUER: expected a URL without query or fragment (RFC 8414 §2), got ${JSON.stringify(issuer)}`);
  }
  const accessTokenTtl = read.int("ACCESS_TOKEN_TTL", 300, { min: 1, max: 86_400 });
  const dataDir = resolve(read.string("DATA_DIR", DEFAULT_DATA_DIR));
  const clients = loadClients(read, production);
  const keys = loadKeyConfig(env, dataDir);
  const stores = loadSharedStores(env, production);
  // with DATABASE_URL the keys are in PostgreSQL, provisioned there by rotate-keys
  if (production && stores.databaseUrl === undefined) checkProductionKeys(keys);
  return {
    port: read.port("PORT", 4000),
    host: read.string("HOST", "127.0.0.1"),
    http: httpLimitsFrom(env),
    issuer,
    accessTokenTtl,
    dataDir,
    production,
    clients,
    keys,
    stores,
    dpop: loadDPoPConfig(read),
  };
}

/** `DATABASE_URL`, `REDIS_URL` and the key-encryption key, checked together. */
export function loadSharedStores(env: Env, production = env.NODE_ENV === "production"): SharedStoresConfig {
  const read = new EnvReader(env);
  const databaseUrl = databaseUrlFrom(env);
  const redisUrl = redisUrlFrom(env);
  const text = read.secret("KEY_ENCRYPTION_KEY");
  let keyEncryptionKey: KeyEncryptionKey | undefined;
  if (text !== undefined) {
    keyEncryptionKey = KeyEncryptionKey.parse(text);
    const name = read.raw("KEY_ENCRYPTION_KEY_FILE") !== undefined ? "KEY_ENCRYPTION_KEY_FILE" : "KEY_ENCRYPTION_KEY";
    if (keyEncryptionKey === undefined) throw new ConfigError(`invalid ${name}: expected 32 bytes in base64 or hex (openssl rand -base64 32)`);
  }
  if (production && databaseUrl !== undefined && keyEncryptionKey === undefined) {
    throw new ConfigError("invalid KEY_ENCRYPTION_KEY_FILE: required with DATABASE_URL in production (private signing keys are never stored in clear)");
  }
  return {
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    ...(redisUrl !== undefined ? { redisUrl } : {}),
    ...(keyEncryptionKey !== undefined ? { keyEncryptionKey } : {}),
  };
}

/** `DPOP_NONCE_REQUIRED` and `DPOP_NONCE_SECRET` (or `DPOP_NONCE_SECRET_FILE`): at least 32 characters, for HMAC-SHA256. */
function loadDPoPConfig(read: EnvReader): DPoPConfig {
  const requireNonce = read.boolean("DPOP_NONCE_REQUIRED", true);
  const secret = read.secret("DPOP_NONCE_SECRET");
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError("invalid DPOP_NONCE_SECRET: expected at least 32 characters (e.g. openssl rand -base64 32)");
  }
  return { requireNonce, ...(secret === undefined ? {} : { nonceSecret: createSecretKey(Buffer.from(secret, "utf8")) }) };
}

/** The key part of the configuration alone, for the `rotate-keys` command. */
export function loadKeyConfig(env: Env, dataDir = resolve(new EnvReader(env).string("DATA_DIR", DEFAULT_DATA_DIR))): KeyConfig {
  const read = new EnvReader(env);
  const given = read.optionalString("SIGNING_KEYS");
  const publishLeadSeconds = read.int("KEY_PUBLISH_LEAD", 90, { min: 0, max: 86_400 });
  const rotation = read.raw("KEY_ROTATION_INTERVAL") === undefined ? undefined : read.int("KEY_ROTATION_INTERVAL", 0, { min: 60, max: 366 * 86_400 });
  if (rotation !== undefined && rotation <= publishLeadSeconds) {
    throw new ConfigError(`invalid KEY_ROTATION_INTERVAL: must be longer than KEY_PUBLISH_LEAD (${publishLeadSeconds} s), got "${rotation}"`);
  }
  const path = given === undefined ? join(dataDir, "keys") : resolve(given);
  if (given !== undefined) {
    const info = statSync(path, { throwIfNoEntry: false });
    if (info === undefined) throw new ConfigError(`invalid SIGNING_KEYS: ${JSON.stringify(path)} does not exist`);
    if (rotation !== undefined && !info.isDirectory()) {
      throw new ConfigError("invalid KEY_ROTATION_INTERVAL: rotation needs SIGNING_KEYS to be a directory, not a file");
    }
  }
  return {
    path,
    managed: given === undefined || rotation !== undefined,
    alg: read.oneOf("SIGNING_ALG", SIGNING_ALGORITHMS, "RS256"),
    publishLeadSeconds,
    ...(rotation !== undefined ? { rotationIntervalSeconds: rotation } : {}),
    reloadIntervalSeconds: read.int("KEY_RELOAD_INTERVAL", 10, { min: 1, max: 3600 }),
  };
}

function loadClients(read: EnvReader, production: boolean): AuthServerConfig["clients"] {
  const file = read.optionalString("CLIENTS_FILE");
  const inline = read.optionalString("CLIENTS");
  if (file !== undefined && inline !== undefined) throw new ConfigError("invalid CLIENTS: set either CLIENTS or CLIENTS_FILE, not both");
  try {
    if (file !== undefined) return { source: "file", path: resolve(file), data: loadRegistryFileSync(resolve(file)) };
    if (inline !== undefined) {
      let json: unknown;
      try {
        json = JSON.parse(inline);
      } catch {
        throw new RegistryError("not valid JSON");
      }
      return { source: "inline", data: parseRegistry(json, "CLIENTS") };
    }
  } catch (error) {
    if (error instanceof RegistryError) throw new ConfigError(`invalid ${file !== undefined ? "CLIENTS_FILE" : "CLIENTS"}: ${error.message}`);
    throw error;
  }
  if (production) {
    throw new ConfigError("invalid CLIENTS_FILE: required in production (the built-in development registry is refused)");
  }
  return { source: "development" };
}

/**
 * Production never generates keys and never uses a key file others can
 * read: an operator provisions them (e.g. with `npm run rotate-keys`).
 */
function checkProductionKeys(keys: KeyConfig): void {
  const info = statSync(keys.path, { throwIfNoEntry: false });
  const files =
    info === undefined ? [] : info.isDirectory() ? readdirSync(keys.path).filter(isKeyFileName).map((name) => join(keys.path, name)) : [keys.path];
  if (files.length === 0) {
    throw new ConfigError(`invalid SIGNING_KEYS: no key file in ${JSON.stringify(keys.path)} (production never generates keys; run npm run rotate-keys)`);
  }
  for (const file of files) {
    if ((statSync(file).mode & 0o007) !== 0) {
      throw new ConfigError(`invalid SIGNING_KEYS: ${JSON.stringify(file)} is accessible to other users (chmod 600 it)`);
    }
  }
}
