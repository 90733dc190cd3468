import type { BenchContext } from "../context.js";
import { basic, fetchDPoPNonce, fetchDPoPToken, fetchToken, jwtHeader, TOKEN_BODY } from "../http.js";
import { generateProofKey } from "../load/dpop-proofs.js";
import { measure, type Measurement, type Target } from "../rounds.js";
import type { ChildServer } from "../servers/child-server.js";
import { startTraceSink } from "../servers/trace-sink.js";
import type { SigningAlg } from "../servers/protocol.js";

export const TOKEN_ALGS: SigningAlg[] = ["RS256", "ES256", "EdDSA"];
/** Name prefix of the bench-only floor server: node:http, the essential checks, jose's `SignJWT` as token-issuer signs, one log line. */
export const FLOOR = "floor:";
const FLOOR_ALGS: SigningAlg[] = ["RS256", "EdDSA"];
/** Name prefix of the floor as one Express route (bench-only): what Express itself adds to the floor. */
export const EXPRESS_FLOOR = "floor on Express:";
/** Name prefix of the bench-only transport server: node:http answering a token response built once, no work per request. */
export const TRANSPORT = "transport:";
/**
 * Name prefix of scenario 1 with DPoP (RFC 9449 §5): our auth-server with
 * `DPOP_NONCE_REQUIRED=false`, the same request plus a new ES256 proof
 * (new `jti`, `htu` the token endpoint) made in the load generator: the
 * proof's own cost, judged against the Bearer row of the same algorithm.
 */
export const DPOP_TOKEN = "ours + DPoP proof,";
/** Informational: the same with the app's default, nonces required; every proof carries the nonce of the moment. */
export const DPOP_NONCE_TOKEN = "ours + DPoP proof with nonce,";
const DPOP_NONCE_ALGS: SigningAlg[] = ["ES256"];
/** Name prefix of the `--what-if` targets: our auth-server with logging off. */
export const LOGS_OFF = "ours, logs off,";
/** Name prefix of our auth-server exporting its spans over OTLP (to a sink on loopback); `ours` is the same with no exporter. */
export const TRACED = "ours, traces exported,";
/** The algorithm the traced auth-server signs with: one is enough to price the spans. */
export const TRACED_ALG: SigningAlg = "RS256";

export interface TokenResults {
  /** `ours RS256`, `oidc-provider RS256`, ... */
  measurements: Measurement[];
}

/**
 * Scenarios 1 and 4a: `POST /token` with client_secret_basic, for each
 * signing algorithm, our auth-server (the app, run as `npm start` runs it,
 * `SIGNING_ALG` set) against oidc-provider, all servers up at once and
 * measured in turns; and scenario 1 with DPoP, the same request with a
 * proof, in the same turns as the Bearer row it is judged against.
 */
