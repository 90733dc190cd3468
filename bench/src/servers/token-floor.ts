import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { closeServer, createLogger, listen, serverUrl } from "@m2m/service-kit";
import express from "express";
import { generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { BENCH_CLIENT, CHARGE_SCOPE, DEV_CLIENTS, PAYMENT_AUDIENCE, PAYMENT_RESOURCE } from "./dev-registry.js";
import type { ServerSpec, SigningAlg } from "./protocol.js";
import type { RunningServer } from "./running.js";

/**
 * The floor of `/token`, bench-only and a reference, not a target: what the
 * same request costs with nothing around the essentials. node:http, no
 * framework; Basic client authentication against an HMAC-SHA-256 hash
 * compared in constant time; `grant_type`, `scope` and `resource` checked;
 * an RFC 9068 token; one log line through the service kit's logger. No rate
 * limit, no strict form rules, no metadata: no server to deploy.
 *
 * It signs as token-issuer does, with jose's `SignJWT` and a non-extractable
 * `CryptoKey`, so that ours minus the floor is plumbing alone (Express, the
 * base app, token-issuer's checks, its log lines) at the same signing cost.
 * What jose costs against node:crypto's `sign` is scenario 5's question, and
 * RESULTS.md answers it there, per algorithm.
 */
export async function startTokenFloor(spec: ServerSpec): Promise<RunningServer> {
  let url = "";
  const issue = await floorIssuer(spec.alg ?? "RS256", () => url);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const answer = req.method === "POST" && req.url === "/token" ? issue(Buffer.concat(chunks).toString("utf8"), req.headers.authorization) : refusal(404, "not_found");
      void answer.then(({ status, body }) => res.writeHead(status, FLOOR_HEADERS).end(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(spec.port ?? 0, "127.0.0.1", resolve));
  url = serverUrl(server);
  return { server, url, close: () => closeServer(server) };
}

/**
 * The same floor as one Express route: `express()` with a raw body parser,
 * and the floor's work in the handler; nothing of the service kit, no
 * token-issuer. Between the floor and this is what Express itself costs a
 * token; between this and ours, what our app does beyond the framework.
 */
export async function startExpressFloor(spec: ServerSpec): Promise<RunningServer> {
  let url = "";
  const issue = await floorIssuer(spec.alg ?? "EdDSA", () => url);
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.post("/token", express.raw({ type: () => true, limit: 8192 }), (req, res, next) => {
    issue(Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "", req.headers.authorization).then(({ status, body }) => {
      res.status(status).set(FLOOR_HEADERS).send(body);
    }, next);
  });
  const server = await listen(app, spec.port ?? 0, "127.0.0.1");
  url = serverUrl(server);
  return { server, url, close: () => closeServer(server) };
}

const FLOOR_HEADERS = { "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff" };

interface Answer {
  status: number;
  body: string;
}

const refusal = (status: number, error: string): Promise<Answer> => Promise.resolve({ status, body: JSON.stringify({ error }) });

/** The floor's work on a `POST /token`: the client, the grant, the scope and resource checked, a token signed, one log line. */
async function floorIssuer(alg: SigningAlg, issuerUrl: () => string): Promise<(form: string, authorization: string | undefined) => Promise<Answer>> {
  const header = { alg, typ: "at+jwt", kid: `floor-${alg}` };
  const { privateKey } = await generateKeyPair(alg, { extractable: false });
  const logger = createLogger({ service: "token-floor" });
  const salt = Buffer.from("bench-floor-salt");
  const hashes = new Map<string, { hash: Buffer; scope: string }>(DEV_CLIENTS.map((c) => [c.clientId, { hash: hmac(salt, c.secret), scope: c.scope }]));
  const unmatchable = Buffer.alloc(32);
  return async (form, authorization) => {
    const params = new URLSearchParams(form);
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization ?? "");
    const [id = "", secret = ""] = basic ? Buffer.from(basic[1]!, "base64").toString("utf8").split(":").map(decodeURIComponent) : [];
    const client = hashes.get(id);
    if (!timingSafeEqual(hmac(salt, secret), client?.hash ?? unmatchable) || !client) return refusal(401, "invalid_client");
    if (params.get("grant_type") !== "client_credentials") return refusal(400, "unsupported_grant_type");
    const scope = params.get("scope") ?? client.scope;
    if (scope !== client.scope || scope !== CHARGE_SCOPE) return refusal(400, "invalid_scope");
    if ((params.get("resource") ?? PAYMENT_RESOURCE) !== PAYMENT_RESOURCE) return refusal(400, "invalid_target");
    const claims = tokenClaims(issuerUrl(), id, scope);
    let token: string;
    try {
      token = await new SignJWT(claims).setProtectedHeader(header).sign(privateKey);
    } catch {
      return refusal(500, "server_error");
    }
    logger.info({ client_id: id, claims }, "token.issued");
    return { status: 200, body: JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 300, scope }) };
  };
}

/**
 * The transport alone, bench-only: node:http reading the same request and
 * answering it with a token response of the same size, built once at
 * start (one real token, signed once). No checks, no signature per request,
 * no log line. What any Node.js token endpoint pays on this core before it
 * does any work: the floor under the floor.
 */
export async function startHttpFloor(spec: ServerSpec): Promise<RunningServer> {
  const alg = spec.alg ?? "EdDSA";
  const { privateKey } = await generateKeyPair(alg);
  // the token names the server's URL as its issuer, so it is signed once the port is known
  let answer = "";
  const server = createServer((req, res) => {
    req.on("data", () => {});
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(spec.port ?? 0, "127.0.0.1", resolve));
  const url = serverUrl(server);
  const token = await new SignJWT(tokenClaims(url, BENCH_CLIENT, CHARGE_SCOPE)).setProtectedHeader({ alg, typ: "at+jwt", kid: `transport-${alg}` }).sign(privateKey as CryptoKey);
  answer = JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 300, scope: CHARGE_SCOPE });
  return { server, url, close: () => closeServer(server) };
}

function tokenClaims(issuer: string, clientId: string, scope: string) {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: issuer, sub: clientId, client_id: clientId, aud: PAYMENT_AUDIENCE, scope, iat, exp: iat + 300, jti: randomUUID() };
}

function hmac(salt: Buffer, secret: string): Buffer {
  return createHmac("sha256", salt).update(secret).digest();
}
