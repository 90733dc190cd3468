// `npm run demo`: starts the three apps as separate processes, places orders,
// and narrates the five steps of the client credentials flow from what the
// apps really logged. Exits non-zero if any step did not happen as it should.
// `npm run demo -- --dpop`: the same with DPoP-bound tokens (RFC 9449), and a
// stolen token that is worth nothing without its key.
// The apps export their spans to this script (OTLP/HTTP on loopback), and it
// draws the run as one HTML page: `--picture <file>` says where (default: a
// file in the temp folder); its path is printed at the end.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { generateDPoPKey } from "@m2m/token-client";
import { exportTo, startOtlpReceiver } from "./otlp-receiver.mjs";
import { renderRunPicture } from "./run-picture.mjs";
import { startStack } from "./stack.mjs";

const verbose = process.argv.includes("--verbose");
const dpop = process.argv.includes("--dpop");
const pictureArg = process.argv.indexOf("--picture");
const picturePath = resolve(pictureArg === -1 ? join(tmpdir(), "m2m-demo", "run.html") : (process.argv[pictureArg + 1] ?? ""));
const tty = process.stdout.isTTY;
/** @param {number} code @returns {(text: string) => string} */
const style = (code) => (text) => (tty ? `\u001b[${code}m${text}\u001b[0m` : text);
const bold = style(1);
const dim = style(2);
const green = style(32);
const red = style(31);

/** @type {string[]} */
const failures = [];
/** @param {boolean} ok @param {string} what */
function expectThat(ok, what) {
  if (!ok) failures.push(what);
  return ok;
}
/** @param {string} text */
const say = (text = "") => console.log(text);
/** @param {string} text */
const heading = (text) => say(`\n${bold(`━━ ${text}`)}`);
/** @param {string} step @param {string} text */
const step = (step, text) => say(`${bold(step.padEnd(4))}${text}`);
/** @param {string} text */
const detail = (text) => say(`    ${text}`);
/** @param {string[]} checks */
const ticks = (checks) => checks.forEach((check) => detail(`${green("✓")} ${check}`));
/** @param {unknown} value */
const json = (value) => JSON.stringify(value);

const dataRoot = mkdtempSync(join(tmpdir(), "m2m-demo-"));
say(bold(`Client credentials, end to end${dpop ? ", with DPoP-bound tokens" : ""}: order-service → auth-server → payment-service`));
say(dim(`starting the three apps as separate processes (data in ${dataRoot})…`));

// the apps' spans come here, to be drawn once the run is over
const receiver = await startOtlpReceiver();
const signals = exportTo(receiver.url);
const stack = await startStack({
  dataDirs: { auth: join(dataRoot, "auth"), order: join(dataRoot, "order"), payment: join(dataRoot, "payment") },
  env: {
    "auth-server": signals,
    // at debug, payment-service also logs the checks of a token served from its cache (order 2)
    "payment-service": { ...signals, LOG_LEVEL: "debug" },
    "order-service": { ...signals, ...(dpop ? { CLIENT_DPOP: "true" } : {}) },
  },
  onLog: verbose ? (line) => say(dim(JSON.stringify(line))) : undefined,
});
const { logs, urls } = stack;
say(dim(`auth-server ${urls.auth} · payment-service ${urls.payment} · order-service ${urls.order}`));

/**
 * Waits until a log line matching the filter arrives at or after `from`.
 * @param {number} from
 * @param {string} service
 * @param {string} msg
 * @param {(line: import("./stack.mjs").LogLine) => boolean} [where]
 * @param {number} [timeoutMs]
 */
