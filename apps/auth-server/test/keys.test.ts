import { rmSync } from "node:fs";
import { decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { postForm, REPORTING_SERVICE, send, startTestServer, tempDir, token, type TestServer } from "./support.js";
import { loadConfig } from "../src/config.js";
import { run, start } from "./processes.js";

const servers: TestServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close().catch(() => {});
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function serve(dataDir: string, env: Record<string, string> = {}, now?: number): Promise<TestServer> {
  const server = await startTestServer(env, { dataDir, ...(now !== undefined ? { now } : {}) });
  servers.push(server);
  return server;
}
function dataDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}
const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid;
const jwksKids = async (server: { url: string }) =>
  ((await send(`${server.url}/.well-known/jwks.json`)).body.keys as { kid: string }[]).map((k) => k.kid).sort();
const active = async (server: TestServer, jwt: string) =>
  (await postForm(`${server.url}/introspect`, { token: jwt }, { authorization: REPORTING_SERVICE })).body.active as boolean;

describe("signing keys survive a restart", () => {
  it("keeps the key generated on first start, so tokens issued before the restart stay valid", async () => {
    const dir = dataDir();
    const first = await serve(dir);
    const before = await token(first);
    await first.close();
    const second = await serve(dir);
    expect(kidOf(await token(second))).toBe(kidOf(before));
    expect(await active(second, before)).toBe(true);
  });

  it("switching SIGNING_ALG signs with a new key at once and keeps publishing the old one while its tokens live", async () => {
    const dir = dataDir();
    const first = await serve(dir);
    const rsaToken = await token(first);
    await first.close();
    const second = await serve(dir, { SIGNING_ALG: "EdDSA" });
    const edToken = await token(second);
    expect(decodeProtectedHeader(edToken).alg).toBe("EdDSA");
    expect(await jwksKids(second)).toEqual([kidOf(rsaToken), kidOf(edToken)].sort());
    expect(await active(second, rsaToken)).toBe(true);
  });
});

describe("key rotation without a failed request", () => {
  it("rotate-keys publishes the new key first, switches after the lead, drops the old key after its tokens expired", async () => {
    const dir = dataDir();
    const server = await serve(dir, { SIGNING_ALG: "ES256" });
    const oldToken = await token(server);
    const oldKid = kidOf(oldToken);

    // The documented command, against the same DATA_DIR, as an operator runs it.
    const rotated = await run("dist/commands/rotate-keys.js", { DATA_DIR: dir, SIGNING_ALG: "ES256" });
    expect(rotated.code, rotated.stderr).toBe(0);
    const { created: newKid, removed } = JSON.parse(rotated.stdout) as { created: string; removed: string[] };
    expect(removed).toEqual([]);

    // The server notices (on its timer, or SIGHUP: here, directly).
    await server.reload();
    expect(await jwksKids(server)).toEqual([oldKid, newKid].sort());
    expect(kidOf(await token(server))).toBe(oldKid); // published, not signing yet
    expect(server.logs.some((line) => line.msg === "keys.changed")).toBe(true);

    // KEY_PUBLISH_LEAD (90 s) after the command ran, by the real clock it used; the server's clock stood still meanwhile.
    server.clock.now = Date.now() + 91_000;
    const newToken = await token(server);
    expect(kidOf(newToken)).toBe(newKid);
    expect(await jwksKids(server)).toEqual([oldKid, newKid].sort());
    const lastOldToken = oldToken;
    expect(await active(server, newToken)).toBe(true);

    server.clock.now += 360_000; // ACCESS_TOKEN_TTL + 60 s leeway after the switch
    await server.reload();
    expect(await jwksKids(server)).toEqual([newKid]);
    expect(await active(server, lastOldToken)).toBe(false);
    expect(await active(server, await token(server))).toBe(true);
  });

  it("a running server (the built main) publishes a rotated key at once on SIGHUP", async () => {
    const dir = dataDir();
    // A reload interval far longer than the test: only SIGHUP can make the key appear.
    const env = { PORT: "0", DATA_DIR: dir, SIGNING_ALG: "ES256", KEY_RELOAD_INTERVAL: "3600" };
    const app = await start(env);
    try {
      const kids = () => jwksKids(app);
      expect(await kids()).toHaveLength(1);
      const rotated = await run("dist/commands/rotate-keys.js", env);
      const { created } = JSON.parse(rotated.stdout) as { created: string };
      app.child.kill("SIGHUP");
      const deadline = Date.now() + 20_000;
      while (!(await kids()).includes(created) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await kids()).toContain(created);
    } finally {
      app.child.kill("SIGTERM");
      expect((await app.exit).code).toBe(0);
    }
  });

  it("rotates on schedule with KEY_ROTATION_INTERVAL", async () => {
    const dir = dataDir();
    const server = await serve(dir, { KEY_ROTATION_INTERVAL: "3600", KEY_PUBLISH_LEAD: "60" });
    const first = kidOf(await token(server));
    server.clock.now += 3540_000;
    await server.reload();
    const kids = await jwksKids(server);
    expect(kids).toHaveLength(2);
    expect(kidOf(await token(server))).toBe(first);
    server.clock.now += 60_000;
    const second = kidOf(await token(server));
    expect(second).not.toBe(first);
    expect(kids).toContain(second);
  });
});

