import { describe, expect, it } from "vitest";
import { DEVELOPMENT_REGISTRY } from "./development-registry.js";
import { generateSecret, hashSecret, parseSecretHash, SecretHashFormatError, SecretVerifier } from "./secret-hash.js";

describe("secret hashes", () => {
  const verifier = new SecretVerifier();

  it("hmac-sha256: verifies the right secret only, with a fresh salt each time", async () => {
    const secret = generateSecret();
    const a = await hashSecret(secret);
    const b = await hashSecret(secret);
    expect(a).toMatch(/^\$hmac-sha256\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret);
    expect(await verifier.verify(secret, parseSecretHash(a))).toBe(true);
    expect(await verifier.verify(`${secret}x`, parseSecretHash(a))).toBe(false);
  });

  it("scrypt: verifies the right secret only, and remembers a success", async () => {
    const stored = parseSecretHash(await hashSecret("correct horse", "scrypt"));
    expect(stored.encoded).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    expect(await verifier.verify("correct horse", stored)).toBe(true);
    expect(await verifier.verify("wrong horse", stored)).toBe(false);
    // The second success comes from the cache, not from scrypt: a stored hash that
    // scrypt would reject (same encoding, other bytes) still answers true.
    const tampered = { ...stored, hash: Buffer.alloc(stored.hash.length) };
    expect(await verifier.verify("correct horse", tampered)).toBe(true);
    expect(await new SecretVerifier().verify("correct horse", tampered)).toBe(false);
  });

  it("generates 256-bit secrets", () => {
    expect(Buffer.from(generateSecret(), "base64url")).toHaveLength(32);
  });

  it("refuses malformed or weak hash strings without echoing them", () => {
    for (const bad of [
      "super-secret",
      "$md5$abc$def",
      "$hmac-sha256$c2hvcnQ$H5XPhk0ruPHhNViCK2-5_D3_jz7m17pQLtV5hz5AUdk",
      "$hmac-sha256$b3JkZXItc2VydmljZS1kZQ$short",
      "$scrypt$ln=4,r=8,p=1$b3JkZXItc2VydmljZS1kZQ$H5XPhk0ruPHhNViCK2-5_D3_jz7m17pQLtV5hz5AUdk",
    ]) {
      expect(() => parseSecretHash(bad), bad).toThrow(SecretHashFormatError);
      try {
        parseSecretHash(bad);
      } catch (error) {
        expect((error as Error).message).not.toContain(bad);
      }
    }
  });

  it("the development registry's hashes are those of the contract's secrets", async () => {
    const [order, reporting] = DEVELOPMENT_REGISTRY.clients;
    expect(await verifier.verify("super-secret", parseSecretHash(order.client_secret_hash))).toBe(true);
    expect(await verifier.verify("reporting-secret", parseSecretHash(reporting.client_secret_hash))).toBe(true);
    expect(await verifier.verify("reporting-secret", parseSecretHash(order.client_secret_hash))).toBe(false);
  });
});
