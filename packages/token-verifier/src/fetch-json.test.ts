import { describe, expect, it } from "vitest";
import { fetchJson, KeySourceError } from "./fetch-json.js";

// What the verifier takes from an issuer's key source: one JSON document,
// at most 512 KiB, from a 200 and nothing else. A fake fetch stands in for
// the network, so each answer is exactly the one the test names.

const JWKS_URL = "http://issuer.test/jwks.json";

function answering(response: () => Response): { fetch: typeof fetch; requests: RequestInit[] } {
  const requests: RequestInit[] = [];
  const fake = (async (_url: string | URL | Request, init?: RequestInit) => {
    requests.push(init ?? {});
    return response();
  }) as typeof fetch;
  return { fetch: fake, requests };
}

async function refusal(response: () => Response, maxBytes?: number): Promise<string> {
  const { fetch } = answering(response);
  const error = await fetchJson(JWKS_URL, { fetch, timeoutMs: 1000, ...(maxBytes === undefined ? {} : { maxBytes }) }).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(KeySourceError);
  return (error as Error).message;
}

describe("fetchJson: the issuer's metadata and JWK Set", () => {
  it("parses a 200 JSON body, and asks with redirects not followed", async () => {
    const { fetch, requests } = answering(() => Response.json({ keys: [] }));
    await expect(fetchJson(JWKS_URL, { fetch, timeoutMs: 1000 })).resolves.toEqual({ keys: [] });
    expect(requests[0]).toMatchObject({ method: "GET", redirect: "manual" });
  });

  it("takes nothing from a redirect or any answer but 200", async () => {
    expect(await refusal(() => new Response(null, { status: 302, headers: { location: "http://elsewhere.test/jwks.json" } }))).toBe(
      `GET ${JWKS_URL}: expected 200, got 302`,
    );
    expect(await refusal(() => new Response("{}", { status: 404 }))).toBe(`GET ${JWKS_URL}: expected 200, got 404`);
  });

  it("refuses a body larger than 512 KiB, whether its Content-Length says so or only its length does", async () => {
    const big = `{"keys":[],"pad":"${"x".repeat(512 * 1024)}"}`;
    expect(await refusal(() => new Response("{}", { headers: { "content-length": String(600 * 1024) } }))).toBe(
      `GET ${JWKS_URL}: body larger than 524288 bytes`,
    );
    expect(await refusal(() => new Response(big))).toBe(`GET ${JWKS_URL}: body larger than 524288 bytes`);
    expect(await refusal(() => Response.json({ keys: [] }), 8)).toBe(`GET ${JWKS_URL}: body larger than 8 bytes`);
  });

  it("refuses a body that is not JSON", async () => {
    expect(await refusal(() => new Response("<html>not json</html>"))).toBe(`GET ${JWKS_URL}: the body is not JSON`);
  });

  it("says why it could not ask: no answer within the timeout, or the network's error code", async () => {
    const hanging = (async (_url: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
      })) as typeof fetch;
    await expect(fetchJson(JWKS_URL, { fetch: hanging, timeoutMs: 20 })).rejects.toThrow(`GET ${JWKS_URL}: no answer within 20 ms`);
    const refused = (async () => {
      throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    }) as typeof fetch;
    await expect(fetchJson(JWKS_URL, { fetch: refused, timeoutMs: 1000 })).rejects.toThrow(`GET ${JWKS_URL}: unreachable (ECONNREFUSED)`);
  });
});
