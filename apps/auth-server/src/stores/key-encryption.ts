import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Thrown when a sealed key cannot be opened: another key-encryption key, or altered bytes. Never holds key material. */
export class KeyEncryptionError extends Error {
  override name = "KeyEncryptionError";
}

/**
 * The key that encrypts private signing keys at rest (`KEY_ENCRYPTION_KEY_FILE`):
 * 32 random bytes, AES-256-GCM (NIST SP 800-38D) with a fresh 96-bit IV per
 * seal. Its bytes stay in a private field: a dump of the configuration, or a
 * log line with it, shows `[key-encryption key <id>]` only.
 */
export class KeyEncryptionKey {
  readonly #key: Buffer;
  /** Names the key without revealing it (16 hex digits of its SHA-256), stored beside each sealed key. */
  readonly id: string;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RangeError("a key-encryption key is 32 bytes");
    this.#key = Buffer.from(key);
    this.id = createHash("sha256").update(this.#key).digest("hex").slice(0, 16);
  }

  /** 32 bytes written as base64, base64url or hex (`openssl rand -base64 32`); `undefined` for anything else. */
  static parse(text: string): KeyEncryptionKey | undefined {
    const trimmed = text.trim();
    const bytes = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, "hex") : /^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed) ? Buffer.from(trimmed, "base64") : undefined;
    return bytes?.length === 32 ? new KeyEncryptionKey(bytes) : undefined;
  }

  static generate(): KeyEncryptionKey {
    return new KeyEncryptionKey(randomBytes(32));
  }

  /** The key as base64, to write a new key file. */
  export(): string {
    return this.#key.toString("base64");
  }

  /** Encrypts `plaintext`, bound to `context` (the key's `kid`): IV, ciphertext and tag, in one buffer. */
  seal(plaintext: Buffer, context: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  /** Decrypts what {@link KeyEncryptionKey.seal} made for the same `context`; throws {@link KeyEncryptionError} otherwise. */
  open(sealed: Buffer, context: string): Buffer {
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new KeyEncryptionError(`the sealed key ${context} is truncated`);
    const decipher = createDecipheriv("aes-256-gcm", this.#key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new KeyEncryptionError(`the sealed key ${context} does not open: altered, or moved from another row`);
    }
  }

  toJSON(): string {
    return `[key-encryption key ${this.id}]`;
  }
}
