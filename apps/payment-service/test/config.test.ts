import { fileURLToPath } from "node:url";
import { ConfigError } from "@m2m/service-kit";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";

describe("loadConfig", () => {
  it("has the contract's local defaults", () => {
    expect(loadConfig({})).toEqual({
      port: 4002,
      host: "127.0.0.1",
      authServerUrl: "http://localhost:4000",
      issuer: "http://localhost:4000",
      audience: "payment-service",
      chargeLimit: 100_000,
      dataDir: fileURLToPath(new URL("../data", import.meta.url)),
    });
  });

  it("takes ISSUER from AUTH_SERVER_URL unless set", () => {
    expect(loadConfig({ AUTH_SERVER_URL: "http://auth-server:4000" }).issuer).toBe("http://auth-server:4000");
    expect(loadConfig({ AUTH_SERVER_URL: "http://auth-server:4000", ISSUER: "https://auth.example" })).toMatchObject({
      authServerUrl: "http://auth-server:4000",
      issuer: "https://auth.example",
    });
  });

  it.each([
    ["PORT", "http", /invalid PORT/],
    ["CHARGE_LIMIT", "1e5", /invalid CHARGE_LIMIT: expected a positive integer/],
    ["CHARGE_LIMIT", "0", /invalid CHARGE_LIMIT/],
    ["AUTH_SERVER_URL", "localhost:4000", /invalid AUTH_SERVER_URL/],
    ["ISSUER", "ftp://auth", /invalid ISSUER/],
  ])("refuses %s=%s with one line naming it", (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});
