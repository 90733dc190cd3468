import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { closeServer, createLogger, serverUrl } from "@m2m/service-kit";
import { generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { BENCH_CLIENT, CHARGE_SCOPE, DEV_CLIENTS, PAYMENT_AUDIENCE, PAYMENT_RESOURCE } from "./dev-registry.js";
import type { ServerSpec } from "./protocol.js";
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
  const alg = spec.alg ?? "RS256";
  const header = { alg, typ: "at+jwt", kid: `floor-${alg}` };
  const { privateKey } = await generateKeyPair(alg, { extractable: false });
  const logger = createLogger({ service: "token-floor" });
  const salt = Buffer.from("bench-floor-salt");
  const hashes = new Map<string, { hash: Buffer; scope: string }>(DEV_CLIENTS.map((c) => [c.clientId, { hash: hmac(salt, c.secret), scope: c.scope }]));
  const unmatchable = Buffer.alloc(32);

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const refuse = (status: number, error: string) => {
        res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify({ error }));
      };
      if (req.method !== "POST" || req.url !== "/token") return refuse(404, "not_found");
      const params = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? "");
      const [id = "", secret = ""] = basic ? Buffer.from(basic[1]!, "base64").toString("utf8").split(":").map(decodeURIComponent) : [];
      const client = hashes.get(id);
      if (!timingSafeEqual(hmac(salt, secret), client?.hash ?? unmatchable) || !client) return refuse(401, "invalid_client");
      if (params.get("grant_type") !== "client_credentials") return refuse(400, "unsupported_grant_type");
      const scope = params.get("scope") ?? client.scope;
      if (scope !== client.scope || scope !== CHARGE_SCOPE) return refuse(400, "invalid_scope");
      if ((params.get("resource") ?? PAYMENT_RESOURCE) !== PAYMENT_RESOURCE) return refuse(400, "invalid_target");
      const claims = tokenClaims(url, id, scope);
      new SignJWT(claims)
        .setProtectedHeader(header)
        .sign(privateKey)
        .then(
          (token) => {
            logger.info({ client_id: id, claims }, "token.issued");
            res
              .writeHead(200, { "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff" })
              .end(JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 300, scope }));
          },
          () => refuse(500, "server_error"),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(spec.port ?? 0, "127.0.0.1", resolve));
  const url = serverUrl(server);
  return { server, url, close: () => closeServer(server) };
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
