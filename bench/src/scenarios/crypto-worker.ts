/**
 * Scenario 5, the physical limit: signatures and verifications per second on
 * one core (this process is pinned to the server core), with jose as the
 * apps use it, with node:crypto directly, and whole tokens signed as
 * token-issuer signs them. Prints one JSON line.
 *
 * Each rate is operations per CPU-second of this process (all its threads,
 * from `process.cpuUsage()`): what one whole core can do, a number that other
 * work on a shared machine barely moves (wall-clock rates are also kept).
 */
import { constants, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { CompactJwsSigner } from "@m2m/token-issuer";
import { exportJWK, importJWK, jwtVerify, SignJWT, type CryptoKey } from "jose";
import type { SigningAlg } from "../servers/protocol.js";

export interface CryptoRates {
  alg: SigningAlg;
  joseSign: number;
  joseVerify: number;
  nodeSign: number;
  nodeVerify: number;
  /** Whole access tokens (claims JSON, base64url, signature) from token-issuer's signer: node:crypto, libsodium for EdDSA. */
  issuerSign: number;
}

/** Operations per CPU-second, and per wall-clock second. */
export interface Rate {
  perCpuSecond: number;
  perSecond: number;
}

const ALGS: SigningAlg[] = ["RS256", "PS256", "ES256", "EdDSA"];
// several operations in flight, as in a server under load (jose's WebCrypto work runs off the main thread)
const IN_FLIGHT = 8;

async function main(): Promise<void> {
  if (process.argv[2] === "--jose-sign") {
    // one number: jose sign rate for one alg, measured between the rounds of the /token scenario
    const alg = process.argv[3] as SigningAlg;
    process.stdout.write(`${JSON.stringify(await joseSignRate(alg, Number(process.argv[4] ?? "1")))}\n`);
    return;
  }
  const seconds = Number(process.argv[2] ?? "1");
  const rounds = Number(process.argv[3] ?? "3");
  const rates: CryptoRates[] = [];
  for (const alg of ALGS) rates.push(await measureAlg(alg, seconds, rounds));
  process.stdout.write(`${JSON.stringify(rates)}\n`);
}

async function joseSignRate(alg: SigningAlg, seconds: number): Promise<Rate> {
  const { privateKey } = nodeKeys(alg);
  const josePrivate = (await importJWK({ ...(await exportJWK(privateKey)), alg }, alg)) as CryptoKey;
  const claims = tokenClaims();
  const mint = () => new SignJWT(claims).setProtectedHeader({ alg, typ: "at+jwt", kid: "bench" }).sign(josePrivate);
  await asyncRate(Math.min(0.2, seconds), mint);
  return asyncRate(seconds, mint);
}

function tokenClaims() {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: "http://127.0.0.1:4000",
    sub: "order-service",
    client_id: "order-service",
    aud: "payment-service",
    scope: "charge:customer",
    iat: now,
    exp: now + 300,
    jti: "0f7d2a1c-0b8e-4f36-9a53-3c2a8e6f1b9d",
  };
}

async function measureAlg(alg: SigningAlg, seconds: number, rounds: number): Promise<CryptoRates> {
  const { privateKey, publicKey } = nodeKeys(alg);
  const josePrivate = (await importJWK({ ...(await exportJWK(privateKey)), alg }, alg)) as CryptoKey;
  const josePublic = (await importJWK({ ...(await exportJWK(publicKey)), alg }, alg)) as CryptoKey;
  const claims = tokenClaims();
  const mint = () => new SignJWT(claims).setProtectedHeader({ alg, typ: "at+jwt", kid: "bench" }).sign(josePrivate);
  const token = await mint();
  const [h, p, s] = token.split(".") as [string, string, string];
  const input = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, "base64url");
  const options = nodeOptions(alg);
  const issuerSigner = new CompactJwsSigner({ alg, typ: "at+jwt", kid: "bench" }, privateKey);

  const best = async (op: () => Promise<Rate>) => {
    const values = [];
    for (let i = 0; i < rounds; i++) values.push((await op()).perCpuSecond);
    values.sort((a, b) => a - b);
    return values[values.length >> 1]!;
  };
  return {
    alg,
    joseSign: await best(() => asyncRate(seconds, mint)),
    joseVerify: await best(() =>
      asyncRate(seconds, () => jwtVerify(token, josePublic, { algorithms: [alg], typ: "at+jwt", audience: "payment-service", issuer: claims.iss })),
    ),
    nodeSign: await best(async () => syncRate(seconds, () => sign(options.hash, input, { key: privateKey, ...options.params }))),
    nodeVerify: await best(async () => syncRate(seconds, () => verify(options.hash, input, { key: publicKey, ...options.params }, signature))),
    issuerSign: await best(async () => syncRate(seconds, () => issuerSigner.sign(claims))),
  };
}

function nodeKeys(alg: SigningAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (alg) {
    case "RS256":
    case "PS256":
      return generateKeyPairSync("rsa", { modulusLength: 2048 });
    case "ES256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" });
    case "EdDSA":
      return generateKeyPairSync("ed25519");
  }
}

function nodeOptions(alg: SigningAlg): { hash: string | null; params: Record<string, number | string> } {
  switch (alg) {
    case "RS256":
      return { hash: "sha256", params: {} };
    case "PS256":
      return { hash: "sha256", params: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } };
    case "ES256":
      return { hash: "sha256", params: { dsaEncoding: "ieee-p1363" } };
    case "EdDSA":
      return { hash: null, params: {} };
  }
}

function syncRate(seconds: number, op: () => unknown): Rate {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  let count = 0;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 16; i++) op();
    count += 16;
    now = performance.now();
  }
  return rate(count, start, cpu);
}

async function asyncRate(seconds: number, op: () => Promise<unknown>): Promise<Rate> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  let count = 0;
  const lane = async () => {
    while (performance.now() < end) {
      await op();
      count++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return rate(count, start, cpu);
}

function rate(count: number, startMs: number, cpuStart: NodeJS.CpuUsage): Rate {
  const used = process.cpuUsage(cpuStart);
  return {
    perCpuSecond: count / ((used.user + used.system) / 1e6),
    perSecond: count / ((performance.now() - startMs) / 1000),
  };
}

void main();