async function logged(from, service, msg, where = () => true, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = logs.slice(from).find((l) => l.service === service && l.msg === msg && where(l));
    if (line || Date.now() > deadline) return line;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
/** @param {string} service @param {string} msg */
const count = (service, msg) => logs.filter((l) => l.service === service && l.msg === msg).length;

/**
 * The scenes of the run, each one trace: every call the demo makes while a
 * scene is on carries a W3C `traceparent` of the scene's trace id, so the
 * apps' spans of that scene all land in it, and the picture finds them.
 * @type {{ title: string, note: string, traceId: string }[]}
 */
const scenes = [];
/** @param {string} title @param {string} note */
function beginScene(title, note) {
  heading(title);
  scenes.push({ title, note, traceId: randomBytes(16).toString("hex") });
}

/** @param {string} url @param {RequestInit} init */
async function call(url, init) {
  const scene = scenes.at(-1);
  const traceparent = scene ? { traceparent: `00-${scene.traceId}-${randomBytes(8).toString("hex")}-01` } : {};
  const headers = { ...traceparent, .../** @type {Record<string, string>} */ (init.headers ?? {}) };
  const res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

/**
 * Steps 2 and 3 as the auth server logged them.
 * @param {import("./stack.mjs").LogLine | undefined} issued
 */
function narrateIssuance(issued) {
  if (!expectThat(issued !== undefined, "auth-server logged token.issued")) return;
  const i = /** @type {any} */ (issued);
  step("(2)", "auth-server checks the client and what it asks for:");
  ticks(Array.isArray(i.checks) ? i.checks : []);
  step("(3)", `auth-server issues a signed JWT access token, valid ${i.expires_in} s${i.dpop ? `, bound to the key ${i.dpop.jkt} (cnf.jkt)` : ""}:`);
  detail(`header ${json(i.header)}`);
  detail(`claims ${json(i.claims)}`);
}

/**
 * Steps 4 and 5 for an order, as order-service and payment-service logged them.
 * @param {number} from
 * @param {string} orderId
 */
async function narrateCharge(from, orderId) {
  const requested = /** @type {any} */ (await logged(from, "order-service", "charge.requested", (l) => l.order_id === orderId));
  if (expectThat(requested !== undefined, "order-service logged charge.requested")) {
    step("(4)", `order-service → payment-service: POST /charge`);
    detail(`Authorization: ${requested.scheme} <token ${requested.token}>   Idempotency-Key: ${orderId}`);
    if (requested.dpop_proof) detail("DPoP: <a new proof for this request and this token: htm POST, htu …/charge, ath, signed by order-service's key>");
  }
  const verified = /** @type {any} */ (await logged(from, "payment-service", "token.verified"));
  if (expectThat(verified !== undefined, "payment-service logged token.verified")) {
    step("(5)", "payment-service validates the token before it does anything:");
    ticks(Array.isArray(verified.checks) ? verified.checks : []);
  }
  const charged = /** @type {any} */ (await logged(from, "payment-service", "charge.created", (l) => l.order_id === orderId));
  if (expectThat(charged !== undefined, "payment-service logged charge.created")) {
    detail(`→ charge ${charged.charge_id}: ${charged.amount} ${charged.currency} ${charged.status}`);
  }
}

/**
 * Places one order through order-service and narrates what happened.
 * @param {string} title
 * @param {{ customerId: string, amount: number, currency: string }} order
 * @param {boolean} expectFetch whether a token request is expected
 */
async function placeOrder(title, order, expectFetch) {
  beginScene(
    title,
    expectFetch
      ? "order-service has no token yet: it asks auth-server for one (steps 1 to 3), then charges with it (steps 4 and 5)."
      : "order-service reuses the token it holds: auth-server is not asked, and payment-service checks the token again.",
  );
  const from = logs.length;
  const issuedBefore = count("auth-server", "token.issued");
  step("", `POST ${urls.order}/orders ${json(order)}`);
  const res = await call(`${urls.order}/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(order),
  });
  const orderId = typeof res.body === "object" && res.body ? String(res.body.id) : "";
  const created = await logged(from, "order-service", "order.created");
  if (created) detail(dim(`order-service stored order ${orderId} as pending before calling anyone`));

  if (expectFetch) {
    const fetched = /** @type {any} */ (await logged(from, "order-service", "token.fetched"));
    const issued = /** @type {any} */ (await logged(from, "auth-server", "token.issued"));
    if (expectThat(fetched !== undefined && issued !== undefined, "order-service fetched a token from auth-server")) {
      step("(1)", "order-service has no token yet → auth-server: POST /token");
      const requested = issued.requested ?? {};
      const target = requested.resource ? `resource=${requested.resource}` : `audience=${requested.audience ?? fetched.audience}`;
      detail(
        `grant_type=${issued.grant_type}  scope=${requested.scope ?? fetched.scope}  ${target}  (client authentication: ${issued.auth_method}, client_id=${issued.client_id})`,
      );
      if (dpop && expectThat(fetched.dpop !== undefined, "order-service asked for a DPoP-bound token")) {
        detail(`DPoP: <a proof signed by order-service's key ${fetched.dpop.jkt}: made at start, only its public half ever leaves>`);
        if (fetched.dpop.nonce_retried) {
          const nonced = logs.slice(from).find((l) => l.service === "auth-server" && l.msg === "token.refused" && l.error === "use_dpop_nonce");
          detail(`auth-server: ${nonced ? "400 use_dpop_nonce" : "asked for its nonce"}, with a DPoP-Nonce; order-service sent the request once more, its new proof carrying it`);
        }
      }
    }
    narrateIssuance(issued);
  } else {
    const reused = /** @type {any} */ (await logged(from, "order-service", "token.reused"));
    const asked = count("auth-server", "token.issued") - issuedBefore;
    if (expectThat(reused !== undefined && asked === 0, "order-service reused its cached token without asking auth-server")) {
      step("(1)", `skipped, and so are (2) and (3): order-service reuses its cached token ${reused.token}`);
      detail(`(about ${reused.expires_in_remaining} s left); auth-server was not asked`);
    }
  }
  await narrateCharge(from, orderId);
  const ok = expectThat(res.status === 201 && res.body?.status === "paid", `${title}: 201 paid (got ${res.status} ${json(res.body)})`);
  say(`${ok ? green("Result") : red("Result")}: ${res.status} ${json(res.body)}`);
  if (orderId) {
    const readBack = await call(`${urls.order}/orders/${orderId}`, {});
    expectThat(readBack.status === 200 && readBack.body?.status === "paid", "GET /orders/:id shows the order paid");
  }
  return res.body;
}

