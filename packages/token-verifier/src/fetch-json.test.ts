import { describe, expect, it } from "vitest";
import { discoverJwksUri, metadataUrlFor } from "./discovery.js";
import { fetchJson, KeySourceError } from "./fetch-json.js";

// What the verifier says about its key sources (for onJwksError and the log),
// and where it draws their lines: status, size, JSON, issuer, jwks_uri.
const answering =
  (body: string | null, init: ResponseInit = {}, seen: RequestInit[] = []): typeof fetch =>
  (async (_url: string, request: RequestInit) => {
    seen.push(request);
    return new Response(body, init);
  }) as typeof fetch;
const failing = (error: unknown): typeof fetch => (async () => Promise.reject(error)) as typeof fetch;
const URL_ = "https://as.example/jwks";

async function refusal(promise: Promise<unknown>): Promise<KeySourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeySourceError);
  expect((error as Error).name).toBe("KeySourceError");
  return error as KeySourceError;
}

describe("fetchJson", () => {
  it("asks for JSON with the configured headers, no redirects, and a timeout", async () => {
    const seen: RequestInit[] = [];
    expect(await fetchJson(URL_, { fetch: answering('{"a":1}', {}, seen), timeoutMs: 1000, headers: { "x-api-key": "k" } })).toEqual({ a: 1 });
    expect(seen[0]).toMatchObject({ method: "GET", redirect: "manual", headers: { accept: "application/json", "x-api-key": "k" } });
    expect(seen[0]!.signal).toBeInstanceOf(AbortSignal);
  });

  it("says why a fetch failed: a timeout, an abort, an unreachable host and its code, or unreachable alone", async () => {
    const named = (name: string) => Object.assign(new Error("x"), { name });
    expect((await refusal(fetchJson(URL_, { fetch: failing(named("TimeoutError")), timeoutMs: 1234 }))).message).toBe(`GET ${URL_}: no answer within 1234 ms`);
    expect((await refusal(fetchJson(URL_, { fetch: failing(named("AbortError")), timeoutMs: 10 }))).message).toBe(`GET ${URL_}: no answer within 10 ms`);
    const refused = new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
    const error = await refusal(fetchJson(URL_, { fetch: failing(refused), timeoutMs: 10 }));
    expect(error.message).toBe(`GET ${URL_}: unreachable (ECONNREFUSED)`);
    expect(error.cause).toBe(refused);
    expect((await refusal(fetchJson(URL_, { fetch: failing(new TypeError("fetch failed", { cause: { code: 7 } })), timeoutMs: 10 }))).message).toBe(`GET ${URL_}: unreachable`);
    expect((await refusal(fetchJson(URL_, { fetch: failing("a string"), timeoutMs: 10 }))).message).toBe(`GET ${URL_}: unreachable`);
    expect((await refusal(fetchJson(URL_, { fetch: failing({ name: "TimeoutError" }), timeoutMs: 10 }))).message).toBe(`GET ${URL_}: unreachable`);
    expect((await refusal(fetchJson(URL_, { fetch: failing(undefined), timeoutMs: 10 }))).message).toBe(`GET ${URL_}: unreachable`);
  });

  it("takes only a 200: a redirect or an error status is refused", async () => {
    for (const status of [201, 204, 302, 404, 500]) {
      const body = status === 204 ? null : "{}";
      expect((await refusal(fetchJson(URL_, { fetch: answering(body, { status }), timeoutMs: 10 }))).message).toBe(`GET ${URL_}: expected 200, got ${status}`);
    }
  });

  it("refuses a body larger than maxBytes, by its Content-Length or by what came, and takes one of exactly maxBytes", async () => {
    const big = (length: number) => JSON.stringify("x".repeat(length - 2));
    expect(await fetchJson(URL_, { fetch: answering(big(100)), timeoutMs: 10, maxBytes: 100 })).toHaveLength(98);
    expect((await refusal(fetchJson(URL_, { fetch: answering(big(101)), timeoutMs: 10, maxBytes: 100 }))).message).toBe(`GET ${URL_}: body larger than 100 bytes`);
    const declared = answering("{}", { headers: { "content-length": "101" } });
    expect((await refusal(fetchJson(URL_, { fetch: declared, timeoutMs: 10, maxBytes: 100 }))).message).toBe(`GET ${URL_}: body larger than 100 bytes`);
    expect(await fetchJson(URL_, { fetch: answering("{}", { headers: { "content-length": "100" } }), timeoutMs: 10, maxBytes: 100 })).toEqual({});
    // by default, half a megabyte
    expect((await refusal(fetchJson(URL_, { fetch: answering(big(512 * 1024 + 1)), timeoutMs: 10 }))).message).toBe(`GET ${URL_}: body larger than 524288 bytes`);
    expect(await fetchJson(URL_, { fetch: answering(big(512 * 1024)), timeoutMs: 10 })).toHaveLength(512 * 1024 - 2);
  });

  it("refuses a body that cannot be read or is not JSON, and keeps the cause", async () => {
    const unreadable = (async () => ({ status: 200, headers: new Headers(), body: null, text: () => Promise.reject(new Error("reset")) })) as unknown as typeof fetch;
    const error = await refusal(fetchJson(URL_, { fetch: unreadable, timeoutMs: 10 }));
    expect(error.message).toBe(`GET ${URL_}: the body could not be read`);
    expect((error.cause as Error).message).toBe("reset");
    const notJson = await refusal(fetchJson(URL_, { fetch: answering("{not json"), timeoutMs: 10 }));
    expect(notJson.message).toBe(`GET ${URL_}: the body is not JSON`);
    expect(notJson.cause).toBeInstanceOf(SyntaxError);
  });
});

