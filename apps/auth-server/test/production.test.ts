import { chmodSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEVELOPMENT_REGISTRY } from "@m2m/token-issuer";
import { run, start } from "./processes.js";
import { tempDir } from "./support.js";

// The built server, spawned as `npm start` runs it: bad configuration stops it
// at start with exit code 1 and exactly one line naming the variable.
function setup() {
  const dataDir = tempDir();
  const clientsFile = join(dataDir, "clients.json");
  writeFileSync(clientsFile, JSON.stringify(DEVELOPMENT_REGISTRY));
  const production = { NODE_ENV: "production", PORT: "0", DATA_DIR: dataDir, ISSUER: "https://auth.example", CLIENTS_FILE: clientsFile, SIGNING_ALG: "ES256" };
  return { dataDir, production };
}

async function refusesWith(env: Record<string, string>, line: RegExp) {
  const result = await run("dist/main.js", env);
  expect(result.code).toBe(1);
  const lines = result.stderr.trim().split("\n");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
}

describe("production mode refuses an unsafe start", () => {
  it("without CLIENTS_FILE (the built-in development registry)", async () => {
    const { production } = setup();
    const { CLIENTS_FILE: _omitted, ...env } = production;
    await refusesWith(env, /^invalid CLIENTS_FILE: required in production/);
  });

  it("with an ISSUER that is not https", async () => {
    await refusesWith({ ...setup().production, ISSUER: "http://auth.example" }, /^invalid ISSUER: expected an https URL in production/);
  });

  it("with no key file (production never generates keys)", async () => {
    await refusesWith(setup().production, /^invalid SIGNING_KEYS: no key file/);
  });

  it("with a key file other users can read", async () => {
    const { dataDir, production } = setup();
    expect((await run("dist/commands/rotate-keys.js", production)).code).toBe(0);
    const [file] = readdirSync(join(dataDir, "keys"));
    chmodSync(join(dataDir, "keys", file!), 0o644);
    await refusesWith(production, /^invalid SIGNING_KEYS: .* is accessible to other users/);
  });

  it("with a SIGNING_KEYS path that does not exist", async () => {
    await refusesWith({ ...setup().production, SIGNING_KEYS: "/nonexistent/keys.pem" }, /^invalid SIGNING_KEYS: .* does not exist/);
  });

  it("but starts with a registry file, an https issuer and a provisioned 0600 key, and stops cleanly on SIGTERM", async () => {
    const { production } = setup();
    const provisioned = await run("dist/commands/rotate-keys.js", production);
    expect(provisioned.code, provisioned.stderr).toBe(0);
    const { created } = JSON.parse(provisioned.stdout) as { created: string };
    const app = await start(production);
    const metadata = (await (await fetch(`${app.url}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
    expect(metadata.issuer).toBe("https://auth.example");
    const jwks = (await (await fetch(`${app.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([created]);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    app.child.kill("SIGTERM");
    expect((await app.exit).code).toBe(0);
  });
});

describe("any mode refuses invalid values with one line naming the variable", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ ACCESS_TOKEN_TTL: "5m" }, /^invalid ACCESS_TOKEN_TTL: expected an integer/],
    [{ PORT: "http" }, /^invalid PORT: /],
    [{ ISSUER: "localhost:4000" }, /^invalid ISSUER: /],
    [{ SIGNING_ALG: "HS256" }, /^invalid SIGNING_ALG: expected one of RS256, PS256, ES256, EdDSA/],
    [{ KEY_ROTATION_INTERVAL: "30" }, /^invalid KEY_ROTATION_INTERVAL: /],
  ];
  for (const [env, line] of cases) {
    it(`${Object.keys(env)[0]}=${Object.values(env)[0]}`, async () => {
      await refusesWith({ NODE_ENV: "development", PORT: "0", DATA_DIR: tempDir(), ...env }, line);
    });
  }

  it("SIGNING_KEYS naming a file that is not a private key", async () => {
    const dir = tempDir();
    const file = join(dir, "key.pem");
    writeFileSync(file, "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n", { mode: 0o600 });
    await refusesWith({ PORT: "0", DATA_DIR: dir, SIGNING_KEYS: file }, /^invalid SIGNING_KEYS: .*key\.pem is not a private key/);
  });

  it("CLIENTS_FILE that is not a valid registry, saying where", async () => {
    const dir = tempDir();
    const file = join(dir, "clients.json");
    writeFileSync(file, JSON.stringify({ ...DEVELOPMENT_REGISTRY, clients: [{ client_id: "x", client_secret: "plain", scopes: [], audiences: [] }] }));
    await refusesWith({ PORT: "0", DATA_DIR: dir, CLIENTS_FILE: file }, /^invalid CLIENTS_FILE: .*clients\[0\]: holds a plain secret/);
  });
});