describe("the publish lead", () => {
  it("is long enough by default: a new key reaches every JWK Set within KEY_RELOAD_INTERVAL, and resource servers' caches within the set's max-age after", async () => {
    const server = await serve(dataDir());
    const maxAge = Number(/max-age=(\d+)/.exec((await send(`${server.url}/.well-known/jwks.json`)).headers.get("cache-control") ?? "")?.[1]);
    const { keys } = loadConfig({ ISSUER: server.url, DATA_DIR: server.dataDir });
    expect(keys.publishLeadSeconds).toBeGreaterThanOrEqual(keys.reloadIntervalSeconds + maxAge);
    expect(server.logs.filter((line) => line.msg === "keys.publish_lead_short")).toEqual([]);
  });

  it("says at start when KEY_PUBLISH_LEAD is shorter than KEY_RELOAD_INTERVAL plus the JWK Set's max-age", async () => {
    const server = await serve(dataDir(), { KEY_PUBLISH_LEAD: "69", KEY_RELOAD_INTERVAL: "10" });
    expect(server.logs.filter((line) => line.msg === "keys.publish_lead_short")).toEqual([
      expect.objectContaining({ level: "warn", publish_lead: 69, reload_interval: 10, jwks_max_age: 60, needed: 70 }),
    ]);
  });
});

describe("hash-secret", () => {
  it("prints only a hash of the secret read from stdin, which the server then accepts", async () => {
    const secret = "kJ8s2-Qm9xYv4Tn7Rb1Lc6Wd3Hf0Gp5Ez";
    const result = await run("dist/commands/hash-secret.js", {}, secret);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(secret);
    const hash = result.stdout.trim();
    expect(hash).toMatch(/^\$hmac-sha256\$/);

    const dir = dataDir();
    const clientsFile = `${dir}/clients.json`;
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      clientsFile,
      JSON.stringify({
        resource_servers: [{ id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer", "charge:read"] }],
        clients: [{ client_id: "billing", client_secret_hash: hash, scopes: ["charge:read"], audiences: ["payment-service"] }],
      }),
    );
    const server = await serve(dir, { CLIENTS_FILE: clientsFile });
    const res = await postForm(`${server.url}/token`, { grant_type: "client_credentials", client_id: "billing", client_secret: secret });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe("charge:read");
    const wrong = await postForm(`${server.url}/token`, { grant_type: "client_credentials", client_id: "billing", client_secret: `${secret}!` });
    expect(wrong.status).toBe(401);
    // The contract's development clients are not in this registry.
    expect((await postForm(`${server.url}/token`, { grant_type: "client_credentials", client_id: "order-service", client_secret: "super-secret" })).status).toBe(401);
  });

  it("warns about short secrets, makes scrypt hashes on request, and generates secrets", async () => {
    const short = await run("dist/commands/hash-secret.js", {}, "a human password");
    expect(short.stderr).toMatch(/short secret/);
    expect(short.stderr).not.toContain("a human password");
    const scrypt = await run("dist/commands/hash-secret.js", {}, "a human password", ["--scrypt"]);
    expect(scrypt.code).toBe(0);
    expect(scrypt.stdout.trim()).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    const generated = await run("dist/commands/hash-secret.js", {}, "", ["--generate"]);
    const [secretLine, hashLine] = generated.stdout.trim().split("\n");
    expect(secretLine).toMatch(/^client_secret=[\w-]{43}$/);
    expect(hashLine).toMatch(/^client_secret_hash=\$hmac-sha256\$/);
  });
});