describe("metadataUrlFor (RFC 8414 §3.1)", () => {
  it("puts the well-known segment between the host and the issuer's path, without trailing slashes", () => {
    expect(metadataUrlFor("https://as.example")).toBe("https://as.example/.well-known/oauth-authorization-server");
    expect(metadataUrlFor("https://as.example/")).toBe("https://as.example/.well-known/oauth-authorization-server");
    expect(metadataUrlFor("https://as.example/tenant")).toBe("https://as.example/.well-known/oauth-authorization-server/tenant");
    expect(metadataUrlFor("https://as.example/tenant//")).toBe("https://as.example/.well-known/oauth-authorization-server/tenant");
    expect(metadataUrlFor("https://as.example:8443/a/b/")).toBe("https://as.example:8443/.well-known/oauth-authorization-server/a/b");
  });
});

describe("discoverJwksUri (RFC 8414 §3.3)", () => {
  const issuer = "https://as.example";
  const at = `${issuer}/.well-known/oauth-authorization-server`;
  const discover = (body: unknown) => discoverJwksUri(at, issuer, { fetch: answering(JSON.stringify(body)), timeoutMs: 10 });

  it("returns an http or https jwks_uri of metadata naming this very issuer", async () => {
    expect(await discover({ issuer, jwks_uri: `${issuer}/jwks` })).toBe(`${issuer}/jwks`);
    expect(await discover({ issuer, jwks_uri: "http://127.0.0.1:4000/jwks" })).toBe("http://127.0.0.1:4000/jwks");
  });

  it("refuses what is not a JSON object, another issuer, and a jwks_uri that is no http(s) URL", async () => {
    for (const body of [null, [], "metadata", 42, true]) {
      expect((await refusal(discover(body))).message).toBe(`${at}: the metadata is not a JSON object`);
    }
    expect((await refusal(discover({ issuer: `${issuer}/`, jwks_uri: `${issuer}/jwks` }))).message).toBe(
      `${at}: the metadata names issuer "https://as.example/", expected "https://as.example" (RFC 8414 §3.3)`,
    );
    for (const jwksUri of [undefined, 42, "", "not a url", "file:///etc/passwd", "ftp://as.example/jwks", "javascript:alert(1)"]) {
      expect((await refusal(discover({ issuer, jwks_uri: jwksUri }))).message, String(jwksUri)).toBe(`${at}: the metadata has no usable jwks_uri`);
    }
  });
});

// What the verifier takes from an issuer's key source: one JSON document,
// at most 512 KiB, from a 200 and nothing else. A fake fetch stands in for
// the network, so each answer is exactly the one the test names.

const JWKS_URL = "http://issuer.test/jwks.json";

function answeringWith(response: () => Response): { fetch: typeof fetch; requests: RequestInit[] } {
  const requests: RequestInit[] = [];
  const fake = (async (_url: string | URL | Request, init?: RequestInit) => {
    requests.push(init ?? {});
    return response();
  }) as typeof fetch;
  return { fetch: fake, requests };
}

async function refusalMessage(response: () => Response, maxBytes?: number): Promise<string> {
  const { fetch } = answeringWith(response);
  const error = await fetchJson(JWKS_URL, { fetch, timeoutMs: 1000, ...(maxBytes === undefined ? {} : { maxBytes }) }).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(KeySourceError);
  return (error as Error).message;
}

describe("fetchJson: the issuer's metadata and JWK Set", () => {
  it("parses a 200 JSON body, and asks with redirects not followed", async () => {
    const { fetch, requests } = answeringWith(() => Response.json({ keys: [] }));
    await expect(fetchJson(JWKS_URL, { fetch, timeoutMs: 1000 })).resolves.toEqual({ keys: [] });
    expect(requests[0]).toMatchObject({ method: "GET", redirect: "manual" });
  });

  it("takes nothing from a redirect or any answer but 200", async () => {
    expect(await refusalMessage(() => new Response(null, { status: 302, headers: { location: "http://elsewhere.test/jwks.json" } }))).toBe(
      `GET ${JWKS_URL}: expected 200, got 302`,
    );
    expect(await refusalMessage(() => new Response("{}", { status: 404 }))).toBe(`GET ${JWKS_URL}: expected 200, got 404`);
  });

  it("refuses a body larger than 512 KiB, whether its Content-Length says so or only its length does", async () => {
    const big = `{"keys":[],"pad":"${"x".repeat(512 * 1024)}"}`;
    expect(await refusalMessage(() => new Response("{}", { headers: { "content-length": String(600 * 1024) } }))).toBe(
      `GET ${JWKS_URL}: body larger than 524288 bytes`,
    );
    expect(await refusalMessage(() => new Response(big))).toBe(`GET ${JWKS_URL}: body larger than 524288 bytes`);
    expect(await refusalMessage(() => Response.json({ keys: [] }), 8)).toBe(`GET ${JWKS_URL}: body larger than 8 bytes`);
  });

  it("refuses a body that is not JSON", async () => {
    expect(await refusalMessage(() => new Response("<html>not json</html>"))).toBe(`GET ${JWKS_URL}: the body is not JSON`);
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
