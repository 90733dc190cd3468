import { fileURLToPath } from "node:url";
import { ConfigError } from "@m2m/service-kit";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";

describe("loadConfig", () => {
  it("has the contract's local defaults", () => {
    expect(loadConfig({})).toEqual({
      port: 4002,
      host: "127.0.0.1",
      http: { headersTimeoutMs: 10_000, requestTimeoutMs: 15_000, keepAliveTimeoutMs: 5_000, idleTimeoutMs: 30_000, maxConnections: 1_000 },
      authServerUrl: "http://localhost:4000",
      issuer: "http://localhost:4000",
      audience: "payment-service",
      chargeLimit: 100_000,
      dataDir: fileURLToPath(new URL("../data", import.meta.url)),
      idempotencyKeyRetentionMs: 7 * 86_400_000,
      jwksMaxAgeMs: 60_000,
      jwksMaxStaleMs: 600_000,
      dpop: { mode: "allowed", requireNonce: false },
      trustProxy: false,
    });
  });

  it("takes DPOP_MODE, PUBLIC_URL as an origin, DPOP_NONCE_REQUIRED and its secret, never showing the secret", () => {
    const config = loadConfig({
      DPOP_MODE: "required",
      PUBLIC_URL: "https://payments.example:443/",
      DPOP_NONCE_REQUIRED: "true",
      DPOP_NONCE_SECRET: "s".repeat(32),
    });
    expect(config.dpop).toMatchObject({ mode: "required", publicUrl: "https://payments.example", requireNonce: true });
    expect(JSON.stringify(config)).not.toContain("s".repeat(32));
  });

  it("takes TRUST_PROXY as Express does: never by default, or true, a hop count, addresses and subnets", () => {
    expect(loadConfig({ TRUST_PROXY: "true" }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: "1" }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8, ::1" }).trustProxy).toEqual(["10.0.0.0/8", "::1"]);
  });

  it("hardening #7: takes JWKS_MAX_AGE and JWKS_MAX_STALE in seconds", () => {
    expect(loadConfig({ JWKS_MAX_AGE: "30", JWKS_MAX_STALE: "3600" })).toMatchObject({ jwksMaxAgeMs: 30_000, jwksMaxStaleMs: 3_600_000 });
    expect(loadConfig({ JWKS_MAX_AGE: "900" })).toMatchObject({ jwksMaxAgeMs: 900_000, jwksMaxStaleMs: 900_000 });
  });

  it("takes DATABASE_URL for the shared ledger without ever echoing it, and IDEMPOTENCY_KEY_RETENTION in seconds", () => {
    expect(loadConfig({ DATABASE_URL: "postgres://app:pw@db:5432/payments", IDEMPOTENCY_KEY_RETENTION: "86400" })).toMatchObject({
      databaseUrl: "postgres://app:pw@db:5432/payments",
      idempotencyKeyRetentionMs: 86_400_000,
    });
    expect(() => loadConfig({ DATABASE_URL: "mysql://app:s3cret@db/payments" })).toThrow(/^invalid DATABASE_URL: expected a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://app:s3cret@db/payments" })).not.toThrow(/s3cret/);
    expect(() => loadConfig({ IDEMPOTENCY_KEY_RETENTION: "60" })).toThrow(/^invalid IDEMPOTENCY_KEY_RETENTION/);
  });

  it("takes ISSUER from AUTH_SERVER_URL unless set", () => {
    expect(loadConfig({ AUTH_SERVER_URL: "http://auth-server:4000" }).issuer).toBe("http://auth-server:4000");
    expect(loadConfig({ AUTH_SERVER_URL: "http://auth-server:4000", ISSUER: "https://auth.example" })).toMatchObject({
      authServerUrl: "http://auth-server:4000",
      issuer: "https://auth.example",
    });
  });

  it("reads the HTTP server's limits from HTTP_*", () => {
    expect(loadConfig({ HTTP_IDLE_TIMEOUT_MS: "60000", HTTP_MAX_CONNECTIONS: "200" }).http).toMatchObject({ idleTimeoutMs: 60_000, maxConnections: 200 });
  });

  it.each([
    ["PORT", "http", /invalid PORT/],
    ["CHARGE_LIMIT", "1e5", /invalid CHARGE_LIMIT: expected a positive integer/],
    ["CHARGE_LIMIT", "0", /invalid CHARGE_LIMIT/],
    ["AUTH_SERVER_URL", "localhost:4000", /invalid AUTH_SERVER_URL/],
    ["ISSUER", "ftp://auth", /invalid ISSUER/],
    ["JWKS_MAX_AGE", "1m", /invalid JWKS_MAX_AGE: expected an integer from 1 to 86400/],
    ["JWKS_MAX_AGE", "0", /invalid JWKS_MAX_AGE/],
    ["JWKS_MAX_STALE", "10m", /invalid JWKS_MAX_STALE: expected an integer from 1 to 604800/],
    ["JWKS_MAX_STALE", "30", /invalid JWKS_MAX_STALE: must be at least JWKS_MAX_AGE \(60 s\), got "30"/],
    ["DPOP_MODE", "on", /invalid DPOP_MODE: expected one of off, allowed, required, got "on"/],
    ["PUBLIC_URL", "https://payments.example/api", /invalid PUBLIC_URL: expected an origin/],
    ["PUBLIC_URL", "payments.example", /invalid PUBLIC_URL/],
    ["DPOP_NONCE_REQUIRED", "yes", /invalid DPOP_NONCE_REQUIRED: expected true or false/],
    ["DPOP_NONCE_SECRET", "short", /invalid DPOP_NONCE_SECRET: expected at least 32 characters/],
    ["TRUST_PROXY", "proxy.internal", /invalid TRUST_PROXY/],
    ["TRUST_PROXY", "10.0.0.0/99", /invalid TRUST_PROXY/],
    ["HTTP_REQUEST_TIMEOUT_MS", "15s", /^invalid HTTP_REQUEST_TIMEOUT_MS: expected an integer/],
    ["HTTP_MAX_CONNECTIONS", "-1", /^invalid HTTP_MAX_CONNECTIONS: /],
  ])("refuses %s=%s with one line naming it", (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});
