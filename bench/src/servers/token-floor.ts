import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { closeServer, createLogger, serverUrl } from "@m2m/service-kit";
import { CompactJwsSigner, generatePrivateKey } from "@m2m/token-issuer";
import { BENCH_CLIENT, CHARGE_SCOPE, DEV_CLIENTS, PAYMENT_AUDIENCE, PAYMENT_RESOURCE } from "./dev-registry.js";
import type { Counters } from "./instrument.js";
import type { ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";

/**
 * The floor of `/token`, bench-only: what the same request costs with
 * nothing around the essentials. node:http, no framework; Basic client
 * authentication against an HMAC-SHA-256 hash compared in constant time;
 * `grant_type`, `scope` and `resource` checked; an RFC 9068 token signed
 * exactly as token-issuer signs (its `CompactJwsSigner`); one
 * log line through the service kit's logger (same redaction). It is no server to deploy (no rate limit,
 * no strict form rules, no metadata): it shows how much of our `/token`
 * is plumbing rather than signing.
 */
export async function startTokenFloor(spec: ServerSpec, counters: Counters): Promise<RunningServer> {
  const alg = spec.alg ?? "RS256";
  const kid = `floor-${alg}`;
  const signer = new CompactJwsSigner({ alg, typ: "at+jwt", kid }, await generatePrivateKey(alg));
  const logger = createLogger({ service: "token-floor", destination: counters.logSink() });
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
      const iat = Math.floor(Date.now() / 1000);
      const claims = { iss: url, sub: id, client_id: id, aud: PAYMENT_AUDIENCE, scope, iat, exp: iat + 300, jti: randomUUID() };
      let token: string;
      try {
        token = signer.sign(claims);
      } catch {
        return refuse(500, "server_error");
      }
      logger.info({ client_id: id, claims }, "token.issued");
      res
        .writeHead(200, { "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff" })
        .end(JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 300, scope }));
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
  const signer = new CompactJwsSigner({ alg, typ: "at+jwt", kid: `transport-${alg}` }, await generatePrivateKey(alg));
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
  const iat = Math.floor(Date.now() / 1000);
  const claims = { iss: url, sub: BENCH_CLIENT, client_id: BENCH_CLIENT, aud: PAYMENT_AUDIENCE, scope: CHARGE_SCOPE, iat, exp: iat + 300, jti: randomUUID() };
  answer = JSON.stringify({ access_token: signer.sign(claims), token_type: "Bearer", expires_in: 300, scope: CHARGE_SCOPE });
  return { server, url, close: () => closeServer(server) };
}

function hmac(salt: Buffer, secret: string): Buffer {
  return createHmac("sha256", salt).update(secret).digest();
}
