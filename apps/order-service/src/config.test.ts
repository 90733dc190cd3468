import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { ConfigError } from "@m2m/service-kit";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../test/support/stand-ins.js";
import { DEFAULT_DATA_DIR, loadConfig } from "./config.js";

const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
const dir = () => {
  const d = tempDir();
  dirs.push(d);
  return d.path;
};

describe("loadConfig", () => {
  it("has the contract's local defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4001,
      host: "127.0.0.1",
      authServerUrl: "http://localhost:4000",
      issuer: "http://localhost:4000",
      clientId: "order-service",
      paymentServiceUrl: "http://localhost:4002",
      paymentToken: { resource: "https://payment.internal", scope: "charge:customer" },
      dataDir: DEFAULT_DATA_DIR,
    });
    expect(config.clientAuth.method).toBe("client_secret_basic");
    expect(DEFAULT_DATA_DIR).toMatch(/order-service[/\\]data$/);
  });

  it("takes ISSUER from AUTH_SERVER_URL unless it is set", () => {
    expect(loadConfig({ AUTH_SERVER_URL: "http://auth-server:4000/" }).issuer).toBe("http://auth-server:4000");
    expect(loadConfig({ AUTH_SERVER_URL: "http://auth-server:4000", ISSUER: "https://auth.example" }).issuer).toBe("https://auth.example");
  });

  it("never shows the secret in a dump of the configuration", () => {
    const config = loadConfig({ CLIENT_SECRET: "hunter2-very-secret" });
    expect(inspect(config, { depth: Infinity, showHidden: true })).not.toContain("hunter2-very-secret");
    expect(JSON.stringify(config)).not.toContain("hunter2-very-secret");
  });

  it("reads the secret from CLIENT_SECRET_FILE, and refuses both forms at once", () => {
    const file = join(dir(), "secret");
    writeFileSync(file, "from-a-file\n");
    expect(loadConfig({ CLIENT_SECRET_FILE: file, CLIENT_AUTH_METHOD: "client_secret_post" }).clientAuth.method).toBe("client_secret_post");
    expect(() => loadConfig({ CLIENT_SECRET_FILE: file, CLIENT_SECRET: "x" })).toThrow(/CLIENT_SECRET or CLIENT_SECRET_FILE/);
  });

  it("asks for DPoP-bound tokens with CLIENT_DPOP=true, with a key generated at start or from CLIENT_DPOP_KEY_FILE, never shown", () => {
    expect(loadConfig({}).dpop).toBeUndefined();
    expect(loadConfig({ CLIENT_DPOP: "true" }).dpop).toEqual({});
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pem = join(dir(), "dpop.pem");
    writeFileSync(pem, privateKey.export({ type: "pkcs8", format: "pem" }));
    const config = loadConfig({ CLIENT_DPOP: "true", CLIENT_DPOP_KEY_FILE: pem });
    expect(config.dpop?.key?.asymmetricKeyType).toBe("ec");
    const material = privateKey.export({ format: "jwk" }).d!;
    expect(inspect(config, { depth: Infinity })).not.toContain(material);
    expect(JSON.stringify(config)).not.toContain(material);
  });

  it.each([
    [{ CLIENT_DPOP: "yes" }, /invalid CLIENT_DPOP: expected true or false/],
    [{ CLIENT_DPOP_KEY: "x" }, /invalid CLIENT_DPOP_KEY_FILE: set CLIENT_DPOP=true to use it/],
    [{ CLIENT_DPOP: "true", CLIENT_DPOP_KEY: "not a key" }, /invalid CLIENT_DPOP_KEY_FILE: expected a private key/],
  ])("refuses %j with one line naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("switches to private_key_jwt with a key file, PEM or JWK", () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pem = join(dir(), "key.pem");
    writeFileSync(pem, privateKey.export({ type: "pkcs8", format: "pem" }));
    expect(loadConfig({ CLIENT_AUTH_METHOD: "private_key_jwt", CLIENT_PRIVATE_KEY_FILE: pem }).clientAuth.method).toBe("private_key_jwt");
    const jwk = join(dir(), "key.json");
    writeFileSync(jwk, JSON.stringify({ ...privateKey.export({ format: "jwk" }), alg: "ES256", kid: "k1" }));
    expect(loadConfig({ CLIENT_AUTH_METHOD: "private_key_jwt", CLIENT_PRIVATE_KEY_FILE: jwk }).clientAuth.method).toBe("private_key_jwt");
  });

  it.each([
    [{ PORT: "http" }, /^invalid PORT: /],
    [{ AUTH_SERVER_URL: "localhost:4000" }, /^invalid AUTH_SERVER_URL: /],
    [{ PAYMENT_SERVICE_URL: "ftp://x" }, /^invalid PAYMENT_SERVICE_URL: /],
    [{ CLIENT_AUTH_METHOD: "tls_client_auth" }, /^invalid CLIENT_AUTH_METHOD: /],
    [{ CLIENT_AUTH_METHOD: "private_key_jwt" }, /^invalid CLIENT_PRIVATE_KEY_FILE: required/],
    [{ CLIENT_AUTH_METHOD: "private_key_jwt", CLIENT_PRIVATE_KEY: "not a key" }, /^invalid CLIENT_PRIVATE_KEY_FILE: expected a private key/],
    [{ PAYMENT_AUDIENCE: "payment-service", PAYMENT_RESOURCE: "https://payment.internal" }, /^invalid PAYMENT_AUDIENCE: /],
    [{ SETTLE_WAIT_MS: "3s" }, /^invalid SETTLE_WAIT_MS: /],
    [{ HTTP_KEEP_ALIVE_TIMEOUT_MS: "0" }, /^invalid HTTP_KEEP_ALIVE_TIMEOUT_MS: /],
    [{ HTTP_IDLE_TIMEOUT_MS: "3500" }, /^invalid HTTP_IDLE_TIMEOUT_MS: must be at least a second longer than SETTLE_WAIT_MS \(3000\), got "3500"$/],
    [{ SETTLE_WAIT_MS: "30000" }, /^invalid HTTP_IDLE_TIMEOUT_MS: must be at least a second longer than SETTLE_WAIT_MS \(30000\)/],
    [{ NODE_ENV: "production" }, /^invalid CLIENT_SECRET: required in production/],
  ])("stops at start with one line naming the variable: %o", (env, message) => {
    const error = (() => {
      try {
        loadConfig(env);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  });

  it("reads the HTTP server's limits from HTTP_*, with an idle timeout that outlasts the wait in POST /orders", () => {
    expect(loadConfig({}).http).toMatchObject({ idleTimeoutMs: 30_000, maxConnections: 1_000 });
    expect(loadConfig({ SETTLE_WAIT_MS: "30000", HTTP_IDLE_TIMEOUT_MS: "31000" }).http.idleTimeoutMs).toBe(31_000);
  });

  it("takes an explicit secret in production", () => {
    expect(loadConfig({ NODE_ENV: "production", CLIENT_SECRET: "a-real-secret" }).clientAuth.method).toBe("client_secret_basic");
  });

  it("can ask by audience instead of resource", () => {
    expect(loadConfig({ PAYMENT_AUDIENCE: "payment-service" }).paymentToken).toEqual({ audience: "payment-service", scope: "charge:customer" });
  });
});