/**
 * `POST /token` as reporting-service, with a DPoP proof of `key`; once more
 * with the nonce if auth-server asks for it (RFC 9449 §8).
 * @param {import("@m2m/token-client").DPoPKey} key
 */
async function dpopToken(key) {
  const tokenUrl = `${urls.auth}/token`;
  const request = async () =>
    call(tokenUrl, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from("reporting-service:reporting-secret").toString("base64")}`,
        dpop: await key.proof({ htm: "POST", htu: tokenUrl }),
      },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: "charge:read" }).toString(),
    });
  let res = await request();
  if (res.status === 400 && res.body?.error === "use_dpop_nonce") {
    detail(`auth-server: 400 use_dpop_nonce, DPoP-Nonce ${res.headers.get("dpop-nonce")}; once more with it`);
    key.rememberNonce(tokenUrl, res.headers.get("dpop-nonce") ?? "");
    res = await request();
  }
  return res;
}

/**
 * A DPoP-bound token in the wrong hands: reporting-service reads a charge
 * with its token and its key; a thief who copied the token (and even the
 * proof that went with it) gets nothing from it.
 * @param {string} chargeId
 */
async function stolenToken(chargeId) {
  beginScene("A DPoP-bound token, stolen", "reporting-service reads a charge with its DPoP-bound token; a thief with the token, and even its proof, is refused.");
  const key = await generateDPoPKey();
  step("(1)", `reporting-service → auth-server: POST /token (scope=charge:read) with a DPoP proof of its key ${key.jkt}`);
  const tokenRes = await dpopToken(key);
  if (!expectThat(tokenRes.status === 200 && tokenRes.body?.token_type === "DPoP", `reporting-service got a DPoP-bound token (got ${tokenRes.status} ${json(tokenRes.body)})`)) return;
  const token = tokenRes.body.access_token;
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
  step("(3)", `token_type DPoP; the token's cnf is ${json(claims.cnf)}: it is good only with that key`);
  const chargeUrl = `${urls.payment}/charges/${encodeURIComponent(chargeId)}`;
  const read = (/** @type {Record<string, string>} */ headers) => call(chargeUrl, { headers });
  const proof = await key.proof({ htm: "GET", htu: chargeUrl, accessToken: token });
  const owner = await read({ authorization: `DPoP ${token}`, dpop: proof });
  step("(4)", `reporting-service → payment-service: GET /charges/${chargeId}, Authorization: DPoP <token>, DPoP: <proof with ath>`);
  step("(5)", `payment-service checks the token, then the proof against it: ${owner.status}`);
  expectThat(owner.status === 200, `the owner of the token reads the charge (got ${owner.status})`);

  /** @param {string} what @param {{ status: number, headers: Headers, body: any }} res @param {string} error */
  const refused = (what, res, error) => {
    detail(`${red("✗")} ${what} → ${res.status} ${res.body?.error}`);
    detail(`  WWW-Authenticate: ${res.headers.get("www-authenticate")}`);
    expectThat(res.status === 401 && res.body?.error === error, `${what}: 401 ${error} (got ${res.status} ${json(res.body)})`);
  };
  say(`    ${bold("A thief who copied the token tries it:")}`);
  refused("as a Bearer token, without the key", await read({ authorization: `Bearer ${token}` }), "invalid_token");
  const thief = await generateDPoPKey();
  refused(`with a proof of the thief's own key ${thief.jkt}`, await read({ authorization: `DPoP ${token}`, dpop: await thief.proof({ htm: "GET", htu: chargeUrl, accessToken: token }) }), "invalid_token");
  refused("with the proof it copied along with the token (seen before)", await read({ authorization: `DPoP ${token}`, dpop: proof }), "invalid_dpop_proof");
  const reasons = logs.filter((l) => l.service === "payment-service" && l.msg === "token.rejected").slice(-3).map((l) => l.reason ?? l.error_description);
  detail(dim(`payment-service's log says why: ${reasons.map((r) => json(r)).join(", ")}`));
  say(`${green("Result")}: the token is worth nothing without its key`);
}

