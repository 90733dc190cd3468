import { InvalidClientError, InvalidScopeError, TooManyRequestsError } from "@m2m/token-issuer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authFailureReason } from "../src/metrics.js";
import { basic, startTestServer, type TestServer } from "./support.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.dispose());

const token = (authorization: string, body = "grant_type=client_credentials") =>
  fetch(`${server.url}/token`, { method: "POST", headers: { authorization, "content-type": "application/x-www-form-urlencoded" }, body });

describe("GET /metrics at auth-server", () => {
  it("counts tokens issued by method and algorithm, refusals by error, and failed client authentications by a reason that tells no client apart", async () => {
    expect((await token(basic("order-service", "super-secret"))).status).toBe(200);
    expect((await token(basic("order-service", "super-secret"))).status).toBe(200);
    expect((await token(basic("order-service", "wrong"))).status).toBe(401);
    expect((await token(basic("no-such-client", "wrong"))).status).toBe(401);
    expect((await token(basic("order-service", "super-secret"), "grant_type=client_credentials&scope=charge:refund")).status).toBe(400);

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const alg = server.keys.current().alg;
    expect(text).toContain(`oauth_token_requests_total{auth_method="client_secret_basic",result="issued",alg="${alg}"} 2`);
    expect(text).toContain('oauth_token_requests_total{auth_method="client_secret_basic",result="invalid_client"} 2');
    expect(text).toContain('oauth_token_requests_total{auth_method="client_secret_basic",result="invalid_scope"} 1');
    expect(text).toContain('oauth_client_authentication_failures_total{endpoint="token",reason="bad_credentials"} 2');
    expect(text).toContain('http_server_request_duration_seconds_count{http_request_method="POST",http_response_status_code="200",http_route="/token"} 2');
    // no label holds a client id, registered or made up
    expect(text).not.toMatch(/order-service|no-such-client/);
  });
});

describe("authFailureReason", () => {
  it("sorts every refusal of client authentication into a fixed set, and nothing else", () => {
    const reasons = [
      "no enabled client with this id and secret",
      "no client authentication in the request",
      "malformed Basic credentials",
      "unsupported authentication scheme (use Basic)",
      "the client assertion was already used (jti replayed)",
      "the client assertion does not verify with a key registered for its client",
      "the client assertion's aud is not exactly the issuer identifier",
    ].map((reason) => authFailureReason(new InvalidClientError(reason)));
    expect(reasons).toEqual(["bad_credentials", "no_credentials", "malformed", "malformed", "assertion_replayed", "bad_assertion", "bad_assertion"]);
    expect(authFailureReason(new TooManyRequestsError("slow down", 30))).toBe("rate_limited");
    expect(authFailureReason(new InvalidScopeError("no such scope"))).toBeUndefined();
  });
});
