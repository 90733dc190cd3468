import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { tempDir } from "./support.js";

// DATABASE_URL, REDIS_URL and the key-encryption key: checked at start, one
// line naming the variable, never the value (a URL holds a password, a key is a key).

const kekFile = (content: string) => {
  const file = join(tempDir(), "kek");
  writeFileSync(file, content);
  return file;
};
const PRODUCTION = { NODE_ENV: "production", ISSUER: "https://auth.example", CLIENTS: JSON.stringify({ resource_servers: [], clients: [] }) };

describe("the shared stores' configuration", () => {
  it("takes DATABASE_URL, REDIS_URL and a key-encryption key file of 32 bytes in base64 or hex", () => {
    const base64 = loadConfig({ DATABASE_URL: "postgres://auth:pw@db/auth", REDIS_URL: "redis://cache:6379", KEY_ENCRYPTION_KEY_FILE: kekFile(`${Buffer.alloc(32, 7).toString("base64")}\n`) });
    const hex = loadConfig({ KEY_ENCRYPTION_KEY_FILE: kekFile(Buffer.alloc(32, 7).toString("hex")) });
    expect(base64.stores).toMatchObject({ databaseUrl: "postgres://auth:pw@db/auth", redisUrl: "redis://cache:6379" });
    expect(base64.stores.keyEncryptionKey?.id).toBe(hex.stores.keyEncryptionKey?.id);
    // a dump of the configuration shows which key, never the key
    expect(JSON.stringify(base64)).not.toContain(Buffer.alloc(32, 7).toString("base64"));
    expect(JSON.stringify(base64)).toContain(`[key-encryption key ${base64.stores.keyEncryptionKey!.id}]`);
  });

  it("refuses, in one line that shows no secret, URLs of another kind and keys of another size", () => {
    expect(() => loadConfig({ DATABASE_URL: "mysql://auth:s3cret@db/auth" })).toThrow(/^invalid DATABASE_URL: expected a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://auth:s3cret@db/auth" })).not.toThrow(/s3cret/);
    expect(() => loadConfig({ REDIS_URL: "http://cache:6379" })).toThrow(/^invalid REDIS_URL: /);
    expect(() => loadConfig({ KEY_ENCRYPTION_KEY_FILE: kekFile("short-and-secret") })).toThrow(/^invalid KEY_ENCRYPTION_KEY_FILE: expected 32 bytes/);
    expect(() => loadConfig({ KEY_ENCRYPTION_KEY_FILE: kekFile("short-and-secret") })).not.toThrow(/short-and-secret/);
  });

  it("requires the key-encryption key with DATABASE_URL in production, and then no key file on disk", () => {
    expect(() => loadConfig({ ...PRODUCTION, DATABASE_URL: "postgres://auth@db/auth" })).toThrow(/^invalid KEY_ENCRYPTION_KEY_FILE: required with DATABASE_URL in production/);
    const config = loadConfig({ ...PRODUCTION, DATABASE_URL: "postgres://auth@db/auth", KEY_ENCRYPTION_KEY_FILE: kekFile(Buffer.alloc(32, 1).toString("base64")), DATA_DIR: tempDir() });
    expect(config.stores.databaseUrl).toBe("postgres://auth@db/auth");
  });
});
