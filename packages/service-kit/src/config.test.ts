import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, EnvReader } from "./config.js";
import { logLevelFrom } from "./logger.js";

describe("EnvReader", () => {
  it("falls back to the default when a variable is unset or empty", () => {
    const env = new EnvReader({ PORT: "" });
    expect(env.port("PORT", 4000)).toBe(4000);
    expect(env.string("HOST", "127.0.0.1")).toBe("127.0.0.1");
  });

  it("names the variable, what it expected and what it got, in one line", () => {
    const env = new EnvReader({ ACCESS_TOKEN_TTL: "5m" });
    expect(() => env.positiveInt("ACCESS_TOKEN_TTL", 300)).toThrow(
      new ConfigError('invalid ACCESS_TOKEN_TTL: expected a positive integer, got "5m"'),
    );
  });

  it("refuses ports out of range and non-numeric ports", () => {
    expect(() => new EnvReader({ PORT: "70000" }).port("PORT", 1)).toThrow(/invalid PORT/);
    expect(() => new EnvReader({ PORT: "80a" }).port("PORT", 1)).toThrow(/invalid PORT/);
    expect(new EnvReader({ PORT: "0" }).port("PORT", 1)).toBe(0);
  });

  it("accepts only absolute http(s) URLs and strips trailing slashes", () => {
    expect(new EnvReader({ U: "http://localhost:4000/" }).url("U", "x")).toBe("http://localhost:4000");
    expect(() => new EnvReader({ U: "localhost:4000" }).url("U", "x")).toThrow(/invalid U: expected an absolute http\(s\) URL/);
    expect(() => new EnvReader({ U: "ftp://a" }).url("U", "x")).toThrow(/invalid U/);
  });

  it("reads a secret from NAME_FILE, and never puts the secret in an error", () => {
    const dir = mkdtempSync(join(tmpdir(), "kit-"));
    const file = join(dir, "secret");
    writeFileSync(file, "s3cr3t-value\n");
    expect(new EnvReader({ CLIENT_SECRET_FILE: file }).secret("CLIENT_SECRET")).toBe("s3cr3t-value");
    const both = new EnvReader({ CLIENT_SECRET: "s3cr3t-value", CLIENT_SECRET_FILE: file });
    expect(() => both.secret("CLIENT_SECRET")).toThrow(/either CLIENT_SECRET or CLIENT_SECRET_FILE/);
    try {
      both.secret("CLIENT_SECRET");
    } catch (error) {
      expect(String(error)).not.toContain("s3cr3t-value");
    }
    expect(() => new EnvReader({ CLIENT_SECRET_FILE: join(dir, "missing") }).secret("CLIENT_SECRET")).toThrow(
      /invalid CLIENT_SECRET_FILE: cannot read/,
    );
  });

  it("restricts a choice to the allowed values", () => {
    expect(new EnvReader({ A: "ES256" }).oneOf("A", ["RS256", "ES256"] as const, "RS256")).toBe("ES256");
    expect(() => new EnvReader({ A: "HS256" }).oneOf("A", ["RS256", "ES256"] as const, "RS256")).toThrow(
      'invalid A: expected one of RS256, ES256, got "HS256"',
    );
  });

  it("reads a boolean as true or false only", () => {
    expect(new EnvReader({ A: "true" }).boolean("A", false)).toBe(true);
    expect(new EnvReader({ A: "false" }).boolean("A", true)).toBe(false);
    expect(new EnvReader({}).boolean("A", true)).toBe(true);
    expect(() => new EnvReader({ A: "yes" }).boolean("A", false)).toThrow('invalid A: expected true or false, got "yes"');
  });
});

describe("logLevelFrom", () => {
  it("defaults to info and accepts only pino's levels", () => {
    expect(logLevelFrom({})).toBe("info");
    expect(logLevelFrom({ LOG_LEVEL: "debug" })).toBe("debug");
    expect(() => logLevelFrom({ LOG_LEVEL: "verbose" })).toThrow(/^invalid LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"$/);
  });
});
