import type { BenchContext } from "../context.js";
import { chargeBody, expectStatus, fetchDPoPToken, fetchToken, waitForReady } from "../http.js";
import { generateProofKey, proofMaker } from "../load/dpop-proofs.js";
import { measure, type Measurement, type Target } from "../rounds.js";
import type { ChildServer } from "../servers/child-server.js";
import { startTraceSink } from "../servers/trace-sink.js";

/** The algs of the DPoP rows' proofs. */
type ProofAlg = "ES256" | "RS256";
/** How a row's requests carry their token: none, Bearer, or DPoP with proofs of this alg. */
type Auth = "none" | "bearer" | ProofAlg;
/** The alg of a DPoP row's proofs; undefined for the others. */
const proofAlgOf = (auth: Auth): ProofAlg | undefined => (auth === "none" || auth === "bearer" ? undefined : auth);

export interface ChargeResults {
  measurements: Measurement[];
}

/** The target's two sides: the bench's charge handler behind our guard, and the same handler bare. */
export const GUARDED = "charge handler + our guard (requireAccessToken)";
export const BARE = "same charge handler, no auth";
/** Informational: the same handler behind express-oauth2-jwt-bearer. */
export const JWT_BEARER = "same charge handler + express-oauth2-jwt-bearer";
/** Informational: the real app, same token, same request. */
export const PAYMENT_SERVICE = "payment-service (the app)";
/**
 * DPoP (RFC 9449 §7): the same handler behind the same guard given a
 * `createDPoPVerifier` (mode `allowed`, `publicUrl` its origin), a
 * DPoP-bound token (`cnf.jkt`) and a new proof per request (`ath`, `htu` the
 * public URL and `/charge`); judged against {@link GUARDED}, the Bearer row.
 */
export const DPOP_GUARDED = "same charge handler + our guard, DPoP-bound token and a new proof";
/**
 * Informational: the same server as {@link DPOP_GUARDED}, the token bound to
 * an RSA key and each proof RS256 (a client may configure such a key,
 * `CLIENT_DPOP_KEY_FILE`): an RSA verification costs a fraction of an ECDSA
 * one, so this is a proof that is "one more signature check" of the kind the
 * token's own (RS256) is.
 */
export const DPOP_GUARDED_RS256 = "same charge handler + our guard, DPoP-bound token and a new RS256 proof";
/** Informational: express-oauth2-jwt-bearer with its DPoP support on (not required), the same DPoP requests. */
export const JWT_BEARER_DPOP = "same charge handler + express-oauth2-jwt-bearer, DPoP enabled, DPoP-bound token and a new proof";
/** Informational: the real app with `DPOP_MODE=allowed` and `PUBLIC_URL`, the same DPoP requests. */
export const PAYMENT_SERVICE_DPOP = "payment-service (the app), DPOP_MODE=allowed, DPoP-bound token and a new proof";
/** The signals on: the real app exporting its spans over OTLP (to a sink on loopback); PAYMENT_SERVICE is the same app with no exporter. */
export const PAYMENT_SERVICE_TRACED = "payment-service, traces exported";
/** Metrics on: the guarded handler with a /metrics registry counting every request, as the apps do; GUARDED is the same without. */
export const GUARDED_METRICS = "charge handler + our guard + /metrics";

/**
 * Scenarios 2 and 4b: `POST /charge` with one token reused and a fresh
 * `Idempotency-Key` per request (so every request is a real charge written
 * to SQLite). The bench's own charge handler (src/servers/charge-servers.ts)
 * on the service kit's base app runs bare, behind our guard and behind
 * express-oauth2-jwt-bearer, so the ratios isolate the guards; the real
 * payment-service gets the same token and requests beside them. With DPoP:
 * the same handler behind our guard with a DPoP verifier, and a second
 * payment-service with `DPOP_MODE=allowed` and `PUBLIC_URL`, each sent a
 * DPoP-bound token and a new proof per request (made in the load generator).
 */