export async function runToken(ctx: BenchContext): Promise<TokenResults> {
  const servers: [string, ChildServer][] = [];
  const sink = await startTraceSink();
  let measurements: Measurement[];
  try {
    // started together (startup is most of a quick run), pushed as each comes up so `finally` stops them all
    const track = async (name: string, server: Promise<ChildServer>) => {
      servers.push([name, await server]);
    };
    await Promise.all(
      TOKEN_ALGS.flatMap((alg) => [
        track(`ours ${alg}`, ctx.start(`auth-server-${alg}`, { kind: "auth-server", alg })),
        track(`oidc-provider ${alg}`, ctx.start(`oidc-provider-${alg}`, { kind: "oidc-provider", alg })),
      ]),
    );
    // with DPoP: nonces off for the proof's pure cost; on (the default) for one algorithm, informational
    await Promise.all([
      ...TOKEN_ALGS.map((alg) => track(`${DPOP_TOKEN} ${alg}`, ctx.start(`auth-server-${alg}-dpop`, { kind: "auth-server", alg, dpopNonceRequired: false }))),
      ...DPOP_NONCE_ALGS.map((alg) => track(`${DPOP_NONCE_TOKEN} ${alg}`, ctx.start(`auth-server-${alg}-dpop-nonce`, { kind: "auth-server", alg }))),
    ]);
    // the same app exporting its spans: what the signals cost when they are on
    await track(`${TRACED} ${TRACED_ALG}`, ctx.start(`auth-server-${TRACED_ALG}-traced`, { kind: "auth-server", alg: TRACED_ALG, traces: sink.url }));
    // the floor: the same request with nothing around signing (bench-only, see servers/token-floor.ts)
    await Promise.all(FLOOR_ALGS.map((alg) => track(`${FLOOR} ${alg}`, ctx.start(`token-floor-${alg}`, { kind: "token-floor", alg }))));
    // the floor as one Express route: Express's own cost, between the floor and ours (see servers/token-floor.ts)
    await track(`${EXPRESS_FLOOR} EdDSA`, ctx.start("express-floor-EdDSA", { kind: "express-floor", alg: "EdDSA" }));
    // under the floor: what node:http costs before any work (an EdDSA-sized answer, see servers/token-floor.ts)
    await track(`${TRANSPORT} EdDSA`, ctx.start("http-floor-EdDSA", { kind: "http-floor", alg: "EdDSA" }));
    if (ctx.options.whatIf) {
      // the same app with LOG_LEVEL=silent: what its log lines per request cost
      await Promise.all(
        (["RS256", "EdDSA"] as const).map((alg) =>
          track(`${LOGS_OFF} ${alg}`, ctx.start(`auth-server-${alg}-silent`, { kind: "auth-server", alg, logLevel: "silent" })),
        ),
      );
    }
    const order = TOKEN_ALGS.flatMap((alg) => [
      `ours ${alg}`,
      `${DPOP_TOKEN} ${alg}`,
      `${DPOP_NONCE_TOKEN} ${alg}`,
      `${TRACED} ${alg}`,
      `${LOGS_OFF} ${alg}`,
      `oidc-provider ${alg}`,
      `${EXPRESS_FLOOR} ${alg}`,
      `${FLOOR} ${alg}`,
      `${TRANSPORT} ${alg}`,
    ]);
    servers.sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
    // a token from each, with the algorithm we asked for: otherwise the comparison means nothing
    // (and from the DPoP ones a DPoP-bound token, which is what they are measured answering)
    const usesDPoP = (name: string) => name.startsWith(DPOP_TOKEN) || name.startsWith(DPOP_NONCE_TOKEN);
    for (const [name, server] of servers) {
      const { access_token } = usesDPoP(name) ? await fetchDPoPToken(server.url, generateProofKey().privateJwk) : await fetchToken(server.url);
      const alg = name.split(" ").at(-1);
      if (jwtHeader(access_token).alg !== alg) throw new Error(`${name} signed with ${jwtHeader(access_token).alg}, not ${alg}`);
    }
    const targets: Target[] = servers.map(([name, server]) => ({
      name,
      processes: [server],
      job: async () => ({
        title: name,
        url: server.url,
        method: "POST",
        path: "/token",
        headers: { authorization: basic("order-service", "super-secret"), "content-type": "application/x-www-form-urlencoded" },
        body: TOKEN_BODY,
        // a new proof per request, made in the load generator; a new key every 16 proofs, as from many clients
        // (auth-server counts each key's live jtis per request, and caps them at 10,000)
        ...(usesDPoP(name)
          ? { dpop: { htm: "POST", htu: `${server.url}/token`, ...(name.startsWith(DPOP_NONCE_TOKEN) ? { nonce: await fetchDPoPNonce(server.url) } : {}) } }
          : {}),
        expect: [200],
      }),
    }));
    measurements = await measure(ctx.load, targets, ctx.options, ctx.log);
  } finally {
    // stopped before the sink: a stopping app sends the spans it still holds
    await ctx.stop(...servers.map(([, s]) => s));
    await sink.close();
  }
  // the traced server's spans must have reached the sink, or its row measured no export at all
  if (sink.exports === 0) throw new Error(`${TRACED} ${TRACED_ALG} exported no spans to ${sink.url}`);
  return { measurements };
}
