// The `demo` container: places an order through order-service and shows the
// five steps of the client credentials flow, then walks the same five steps
// itself as a second client (reporting-service), where every step can be seen
// from outside. Exits non-zero if anything did not happen as it should.
//
// Inside the container it cannot read the other services' logs; those hold
// the details of order-service's own steps (see the hint at the end).
import { createHash, randomUUID, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";

const ORDER = process.env.ORDER_SERVICE_URL ?? "http://order-service:4001";
const AUTH = process.env.AUTH_SERVER_URL ?? "http://auth-server:4000";
const PAYMENT = process.env.PAYMENT_SERVICE_URL ?? "http://payment-service:4002";
const REPORTING_ID = "reporting-service";
const REPORTING_SECRET_FILE = process.env.REPORTING_CLIENT_SECRET_FILE ?? "/run/secrets/reporting-service-client-secret";
const DPOP = process.env.DPOP === "true";

const tty = process.stdout.isTTY;
const style = (code) => (text) => (tty ? `\u001b[${code}m${text}\u001b[0m` : text);
const bold = style(1);
const green = style(32);
const red = style(31);
const say = (text = "") => console.log(text);
const heading = (text) => say(`\n${bold(`━━ ${text}`)}`);
const step = (n, text) => say(`${bold(n.padEnd(4))}${text}`);
const detail = (text) => say(`    ${text}`);
const json = (value) => JSON.stringify(value);
/** Like the services' logs: a token is shown only by its hash, never whole. */
const fingerprint = (token) => `sha256:${createHash("sha256").update(token).digest("hex").slice(0, 12)}`;

const failures = [];
function expectThat(ok, what) {
  if (!ok) failures.push(what);
  return ok;
}

async function call(url, init = {}) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

/** A JWT's header and claims, decoded for display only: payment-service is what verifies it. */
function decodeJwt(token) {
  const [header, payload] = token
    .split(".")
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")));
  return { header, payload };
}

async function discovery() {
  heading("What auth-server publishes");
  const metadata = await call(`${AUTH}/.well-known/oauth-authorization-server`);
  if (!expectThat(metadata.status === 200, `discovery metadata answered 200 (got ${metadata.status})`)) return;
  const m = metadata.body;
  detail(`issuer ${m.issuer}   token_endpoint ${m.token_endpoint}`);
  detail(`grant_types_supported ${json(m.grant_types_supported)}   auth methods ${json(m.token_endpoint_auth_methods_supported)}`);
  const jwks = await call(m.jwks_uri);
  if (!expectThat(jwks.status === 200, `JWKS answered 200 (got ${jwks.status})`)) return;
  for (const key of jwks.body.keys ?? []) detail(`signing key kid=${key.kid} alg=${key.alg} use=${key.use} (public part only)`);
}

async function placeOrder() {
  const order = { customerId: "cus_demo", amount: 1299, currency: "EUR" };
  heading("An order, placed through order-service");
  step("", `POST ${ORDER}/orders ${json(order)}`);
  const res = await call(`${ORDER}/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(order),
  });
  // DPOP=true reaches order-service too (CLIENT_DPOP): what it sends is told as it is
  step("(1)", `order-service → auth-server: POST /token, grant_type=client_credentials, as client order-service${DPOP ? ", with a DPoP proof of its key" : ""}`);
  detail("(its secret comes from a Compose secret file; a cached token is reused until it nears expiry)");
  step("(2)", `auth-server checks the client, its secret${DPOP ? ", the proof" : ""}, the scope charge:customer and the audience payment-service`);
  step("(3)", `auth-server signs a JWT access token (typ at+jwt) with its current key${DPOP ? ", bound to order-service's key (cnf.jkt)" : ""}`);
  step("(4)", `order-service → payment-service: POST /charge, ${DPOP ? "Authorization: DPoP <token>, DPoP: <a new proof>" : "Authorization: Bearer <token>"}, Idempotency-Key: <order id>`);
  step("(5)", `payment-service verifies signature, typ, iss, aud, exp${DPOP ? ", the proof by the token's key" : ""} and scope before it charges`);

  let current = res;
  const id = typeof res.body === "object" && res.body ? res.body.id : undefined;
  // 202 pending: order-service keeps it and retries; wait a little for it to settle
  for (let i = 0; i < 30 && id && current.body?.status === "pending"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    current = await call(`${ORDER}/orders/${id}`);
  }
  const paid = current.body?.status === "paid";
  expectThat(paid, `the order is paid (got ${res.status} ${json(current.body)})`);
  say(`${paid ? green("Result") : red("Result")}: ${res.status} ${json(current.body)}`);
  return paid ? current.body.chargeId : undefined;
}

/** The same five steps walked by reporting-service, whose every step the demo can show. */
async function reportingClient(chargeId) {
  heading("The same five steps, seen from the client's side: reporting-service reads that charge");
  const secret = readFileSync(REPORTING_SECRET_FILE, "utf8").trim();
  step("(1)", `reporting-service → auth-server: POST ${AUTH}/token (client_secret_basic, scope=charge:read, audience=payment-service)`);
  const basic = Buffer.from(`${encodeURIComponent(REPORTING_ID)}:${encodeURIComponent(secret)}`).toString("base64");
  const tokenRes = await call(`${AUTH}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: "charge:read", audience: "payment-service" }),
  });
  if (!expectThat(tokenRes.status === 200, `reporting-service got a token (got ${tokenRes.status} ${json(tokenRes.body)})`)) return undefined;
  const token = tokenRes.body.access_token;
  step("(2)", `auth-server checked the client and what it asked for: 200, scope "${tokenRes.body.scope}", expires_in ${tokenRes.body.expires_in}`);
  const { header, payload } = decodeJwt(token);
  step("(3)", `the access token ${fingerprint(token)}, a signed JWT:`);
  detail(`header ${json(header)}`);
  detail(`claims ${json(payload)}`);
  expectThat(header.typ === "at+jwt" && payload.aud === "payment-service", "the token is an at+jwt for payment-service");
  if (chargeId) {
    step("(4)", `reporting-service → payment-service: GET /charges/${chargeId}, Authorization: Bearer <token>`);
    const read = await call(`${PAYMENT}/charges/${encodeURIComponent(chargeId)}`, { headers: { authorization: `Bearer ${token}` } });
    step("(5)", `payment-service verified the token and answered ${read.status} ${json(read.body)}`);
    expectThat(read.status === 200 && read.body?.id === chargeId, `payment-service let reporting-service read the charge (got ${read.status})`);
  }
  return token;
}