/** Step 5 saying no: a real token of reporting-service, which may only read charges. */
async function refusedCharge() {
  beginScene("Order 3: a token of reporting-service on /charge", "The demo, as reporting-service, gets a token for charge:read and tries to charge with it: payment-service refuses.");
  const from = logs.length;
  step("(1)", "reporting-service → auth-server: POST /token (client_secret_basic, scope=charge:read)");
  const tokenRes = await call(`${urls.auth}/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from("reporting-service:reporting-secret").toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: "charge:read" }).toString(),
  });
  if (!expectThat(tokenRes.status === 200, `reporting-service got a token (got ${tokenRes.status})`)) return;
  narrateIssuance(await logged(from, "auth-server", "token.issued", (l) => l.client_id === "reporting-service"));
  step("(4)", "reporting-service → payment-service: POST /charge with that token");
  const res = await call(`${urls.payment}/charge`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${tokenRes.body.access_token}`,
      "idempotency-key": "demo-refused-charge",
    },
    body: JSON.stringify({ orderId: "demo-refused", customerId: "cus_1003", amount: 500, currency: "EUR" }),
  });
  step("(5)", "payment-service says no:");
  const challenge = res.headers.get("www-authenticate") ?? "";
  detail(`${res.status} WWW-Authenticate: ${challenge}`);
  detail(`${json(res.body)}`);
  const ok = expectThat(
    res.status === 403 && challenge.includes('error="insufficient_scope"'),
    `the reporting token is refused with 403 insufficient_scope (got ${res.status})`,
  );
  const charged = logs.slice(from).some((l) => l.msg === "charge.created");
  expectThat(!charged, "no charge was made for the refused request");
  say(`${ok && !charged ? green("Result") : red("Result")}: refused, nothing charged`);
}

try {
  const first = await placeOrder("Order 1: the first order needs a token", { customerId: "cus_1001", amount: 1299, currency: "EUR" }, true);
  await placeOrder("Order 2: the cached token is reused", { customerId: "cus_1002", amount: 2599, currency: "EUR" }, false);
  await refusedCharge();
  if (dpop && typeof first?.chargeId === "string") await stolenToken(first.chargeId);
} catch (error) {
  failures.push(error instanceof Error ? error.message : String(error));
} finally {
  // stopping the apps sends the spans they still hold
  await stack.stop();
  await receiver.close();
  rmSync(dataRoot, { recursive: true, force: true });
}

const drawn = scenes.map((scene) => ({ title: scene.title, note: scene.note, spans: receiver.trace(scene.traceId) }));
for (const scene of drawn) expectThat(scene.spans.length > 0, `the apps exported the spans of "${scene.title}"`);
mkdirSync(dirname(picturePath), { recursive: true });
writeFileSync(picturePath, renderRunPicture({ scenes: drawn, generatedAt: new Date() }));
heading("The run as a picture");
say(`${pathToFileURL(picturePath)}   (one HTML file: the five steps of each scene, the token, the checks, from the apps' spans)`);

heading(failures.length === 0 ? green("Every step happened as it should.") : red("Some steps did not happen as they should:"));
for (const failure of failures) say(red(`  ✗ ${failure}`));
process.exitCode = failures.length === 0 ? 0 : 1;
