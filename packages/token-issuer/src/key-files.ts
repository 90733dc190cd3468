import { createPrivateKey, generateKeyPair as generateKeyPairCallback, type KeyObject } from "node:crypto";
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { calculateJwkThumbprint, type JWK } from "jose";

/** JWS algorithms the authorization server signs access tokens with. */
export const SIGNING_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** Thrown when a key file or directory cannot be used; the message names the file, never key material. */
export class KeyFileError extends Error {
  override name = "KeyFileError";
}

/** A private signing key and when it signs, not yet imported. */
export interface NewKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** The private JWK (with `kid` and `alg`). */
  readonly privateJwk: JWK;
  /** When it starts signing, ms since the epoch. */
  readonly activatesAt: number;
}

/** A private signing key as a key ring holds it. */
export interface StoredKey extends NewKey {
  /** Where it is kept, for messages: its file, or its row. */
  readonly source: string;
}

/**
 * Reads signing keys from a file or a directory. A key file is either
 *
 * - `*.json`: a private JWK (RFC 7517). `kid` defaults to the RFC 7638
 *   thumbprint, `alg` to the one its key type implies (RSA: `defaultAlg` when
 *   that is RS256 or PS256). The non-standard member `activates_at` (seconds
 *   since the epoch) says when it starts signing; without it, the file's
 *   modification time.
 * - `*.pem`: a PKCS#8 private key; `kid` is its thumbprint, it activates at
 *   the file's modification time.
 *
 * Other files (e.g. `*.tmp` of an unfinished write) are ignored. A missing
 * directory reads as empty; a missing file is an error.
 */
export async function readKeys(path: string, defaultAlg: SigningAlgorithm): Promise<StoredKey[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return [];
  }
  if (info.isFile()) return [await readKeyFile(path, defaultAlg)];
  const names = (await readdir(path)).filter(isKeyFileName).sort();
  return Promise.all(names.map((name) => readKeyFile(join(path, name), defaultAlg)));
}

/** True for the file names {@link readKeys} reads. */
export function isKeyFileName(name: string): boolean {
  return !name.startsWith(".") && (name.endsWith(".json") || name.endsWith(".pem"));
}

async function readKeyFile(file: string, defaultAlg: SigningAlgorithm): Promise<StoredKey> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([readFile(file, "utf8"), stat(file)]);
  } catch {
    throw new KeyFileError(`cannot read key file ${file}`);
  }
  let keyObject: KeyObject;
  let meta: Record<string, unknown> = {};
  try {
    if (extname(file) === ".pem") {
      keyObject = createPrivateKey({ key: text, format: "pem" });
    } else {
      meta = JSON.parse(text) as Record<string, unknown>;
      keyObject = createPrivateKey({ key: meta as never, format: "jwk" });
    }
  } catch {
    throw new KeyFileError(`${file} is not a private key (PKCS#8 PEM or private JWK)`);
  }
  const alg = algorithmFor(keyObject, typeof meta.alg === "string" ? meta.alg : undefined, defaultAlg, file);
  const exported = keyObject.export({ format: "jwk" }) as JWK;
  const kid = typeof meta.kid === "string" && meta.kid !== "" ? meta.kid : await calculateJwkThumbprint(exported);
  const activatesAt = typeof meta.activates_at === "number" ? Math.round(meta.activates_at * 1000) : Math.floor(mtimeMs);
  return { kid, alg, privateJwk: { ...exported, kid, alg, use: "sig" }, activatesAt, source: file };
}

function algorithmFor(key: KeyObject, declared: string | undefined, fallback: SigningAlgorithm, file: string): SigningAlgorithm {
  const type = key.asymmetricKeyType;
  const implied: SigningAlgorithm[] =
    type === "rsa" ? ["RS256", "PS256"] : type === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1" ? ["ES256"] : type === "ed25519" ? ["EdDSA"] : [];
  if (implied.length === 0) throw new KeyFileError(`${file}: unsupported key type (RSA, EC P-256 or Ed25519)`);
  if (type === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new KeyFileError(`${file}: RSA keys must be at least 2048 bits (RFC 7518 §3.3)`);
  }
  if (declared !== undefined) {
    if (!(implied as string[]).includes(declared)) throw new KeyFileError(`${file}: alg ${declared} does not fit the key`);
    return declared as SigningAlgorithm;
  }
  return implied.includes(fallback) ? fallback : implied[0]!;
}

/** A new key pair for `alg`, as a private JWK whose `kid` is its RFC 7638 thumbprint. */
export async function generateKey(alg: SigningAlgorithm, activatesAt: number): Promise<NewKey> {
  const privateKey = await generatePrivateKey(alg);
  const exported = privateKey.export({ format: "jwk" }) as JWK;
  const kid = await calculateJwkThumbprint(exported);
  return { kid, alg, privateJwk: { ...exported, kid, alg, use: "sig" }, activatesAt };
}

/**
 * Writes a key as a private JWK file `<kid>.json` (mode 0600, in a 0700
 * directory), atomically: written to a temporary name, then renamed, so a
 * reader never sees half a key.
 */
export async function writeKeyFile(dir: string, key: NewKey): Promise<StoredKey> {
  const file = join(dir, `${key.kid}.json`);
  const temporary = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // activates_at is a NumericDate (RFC 7519 §2): seconds, with a fraction so keys made in one second still order.
    await writeFile(temporary, `${JSON.stringify({ ...key.privateJwk, activates_at: key.activatesAt / 1000 })}\n`, { mode: 0o600, flag: "wx" });
    await rename(temporary, file);
  } catch (error) {
    throw new KeyFileError(`cannot write a key to ${dir} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  return { ...key, source: file };
}

/** Deletes a key file (a key past its publication window). */
export async function removeKeyFile(file: string): Promise<void> {
  await unlink(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
}

/** A new private key of the type `alg` signs with (RSA 2048, P-256 or Ed25519). */
export function generatePrivateKey(alg: SigningAlgorithm): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, _publicKey: KeyObject, privateKey: KeyObject) =>
      error ? reject(error) : resolve(privateKey);
    if (alg === "RS256" || alg === "PS256") generateKeyPairCallback("rsa", { modulusLength: 2048 }, done);
    else if (alg === "ES256") generateKeyPairCallback("ec", { namedCurve: "prime256v1" }, done);
    else generateKeyPairCallback("ed25519", undefined, done);
  });
}