export async function runCharge(ctx: BenchContext): Promise<ChargeResults> {
  const started: ChildServer[] = [];
  const start = async (...args: Parameters<BenchContext["start"]>) => {
    const server = await ctx.start(...args);
    started.push(server);
    return server;
  };
  const sink = await startTraceSink();
  let measurements: Measurement[];
  try {
    const auth = await start("auth-server-charge", { kind: "auth-server", alg: "RS256" });
    const issuer = auth.url;
    const [guarded, bare, jwtBearer, payment, guardedMetrics, traced, guardedDPoP, paymentDPoP, jwtBearerDPoP] = await Promise.all([
      start("charge-guarded", { kind: "charge-guarded", issuer }),
      start("charge-bare", { kind: "charge-bare" }),
      start("charge-jwt-bearer", { kind: "charge-jwt-bearer", issuer }),
      start("payment-service", { kind: "payment-service", issuer }),
      start("charge-guarded-metrics", { kind: "charge-guarded", issuer, metrics: true }),
      start("payment-service-traced", { kind: "payment-service", issuer, traces: sink.url }),
      start("charge-guarded-dpop", { kind: "charge-guarded", issuer, dpopMode: "allowed" }),
      start("payment-service-dpop", { kind: "payment-service", issuer, dpopMode: "allowed" }),
      start("charge-jwt-bearer-dpop", { kind: "charge-jwt-bearer", issuer, dpopMode: "allowed" }),
    ]);
    const servers: [string, ChildServer, Auth][] = [
      [GUARDED, guarded, "bearer"],
      [GUARDED_METRICS, guardedMetrics, "bearer"],
      [DPOP_GUARDED, guardedDPoP, "ES256"],
      [DPOP_GUARDED_RS256, guardedDPoP, "RS256"],
      [BARE, bare, "none"],
      [JWT_BEARER, jwtBearer, "bearer"],
      [JWT_BEARER_DPOP, jwtBearerDPoP, "ES256"],
      [PAYMENT_SERVICE, payment, "bearer"],
      [PAYMENT_SERVICE_TRACED, traced, "bearer"],
      [PAYMENT_SERVICE_DPOP, paymentDPoP, "ES256"],
    ];
    // one DPoP key per alg for the run, as one order-service process has one; the load generator signs its proofs with it
    const keys = { ES256: generateProofKey("ES256"), RS256: generateProofKey("RS256") };
    const dpopTokens = { ES256: "", RS256: "" };
    const newDPoPToken = async (alg: ProofAlg) => {
      dpopTokens[alg] = (await fetchDPoPToken(issuer, keys[alg].privateJwk)).access_token;
    };
    let token = (await fetchToken(issuer)).access_token;
    await Promise.all([newDPoPToken("ES256"), newDPoPToken("RS256")]);
    const dpopHeaders = (url: string, alg: ProofAlg) => ({
      authorization: `DPoP ${dpopTokens[alg]}`,
      dpop: proofMaker({ htm: "POST", htu: `${url}/charge`, key: keys[alg].privateJwk, accessToken: dpopTokens[alg] })(),
    });
    for (const [i, [, server, auth]] of servers.entries()) {
      await waitForReady(server.url);
      const headers: Record<string, string> = { "content-type": "application/json", "idempotency-key": `probe-${i}` };
      const probe = (more: Record<string, string>, statuses: number[]) =>
        expectStatus(`${server.url}/charge`, { method: "POST", headers: { ...headers, ...more }, body: chargeBody(`probe-${i}`) }, statuses);
      // without a token a protected server must refuse: otherwise it is not measuring auth at all
      if (auth !== "none") await probe({}, [401]);
      const alg = proofAlgOf(auth);
      if (alg) {
        // and a DPoP-bound token without its proof too: otherwise it is not checking the proof
        await probe({ authorization: `Bearer ${dpopTokens[alg]}` }, [401]);
        await probe(dpopHeaders(server.url, alg), [201]);
      } else await probe(auth === "bearer" ? { authorization: `Bearer ${token}` } : {}, [201]);
    }
    const targets: Target[] = servers.map(([name, server, auth]) => ({
      name,
      processes: [server],
      job: async () => {
        // a fresh token per round for the servers that verify it: its first use is a real signature check
        if (auth === "bearer") token = (await fetchToken(issuer)).access_token;
        const alg = proofAlgOf(auth);
        if (alg) await newDPoPToken(alg);
        return {
          title: name,
          url: server.url,
          method: "POST",
          path: "/charge",
          // the same request to every server, token included (a DPoP-bound one with its proof for the DPoP rows): only what each does with it differs
          headers: { "content-type": "application/json", authorization: alg ? `DPoP ${dpopTokens[alg]}` : `Bearer ${token}` },
          body: chargeBody("{id}"),
          uniqueBody: true,
          uniqueHeader: "idempotency-key",
          // with DPoP, a new proof per request, made in the load generator, for this token and this server's public URL
          ...(alg ? { dpop: { htm: "POST", htu: `${server.url}/charge`, key: keys[alg].privateJwk, accessToken: dpopTokens[alg] } } : {}),
          expect: [201],
        };
      },
    }));
    measurements = await measure(ctx.load, targets, ctx.options, ctx.log);
  } finally {
    // stopped before the sink: a stopping app sends the spans it still holds
    await ctx.stop(...started);
    await sink.close();
  }
  // the traced app's spans must have reached the sink, or its row measured no export at all
  if (sink.exports === 0) throw new Error(`${PAYMENT_SERVICE_TRACED} exported no spans to ${sink.url}`);
  return { measurements };
}