async function refusals(reportingToken) {
  heading("And what payment-service refuses");
  const charge = (headers) =>
    call(`${PAYMENT}/charge`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": `demo-refused-${Date.now()}`, ...headers },
      body: JSON.stringify({ orderId: "demo-refused", customerId: "cus_demo", amount: 500, currency: "EUR" }),
    });
  const anonymous = await charge({});
  step("", `POST /charge without a token → ${anonymous.status}  WWW-Authenticate: ${anonymous.headers.get("www-authenticate")}`);
  expectThat(anonymous.status === 401, `a charge without a token is refused with 401 (got ${anonymous.status})`);
  if (reportingToken) {
    const scoped = await charge({ authorization: `Bearer ${reportingToken}` });
    step("", `POST /charge with reporting-service's token (scope charge:read) → ${scoped.status}  WWW-Authenticate: ${scoped.headers.get("www-authenticate")}`);
    expectThat(scoped.status === 403, `a charge:read token cannot charge: 403 (got ${scoped.status})`);
  }
}

/** A DPoP key pair (RFC 9449) made here with WebCrypto, whose ECDSA signatures are already in the JWS form (r || s). */
async function dpopKey() {
  const { publicKey, privateKey } = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const { kty, crv, x, y } = await webcrypto.subtle.exportKey("jwk", publicKey);
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const hash = (text) => createHash("sha256").update(text).digest("base64url");
  return {
    jkt: hash(JSON.stringify({ crv, kty, x, y })),
    async proof(htm, htu, { accessToken, nonce } = {}) {
      const claims = { jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000), ...(accessToken ? { ath: hash(accessToken) } : {}), ...(nonce ? { nonce } : {}) };
      const input = `${part({ typ: "dpop+jwt", alg: "ES256", jwk: { kty, crv, x, y } })}.${part(claims)}`;
      const signature = await webcrypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, Buffer.from(input));
      return `${input}.${Buffer.from(signature).toString("base64url")}`;
    },
  };
}

