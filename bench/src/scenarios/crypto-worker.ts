/**
 * Scenario 5, the physical limit: signatures and verifications per second on
 * one core (this process is pinned to the server core), with jose as
 * token-issuer and token-verifier use it, and with node:crypto directly; and
 * whole access tokens (claims JSON, base64url, signature) both ways: jose's
 * `SignJWT` as token-issuer signs, and the few lines of node:crypto a reader
 * would otherwise copy ({@link nodeTokenSigner}). The two whole-token rates
 * are what RESULTS.md weighs against our `/token`'s CPU per request: what
 * jose costs over node:crypto, as a share of a token request. Prints one
 * JSON line.
 *
 * Each rate is operations per CPU-second of this process (all its threads,
 * from `process.cpuUsage()`): what one whole core can do, a number that other
 * work on a shared machine barely moves (wall-clock rates are also kept).
 */
import { generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { exportJWK, importJWK, jwtVerify, SignJWT, type CryptoKey } from "jose";
import type { SigningAlg } from "../servers/protocol.js";
import { nodeOptions, nodeTokenSigner } from "./node-token.js";

export interface CryptoRates {
  alg: SigningAlg;
  /** Whole access tokens from jose's `SignJWT`, as token-issuer signs them. */
  joseSign: number;
  joseVerify: number;
  /** Signatures alone, `crypto.sign` over a token's signing input. */
  nodeSign: number;
  nodeVerify: number;
  /** Whole access tokens from node:crypto: the same claims JSON and base64url, `crypto.sign` ({@link nodeTokenSigner}). */
  nodeToken: number;
}

/** Operations per CPU-second, and per wall-clock second. */
export interface Rate {
  perCpuSecond: number;
  perSecond: number;
}

export const CRYPTO_ALGS: SigningAlg[] = ["RS256", "PS256", "ES256", "EdDSA"];
// several operations in flight, as in a server under load (jose's WebCrypto work runs off the main thread)
const IN_FLIGHT = 8;

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? "1");
  const rounds = Number(process.argv[3] ?? "3");
  const rates: CryptoRates[] = [];
  for (const alg of CRYPTO_ALGS) rates.push(await measureAlg(alg, seconds, rounds));
  process.stdout.write(`${JSON.stringify(rates)}\n`);
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
  const nodeToken = nodeTokenSigner(alg, privateKey);

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
    nodeToken: await best(async () => syncRate(seconds, () => nodeToken(claims))),
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
