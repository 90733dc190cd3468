import { stat } from "node:fs/promises";
import { importJWK, type CryptoKey, type JWK } from "jose";
import type { Clock } from "./clock.js";
import { ServerError } from "./errors.js";
import { KeyFileError, readKeys, removeKeyFile, writeNewKey, type SigningAlgorithm, type StoredKey } from "./key-files.js";
import { KeySchedule } from "./key-schedule.js";

/** A signing key imported once, ready for the hot path. */
export interface LoadedKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly activatesAt: number;
  /** For signing: imported non-extractable, so the private key cannot be exported from it again. */
  readonly signingKey: CryptoKey;
  /** For verifying our own tokens with jose (introspection). */
  readonly publicKey: CryptoKey;
  /** The public JWK as published: `kty`, key members, `kid`, `alg`, `use: "sig"`. */
  readonly publicJwk: JWK;
  readonly file: string;
}

export interface SigningKeysOptions {
  /** A key file, or a directory of key files (see {@link readKeys}). */
  path: string;
  /** The algorithm of keys this server generates. */
  alg: SigningAlgorithm;
  /** Access token lifetime, seconds: a replaced key stays published this long plus `leewaySeconds`. */
  tokenTtlSeconds: number;
  /** Extra retention for clock skew and in-flight requests (default 60). */
  leewaySeconds?: number;
  /**
   * May this process write to `path` (a directory): generate a key when none
   * of `alg` exists, rotate on schedule, delete expired keys. False for keys
   * provisioned by an operator (and in production when not asked for).
   */
  manage: boolean;
  /** With `manage`, generate a key of `alg` when none exists (default true; production says false). */
  generateIfMissing?: boolean;
  /** With `manage`, how long a scheduled new key is published before it signs (default 90 s). */
  publishLeadSeconds?: number;
  /** With `manage`, rotate when the newest key is this old (seconds); off when absent. */
  rotationIntervalSeconds?: number;
  clock: Clock;
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/**
 * The authorization server's signing keys, re-readable while running: the
 * key directory is the source of truth (see {@link KeySchedule}), and
 * {@link SigningKeys.refresh} picks up keys another process (the
 * `rotate-keys` command, another instance) wrote there. Keys are imported
 * once; choosing the current key per request is a scan of a few entries.
 */
export class SigningKeys {
  private schedule: KeySchedule<LoadedKey> = new KeySchedule([], 0);
  private readonly imported = new Map<string, LoadedKey>();
  private readonly retainMs: number;
  private readonly leadMs: number;

  private constructor(private readonly options: SigningKeysOptions) {
    this.retainMs = retentionMs(options);
    this.leadMs = publishLeadMs(options);
  }

  /** Loads the keys; with `manage`, generates the first key of `alg` if there is none. */
  static async open(options: SigningKeysOptions): Promise<SigningKeys> {
    const keys = new SigningKeys(options);
    await keys.load();
    if (options.manage && options.generateIfMissing !== false && !keys.schedule.keys.some((key) => key.alg === options.alg)) {
      // First start (or a new algorithm): sign at once; older keys stay published while their tokens live.
      await writeNewKey(options.path, options.alg, after(keys.schedule.newest(), options.clock()));
      await keys.load();
    }
    if (keys.schedule.keys.length === 0) throw new KeyFileError(`no signing key in ${options.path}`);
    return keys;
  }

  /** The key that signs now. */
  current(): LoadedKey {
    const key = this.schedule.current(this.options.clock());
    if (key === undefined) throw new ServerError("no signing key is available");
    return key;
  }

  /** Published keys (upcoming, current, retiring), for the JWK Set and for introspection. */
  published(): LoadedKey[] {
    return this.schedule.published(this.options.clock());
  }

  /** RFC 7517 §5 JWK Set of the published public keys. */
  jwks(): { keys: JWK[] } {
    return { keys: this.published().map((key) => key.publicJwk) };
  }

  /** A published key by `kid`, for verifying our own tokens. */
  verificationKey(kid: string): LoadedKey | undefined {
    return this.published().find((key) => key.kid === kid);
  }