/** With DPOP=true: a DPoP-bound token of reporting-service, used with its key, then by a thief without it. */
async function stolenToken(chargeId) {
  heading("A DPoP-bound token, stolen (DPOP=true)");
  const secret = readFileSync(REPORTING_SECRET_FILE, "utf8").trim();
  const key = await dpopKey();
  const tokenUrl = `${AUTH}/token`;
  const ask = async (nonce) =>
    call(tokenUrl, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${REPORTING_ID}:${encodeURIComponent(secret)}`).toString("base64")}`,
        dpop: await key.proof("POST", tokenUrl, { nonce }),
      },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: "charge:read" }),
    });
  step("(1)", `reporting-service → auth-server: POST /token with a DPoP proof of its key ${key.jkt}`);
  let tokenRes = await ask();
  if (tokenRes.body?.error === "use_dpop_nonce") {
    detail("auth-server: 400 use_dpop_nonce with a DPoP-Nonce; once more with it");
    tokenRes = await ask(tokenRes.headers.get("dpop-nonce"));
  }
  if (!expectThat(tokenRes.body?.token_type === "DPoP", `a DPoP-bound token (got ${tokenRes.status} ${json(tokenRes.body)})`)) return;
  const token = tokenRes.body.access_token;
  step("(3)", `token_type DPoP, cnf ${json(decodeJwt(token).payload.cnf)}`);
  const url = `${PAYMENT}/charges/${encodeURIComponent(chargeId)}`;
  const proof = await key.proof("GET", url, { accessToken: token });
  const owner = await call(url, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
  step("(5)", `with its key, reporting-service reads the charge: ${owner.status}`);
  expectThat(owner.status === 200, `the owner reads the charge (got ${owner.status})`);
  const thief = await dpopKey();
  const attempts = [
    ["as a Bearer token", { authorization: `Bearer ${token}` }, "invalid_token"],
    ["with a proof of the thief's own key", { authorization: `DPoP ${token}`, dpop: await thief.proof("GET", url, { accessToken: token }) }, "invalid_token"],
    ["with the copied proof", { authorization: `DPoP ${token}`, dpop: proof }, "invalid_dpop_proof"],
  ];
  for (const [what, headers, error] of attempts) {
    const res = await call(url, { headers });
    step("", `a thief, ${what} → ${res.status}  WWW-Authenticate: ${res.headers.get("www-authenticate")}`);
    expectThat(res.status === 401 && res.body?.error === error, `${what}: 401 ${error} (got ${res.status})`);
  }
}

say(bold(`Client credentials, end to end, in Docker${DPOP ? ", with DPoP" : ""}: order-service → auth-server → payment-service`));
try {
  await discovery();
  const chargeId = await placeOrder();
  const reportingToken = await reportingClient(chargeId);
  await refusals(reportingToken);
  if (DPOP && chargeId) await stolenToken(chargeId);
} catch (error) {
  failures.push(error instanceof Error ? error.message : String(error));
}

say();
say("Each service logs its side of every step as one JSON line (token.issued with the checks that passed,");
say("token.verified with what payment-service checked, charge.created, order.settled):");
say(`    docker compose logs auth-server order-service payment-service | grep -E '"msg":"(token|charge|order)\\.'`);
say("The same steps, drawn from the apps' traces as a sequence diagram with the token and every check:");
say("    docker compose logs picture    # prints the URL of the page (http://127.0.0.1:4003/ by default)");
heading(failures.length === 0 ? green("Every step happened as it should.") : red("Some steps did not happen as they should:"));
for (const failure of failures) say(red(`  ✗ ${failure}`));
process.exitCode = failures.length === 0 ? 0 : 1;
