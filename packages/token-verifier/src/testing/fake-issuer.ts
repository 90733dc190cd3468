/**
 * A stand-in authorization server on 127.0.0.1 for the verifier's tests: it
 * serves RFC 8414 metadata and a JWK Set from keys generated in the test,
 * counts its hits, can be made to fail, and mints tokens with any header and
 * claims a test wants (including broken ones).
 */
import { createHmac, randomUUID } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export async function makeKey(alg = "RS256", kid: string = randomUUID()): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, jwk };
}

/** A clock the test moves by hand, in milliseconds since the epoch. */
export class FakeClock {
  constructor(public ms = Date.UTC(2026, 0, 1, 12)) {}
  now = (): number => this.ms;
  get sec(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export type Mode = "ok" | "fail" | "hang";

export class FakeIssuer {
  readonly hits = { metadata: 0, jwks: 0 };
  mode: Mode = "ok";
  /** The JWK Set served; tests replace it to rotate keys. */
  published: JWK[];
  /** What the metadata says `issuer` is; tests change it to break RFC 8414 §3.3. */
  advertisedIssuer: string;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    public key: TestKey,
  ) {
    this.published = [key.jwk];
    this.advertisedIssuer = url;
  }

  static async start(key?: TestKey): Promise<FakeIssuer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const issuer = new FakeIssuer(server, `http://127.0.0.1:${port}`, key ?? (await makeKey()));
    server.on("request", (req, res) => issuer.handle(req.url ?? "", res));
    return issuer;
  }

  get issuer(): string {
    return this.url;
  }

  get metadataUrl(): string {
    return `${this.url}/.well-known/oauth-authorization-server`;
  }

  private handle(path: string, res: ServerResponse): void {
    if (path === "/.well-known/oauth-authorization-server") this.hits.metadata += 1;
    else if (path === "/jwks.json") this.hits.jwks += 1;
    if (this.mode === "hang") return; // never answers: the client's timeout must fire
    if (this.mode === "fail") {
      res.writeHead(503).end();
      return;
    }
    if (path === "/.well-known/oauth-authorization-server") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ issuer: this.advertisedIssuer, jwks_uri: `${this.url}/jwks.json`, token_endpoint: `${this.url}/token` }));
    } else if (path === "/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: this.published }));
    } else {
      res.writeHead(404).end();
    }
  }

  /** A well-formed access token of this issuer, with `claims` and `header` overriding the defaults (`undefined` removes one). */
  async mint(
    options: {
      claims?: Record<string, unknown>;
      header?: Record<string, unknown>;
      key?: TestKey;
      nowSec?: number;
    } = {},
  ): Promise<string> {
    const key = options.key ?? this.key;
    const now = options.nowSec ?? Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: this.url,
      sub: "order-service",
      client_id: "order-service",
      aud: "payment-service",
      scope: "charge:customer",
      iat: now,
      exp: now + 300,
      jti: randomUUID(),
      ...options.claims,
    };
    const header = { alg: key.alg, typ: "at+jwt", kid: key.kid, ...options.header };
    return new SignJWT(dropUndefined(claims)).setProtectedHeader(dropUndefined(header) as { alg: string }).sign(key.privateKey);
  }

  /**
   * A token signed with this issuer's RS256 key whose header and claims are
   * the JSON texts given, byte for byte: for what JSON.stringify never
   * writes (a member name twice).
   */
  async signText(headerJson: string, claimsJson: string): Promise<string> {
    const input = `${Buffer.from(headerJson).toString("base64url")}.${Buffer.from(claimsJson).toString("base64url")}`;
    const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", this.key.privateKey, new TextEncoder().encode(input));
    return `${input}.${Buffer.from(signature).toString("base64url")}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** What a promise settles with: its value, or its rejection reason. */
export function settle(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => value,
    (error: unknown) => error,
  );
}

/** An unsigned token (`alg: none`, RFC 7519 §6). */
export function unsecuredToken(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  return `${encodePart(header)}.${encodePart(claims)}.`;
}

/** The classic confusion attack: HS256 with the issuer's public key (PEM) as the HMAC secret. */
export async function hmacWithPublicKey(key: TestKey, claims: Record<string, unknown>): Promise<string> {
  const input = `${encodePart({ alg: "HS256", typ: "at+jwt", kid: key.kid })}.${encodePart(claims)}`;
  const secret = await exportSPKI(key.publicKey);
  return `${input}.${base64url.encode(createHmac("sha256", secret).update(input).digest())}`;
}

function encodePart(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
