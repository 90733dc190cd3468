/**
 * The load generator's process (pinned to its own core): runs autocannon for
 * each job the parent sends over IPC and answers with the numbers.
 */
import { randomBytes } from "node:crypto";
import type autocannonType from "autocannon";
import { loadPeer } from "../peers.js";
import { proofMaker } from "./dpop-proofs.js";
import type { BogusBearer, LoadJob, LoadResult } from "./job.js";

// a peer of the bench (src/peers.ts), so loaded from bench/peers; its types are @types/autocannon's
const loaded = loadPeer<{ default: typeof autocannonType }>("autocannon");
loaded.catch(() => {}); // reported by the first job

type Request = autocannonType.Request;

process.on("message", (message: { type: "run"; job: LoadJob }) => {
  if (message.type !== "run") return;
  run(message.job).then(
    (result) => process.send?.({ type: "result", result }),
    (error: unknown) => process.send?.({ type: "error", error: error instanceof Error ? error.message : String(error) }),
  );
});

// the parent is gone: nothing left to do
process.on("disconnect", () => process.exit(0));

async function run(job: LoadJob): Promise<LoadResult> {
  const { default: autocannon } = await loaded;
  const runId = randomBytes(4).toString("hex");
  let n = 0;
  const nextId = () => `${runId}-${(n++).toString(36)}`;
  const forge = job.bogusBearer ? forger(job.bogusBearer) : undefined;
  const proof = job.dpop ? proofMaker(job.dpop) : undefined;
  const varies = job.uniqueHeader !== undefined || job.uniqueBody === true || forge !== undefined || proof !== undefined;
  const bodyMatches: Record<string, number> = {};
  const headerValues: Record<string, number> = {};

  const request: Request = {
    method: job.method,
    path: job.path,
    headers: job.headers,
    ...(job.body === undefined ? {} : { body: job.body }),
  };
  if (varies) {
    request.setupRequest = (req: Request) => {
      const seq = n;
      const id = nextId();
      const headers = { ...job.headers };
      if (job.uniqueHeader) headers[job.uniqueHeader] = id;
      if (forge) headers["authorization"] = `Bearer ${forge(id, seq)}`;
      if (proof) headers["dpop"] = proof();
      return {
        ...req,
        headers,
        ...(job.uniqueBody && job.body !== undefined ? { body: job.body.replaceAll("{id}", id) } : {}),
      };
    };
  }
  if (job.countBodyContaining !== undefined || job.countHeader !== undefined) {
    const needles = job.countBodyContaining ?? [];
    for (const needle of needles) bodyMatches[needle] = 0;
    const wanted = job.countHeader?.toLowerCase();
    request.onResponse = (status: number, body: string, _context: object, headers: Request["headers"]) => {
      for (const needle of needles) if (body.includes(needle)) bodyMatches[needle]!++;
      if (wanted !== undefined) {
        const name = Object.keys(headers ?? {}).find((h) => h.toLowerCase() === wanted);
        const value = name === undefined ? "" : String(headers?.[name]);
        const key = `${status} ${value}`.trim();
        headerValues[key] = (headerValues[key] ?? 0) + 1;
      }
    };
  }

  const result = await autocannon({
    title: job.title,
    // autocannon spreads the connections over several URLs in turn (lib/url.js); its types know one URL only
    url: (job.moreUrls ? [job.url, ...job.moreUrls] : job.url) as string,
    connections: job.connections,
    duration: job.seconds,
    requests: [request],
    timeout: 10,
  });

  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0;
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  const expected = job.expect.reduce((sum, code) => sum + (statuses[String(code)] ?? 0), 0);
  return {
    title: job.title,
    seconds: result.duration,
    rps: total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total,
    unexpected: total - expected,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    ...(job.countBodyContaining === undefined ? {} : { bodyMatches }),
    ...(job.countHeader === undefined ? {} : { headerValues }),
  };
}

/**
 * Forged tokens for the memory flood: each has a fresh `jti` and random
 * signature bytes, so no two are alike. Half name the issuer's real `kid`
 * (forcing a real signature check that fails), half a `kid` never seen
 * (tempting the verifier to refetch the JWKS or to remember the miss).
 */
function forger(spec: BogusBearer): (id: string, n: number) => string {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const realHeader = b64({ alg: spec.alg, typ: "at+jwt", kid: spec.kid });
  const signature = randomBytes(spec.alg.startsWith("RS") || spec.alg.startsWith("PS") ? 256 : 64).toString("base64url");
  return (id, n) => {
    const now = Math.floor(Date.now() / 1000);
    const header = n % 2 === 0 ? realHeader : b64({ alg: spec.alg, typ: "at+jwt", kid: `bogus-${id}` });
    const payload = b64({ iss: spec.iss, sub: "intruder", client_id: "intruder", aud: spec.aud, scope: spec.scope, iat: now, exp: now + 300, jti: id });
    return `${header}.${payload}.${signature}`;
  };
}
