import { freePort, type BenchContext } from "../context.js";
import { basic, fetchToken, jwtHeader, TOKEN_BODY } from "../http.js";
import { measure, type Measurement, type Target } from "../rounds.js";
import type { ChildServer } from "../servers/child-server.js";
import type { SigningAlg } from "../servers/protocol.js";

export const TOKEN_ALGS: SigningAlg[] = ["RS256", "ES256", "EdDSA"];

export interface TokenResults {
  /** `ours RS256`, `oidc-provider RS256`, ... */
  measurements: Measurement[];
}

/**
 * Scenarios 1 and 4a: `POST /token` with client_secret_basic, for each
 * signing algorithm, ours against oidc-provider, all servers up at once and
 * measured in turns.
 */
export async function runToken(ctx: BenchContext): Promise<TokenResults> {
  const servers: [string, ChildServer][] = [];
  try {
    for (const alg of TOKEN_ALGS) {
      const port = await freePort();
      servers.push([`ours ${alg}`, await ctx.start(`auth-server-${alg}`, { kind: "auth-server", alg, port })]);
      servers.push([`oidc-provider ${alg}`, await ctx.start(`oidc-provider-${alg}`, { kind: "oidc-provider", alg })]);
    }
    // a token from each, with the algorithm we asked for: otherwise the comparison means nothing
    for (const [name, server] of servers) {
      const { access_token } = await fetchToken(server.url);
      const alg = name.split(" ")[1];
      if (jwtHeader(access_token).alg !== alg) throw new Error(`${name} signed with ${jwtHeader(access_token).alg}, not ${alg}`);
    }
    const targets: Target[] = servers.map(([name, server]) => ({
      name,
      job: async () => ({
        title: name,
        url: server.url,
        method: "POST",
        path: "/token",
        headers: { authorization: basic("order-service", "super-secret"), "content-type": "application/x-www-form-urlencoded" },
        body: TOKEN_BODY,
        expect: [200],
      }),
    }));
    return { measurements: await measure(ctx.load, targets, ctx.options, ctx.log) };
  } finally {
    await ctx.stop(...servers.map(([, s]) => s));
  }
}
