import type { BenchContext } from "../context.js";
import { chargeBody, expectStatus, fetchToken, waitForReady } from "../http.js";
import type { LoadResult } from "../load/job.js";
import type { ChildServer } from "../servers/child-server.js";
import type { MemorySample } from "../servers/protocol.js";

export interface FloodResults {
  /** Heap and RSS after a full GC: before the flood, then after each segment. */
  samples: MemorySample[];
  segments: LoadResult[];
  /** Distinct forged tokens sent. */
  tokensSent: number;
  /** JWKS fetches the flood caused at auth-server. */
  jwksFetches: number;
  maxRss: number;
  /** Heap growth from the first to the last segment, bytes. */
  heapGrowth: number;
}

/**
 * The memory guard: a flood of distinct forged tokens at `/charge` (half with
 * the issuer's real `kid` and a bad signature, half with unknown `kid`s).
 * Every answer must be 401, the heap after GC must level off, and a good
 * token must still work afterwards.
 */
export async function runFlood(ctx: BenchContext): Promise<FloodResults> {
  const started: ChildServer[] = [];
  try {
    // its log goes to a file: the JWKS fetches the flood causes are counted from it
    const auth = await ctx.start("auth-server-flood", { kind: "auth-server", alg: "RS256" }, true);
    started.push(auth);
    const payment = await ctx.start("payment-service-flood", { kind: "payment-service", issuer: auth.url });
    started.push(payment);
    await waitForReady(payment.url);
    const jwks = (await expectStatus(`${auth.url}/.well-known/jwks.json`, {}, [200])) as { keys: { kid: string; alg: string }[] };
    const key = jwks.keys[0]!;
    const before = auth.logCounts();

    const job = (seconds: number) => ({
      title: "flood",
      url: payment.url,
      method: "POST" as const,
      path: "/charge",
      headers: { "content-type": "application/json" },
      body: chargeBody("{id}"),
      uniqueBody: true,
      uniqueHeader: "idempotency-key",
      bogusBearer: { alg: key.alg, kid: key.kid, iss: auth.url, aud: "payment-service", scope: "charge:customer" },
      expect: [401],
      seconds,
      connections: ctx.options.connections,
    });
    const segments: LoadResult[] = [];
    await ctx.load.run(job(ctx.options.warmupSeconds));
    const samples: MemorySample[] = [await payment.memory(true)];
    const count = ctx.options.quick ? 2 : 4;
    for (let i = 0; i < count; i++) {
      const result = await ctx.load.run(job(ctx.options.roundSeconds));
      segments.push(result);
      samples.push(await payment.memory(true));
      ctx.log(`  flood ${i + 1}: ${result.rps.toFixed(0)} forged tokens/s, heap ${mb(samples.at(-1)!.heapUsed)}, rss ${mb(samples.at(-1)!.rss)}`);
    }
    // and the door still opens for a real token
    const { access_token } = await fetchToken(auth.url);
    await expectStatus(
      `${payment.url}/charge`,
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${access_token}`, "idempotency-key": "after-flood" },
        body: chargeBody("after-flood"),
      },
      [201],
    );
    const after = auth.logCounts();
    const jwksPath = "GET /.well-known/jwks.json";
    return {
      samples,
      segments,
      tokensSent: segments.reduce((sum, s) => sum + s.total, 0),
      jwksFetches: (after.requests[jwksPath] ?? 0) - (before.requests[jwksPath] ?? 0),
      maxRss: payment.maxRss,
      heapGrowth: samples.at(-1)!.heapUsed - samples[1]!.heapUsed,
    };
  } finally {
    await ctx.stop(...started);
  }
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
