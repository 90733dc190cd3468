import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KeyFileError } from "./key-files.js";
import { rotateKeyDirectory, SigningKeys } from "./signing-keys.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "token-issuer-keys-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function clockAt(start: number) {
  const clock = { now: start, fn: () => clock.now };
  return clock;
}

const TTL = 300;
const RETAIN_MS = (TTL + 60) * 1000;
const LEAD_MS = 90_000;

describe("SigningKeys", () => {
  it("generates a key on first start, saves it 0600, and finds the same key after a restart", async () => {
    const dir = join(tempDir(), "keys");
    const clock = clockAt(Date.now());
    const options = { path: dir, alg: "RS256" as const, tokenTtlSeconds: TTL, manage: true, clock: clock.fn };
    const first = await SigningKeys.open(options);
    const files = readdirSync(dir);
    expect(files).toEqual([`${first.current().kid}.json`]);
    expect(statSync(join(dir, files[0]!)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const second = await SigningKeys.open(options);
    expect(second.current().kid).toBe(first.current().kid);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it("keeps signing with the loaded keys when the directory is emptied under it", async () => {
    const dir = tempDir();
    const keys = await SigningKeys.open({ path: dir, alg: "ES256", tokenTtlSeconds: TTL, manage: true, clock: Date.now });
    const kid = keys.current().kid;
    rmSync(join(dir, `${kid}.json`));
    await expect(keys.refresh()).rejects.toThrow(/keeping the keys already loaded/);
    expect(keys.current().kid).toBe(kid);
  });

  it("publishes public keys only, each with kid, alg and use", async () => {
    const keys = await SigningKeys.open({ path: tempDir(), alg: "RS256", tokenTtlSeconds: TTL, manage: true, clock: Date.now });
    const [jwk] = keys.jwks().keys;
    expect(jwk).toMatchObject({ kty: "RSA", kid: keys.current().kid, alg: "RS256", use: "sig" });
    for (const member of ["d", "p", "q", "dp", "dq", "qi"]) expect(jwk).not.toHaveProperty(member);
  });

  it("loads an operator's PKCS#8 PEM file without writing anything next to it", async () => {
    const dir = tempDir();
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const file = join(dir, "signing.pem");
    writeFileSync(file, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    const keys = await SigningKeys.open({ path: file, alg: "PS256", tokenTtlSeconds: TTL, manage: false, clock: Date.now });
    expect(keys.current().alg).toBe("PS256");
    expect(keys.current().kid).toMatch(/^[\w-]{43}$/);
    expect(readdirSync(dir)).toEqual(["signing.pem"]);
  });

  it("refuses a missing key when it may not generate one, and a weak RSA key", async () => {
    const dir = tempDir();
    await expect(SigningKeys.open({ path: dir, alg: "RS256", tokenTtlSeconds: TTL, manage: true, generateIfMissing: false, clock: Date.now })).rejects.toThrow(
      KeyFileError,
    );
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    writeFileSync(join(dir, "weak.pem"), privateKey.export({ format: "pem", type: "pkcs8" }));
    await expect(SigningKeys.open({ path: dir, alg: "RS256", tokenTtlSeconds: TTL, manage: false, clock: Date.now })).rejects.toThrow(/2048/);
  });
});

describe("key rotation without a failed request", () => {
  it("publishes the new key before it signs, keeps the old one until its tokens expired, then removes it", async () => {
    const dir = tempDir();
    const clock = clockAt(Date.parse("2026-01-01T00:00:00Z"));
    const keys = await SigningKeys.open({ path: dir, alg: "ES256", tokenTtlSeconds: TTL, manage: true, clock: clock.fn });
    const old = keys.current().kid;

    // The command runs (another process), the server refreshes.
    const { created } = await rotateKeyDirectory({ dir, alg: "ES256", tokenTtlSeconds: TTL, now: clock.now });
    expect((await keys.refresh()).changed).toBe(true);
    expect(keys.jwks().keys.map((k) => k.kid).sort()).toEqual([old, created.kid].sort());
    expect(keys.current().kid).toBe(old);

    clock.now += LEAD_MS;
    await keys.refresh();
    expect(keys.current().kid).toBe(created.kid);
    // A token the old key signed just before the switch stays verifiable.
    expect(keys.verificationKey(old)).toBeDefined();

    clock.now += RETAIN_MS - 1000;
    await keys.refresh();
    expect(keys.jwks().keys.map((k) => k.kid)).toContain(old);

    clock.now += 1000;
    const result = await keys.refresh();
    expect(result.removed).toEqual([old]);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([created.kid]);
    expect(readdirSync(dir)).toEqual([`${created.kid}.json`]);
  });

  it("rotates on schedule when KEY_ROTATION_INTERVAL says so", async () => {
    const dir = tempDir();
    const clock = clockAt(Date.parse("2026-01-01T00:00:00Z"));
    const keys = await SigningKeys.open({
      path: dir,
      alg: "EdDSA",
      tokenTtlSeconds: TTL,
      manage: true,
      rotationIntervalSeconds: 3600,
      clock: clock.fn,
    });
    const first = keys.current().kid;
    clock.now += 3600_000 - LEAD_MS - 1000;
    expect((await keys.refresh()).rotated).toBeUndefined();
    clock.now += 1000;
    const { rotated } = await keys.refresh();
    expect(rotated).toBeDefined();
    expect(keys.current().kid).toBe(first);
    expect(keys.jwks().keys.map((k) => k.kid)).toContain(rotated);
    clock.now += LEAD_MS;
    expect(keys.current().kid).toBe(rotated);
  });

  it("the first rotation on an empty directory makes a key that signs at once (how production keys are provisioned)", async () => {
    const dir = join(tempDir(), "fresh");
    const now = Date.now();
    const { created } = await rotateKeyDirectory({ dir, alg: "RS256", tokenTtlSeconds: TTL, now });
    expect(created.activatesAt).toBeLessThanOrEqual(now);
    expect(statSync(join(dir, `${created.kid}.json`)).mode & 0o777).toBe(0o600);
  });
});