  /**
   * Re-reads the key path; with `manage`, rotates when the schedule says so
   * and deletes expired key files. Returns whether the published set changed.
   */
  async refresh(): Promise<{ changed: boolean; rotated?: string; removed: string[] }> {
    const before = this.fingerprint();
    await this.load();
    let rotated: string | undefined;
    const removed: string[] = [];
    if (this.options.manage) {
      const now = this.options.clock();
      const interval = this.options.rotationIntervalSeconds;
      const newest = this.schedule.newest();
      if (interval !== undefined && newest !== undefined && newest.activatesAt + interval * 1000 <= now + this.leadMs) {
        rotated = (await writeNewKey(this.options.path, this.options.alg, after(newest, now + this.leadMs))).kid;
      }
      for (const key of this.schedule.expired(now)) {
        await removeKeyFile(key.file);
        removed.push(key.kid);
      }
      if (rotated !== undefined || removed.length > 0) await this.load();
    }
    return { changed: before !== this.fingerprint(), removed, ...(rotated ? { rotated } : {}) };
  }

  private fingerprint(): string {
    return this.published()
      .map((key) => `${key.kid}@${key.activatesAt}`)
      .join(",");
  }

  private async load(): Promise<void> {
    const stored = await readKeys(this.options.path, this.options.alg);
    const loaded = await Promise.all(stored.map((key) => this.importOnce(key)));
    if (loaded.length === 0 && this.schedule.keys.length > 0) {
      // Keys deleted under a running server: keep signing with what is loaded rather than fail every request.
      throw new KeyFileError(`no signing key left in ${this.options.path}; keeping the keys already loaded`);
    }
    this.schedule = new KeySchedule(loaded, this.retainMs);
  }

  private async importOnce(stored: StoredKey): Promise<LoadedKey> {
    const id = `${stored.file}|${stored.kid}|${stored.activatesAt}`;
    const cached = this.imported.get(id);
    if (cached) return cached;
    const publicJwk: JWK = Object.fromEntries(
      Object.entries(stored.privateJwk).filter(([member]) => !PRIVATE_MEMBERS.includes(member)),
    ) as JWK;
    let signingKey: CryptoKey;
    let publicKey: CryptoKey;
    try {
      signingKey = (await importJWK(stored.privateJwk, stored.alg, { extractable: false })) as CryptoKey;
      publicKey = (await importJWK(publicJwk, stored.alg)) as CryptoKey;
    } catch {
      // OpenSSL read it, WebCrypto will not sign with it (Node 20 refuses RFC 7515 A.3's P-256 key): say which file
      throw new KeyFileError(`${stored.file}: the key cannot be imported for signing (${stored.alg})`);
    }
    const key: LoadedKey = Object.freeze({
      kid: stored.kid,
      alg: stored.alg,
      activatesAt: stored.activatesAt,
      signingKey,
      publicKey,
      publicJwk: Object.freeze({ kty: publicJwk.kty, ...publicJwk, kid: stored.kid, alg: stored.alg, use: "sig" }),
      file: stored.file,
    });
    this.imported.set(id, key);
    return key;
  }
}

/**
 * One rotation step on a key directory, for the `rotate-keys` command:
 * writes a new key that is published at once and signs after
 * `publishLeadSeconds` (at once when the directory holds no key), and
 * deletes keys whose tokens have all expired. A running server picks the
 * change up on its next refresh.
 */
export async function rotateKeyDirectory(options: {
  dir: string;
  alg: SigningAlgorithm;
  tokenTtlSeconds: number;
  leewaySeconds?: number;
  publishLeadSeconds?: number;
  now: number;
}): Promise<{ created: StoredKey; removed: string[] }> {
  const info = await stat(options.dir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) throw new KeyFileError(`${options.dir} is not a directory`);
  const existing = await readKeys(options.dir, options.alg);
  const lead = existing.length === 0 ? 0 : publishLeadMs(options);
  const newest = new KeySchedule(existing, 0).newest();
  const created = await writeNewKey(options.dir, options.alg, after(newest, options.now + lead));
  const schedule = new KeySchedule([...existing, created], retentionMs(options));
  const removed: string[] = [];
  for (const key of schedule.expired(options.now)) {
    await removeKeyFile(key.file);
    removed.push(key.kid);
  }
  return { created, removed };
}

// One place for the defaults, so the server and the `rotate-keys` command agree on the schedule.
function retentionMs(options: { tokenTtlSeconds: number; leewaySeconds?: number }): number {
  return (options.tokenTtlSeconds + (options.leewaySeconds ?? 60)) * 1000;
}

function publishLeadMs(options: { publishLeadSeconds?: number }): number {
  return (options.publishLeadSeconds ?? 90) * 1000;
}

/** `at`, or just after `newest` activates if that is later: the newest key must sort last. */
function after(newest: { activatesAt: number } | undefined, at: number): number {
  return newest === undefined ? at : Math.max(at, newest.activatesAt + 1);
}
