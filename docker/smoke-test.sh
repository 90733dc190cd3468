#!/usr/bin/env bash
# `npm run test:compose`: the Compose stack, end to end, as a reader would run it.
#
# Builds the images, starts the stack (its own project, its own volumes, free
# loopback ports), waits for health, then checks: an order placed through the
# published port is paid, with a Bearer token; payment-service is not
# published and, from inside the network, refuses a charge without a token or
# with a forged one; the demo passes; a restart keeps the signing keys and the
# orders (volumes); SIGTERM stops every app cleanly.
#
# Then the DPoP pass, with the one documented setting, DPOP=true, on the same
# images and volumes (`up` recreates order-service with CLIENT_DPOP=true): an
# order placed through the published port is paid, its charge verified at
# payment-service with a proof by the key auth-server bound the token to; the
# demo shows a stolen DPoP-bound token refused without its key and with
# another; the picture shows the proof checked.
#
# Everything is brought down with its volumes at the end, pass or fail. Exits
# non-zero on the first failure. Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_TIMEOUT=${BUILD_TIMEOUT:-1800}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-120}

# Its own project and ports, so a stack the reader has running is left alone.
export COMPOSE_PROJECT_NAME=m2m-smoke
SMOKE="smoke"
LOG_TAIL=60
COMPOSE_FILES=()
# shellcheck source=docker/smoke-lib.sh
source docker/smoke-lib.sh

ORDER_SERVICE_PORT=$(free_port)
AUTH_SERVER_PORT=$(free_port)
PICTURE_PORT=$(free_port)
export ORDER_SERVICE_PORT AUTH_SERVER_PORT PICTURE_PORT
ORDER_URL="http://127.0.0.1:${ORDER_SERVICE_PORT}"
AUTH_URL="http://127.0.0.1:${AUTH_SERVER_PORT}"
PICTURE_URL="http://127.0.0.1:${PICTURE_PORT}/"
APPS=(auth-server payment-service order-service)
# the first pass is the default stack, whatever the caller's shell holds
export DPOP=false

# POST an order through the published port; print the settled order, fail unless paid.
place_order() {
  node --input-type=module -e '
    const base = process.argv[1];
    const call = async (path, init) => {
      const res = await fetch(base + path, { ...init, signal: AbortSignal.timeout(15000) });
      return { status: res.status, body: await res.json() };
    };
    const created = await call("/orders", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ customerId: "cus_smoke", amount: 1299, currency: "EUR" }),
    });
    let order = created.body;
    // 202 pending is allowed by the contract; order-service retries, so give it a moment
    for (let i = 0; i < 60 && order.status === "pending"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      order = (await call(`/orders/${order.id}`)).body;
    }
    const readBack = await call(`/orders/${order.id}`);
    console.log(JSON.stringify({ created: created.status, readBack: readBack.status, order: readBack.body }));
    process.exit([201, 202].includes(created.status) && readBack.status === 200 && readBack.body.status === "paid" ? 0 : 1);
  ' "$ORDER_URL"
}

# The order id in place_order's output.
order_id() { node -p 'JSON.parse(process.argv[1]).order.id' "$1"; }

# How payment-service took the charge of order $1, read from the apps' logs
# (req_id ties charge.created to its token.verified); prints what it found and
# fails unless the scheme is $2. A DPoP charge must have been verified with a
# proof by the very key auth-server bound order-service's token to (cnf.jkt).
charged_with() {
  "${compose[@]}" logs --no-color auth-server payment-service | node -e '
    const [orderId, expected] = process.argv.slice(1);
    const lines = require("node:fs").readFileSync(0, "utf8").split("\n").flatMap((line) => {
      try { return [JSON.parse(line.slice(line.indexOf("{")))]; } catch { return []; }
    });
    const charge = lines.find((l) => l.msg === "charge.created" && l.order_id === orderId);
    const verified = charge && lines.find((l) => l.msg === "token.verified" && l.req_id === charge.req_id);
    const jkt = verified?.dpop?.jkt;
    const bound = lines.some((l) => l.msg === "token.issued" && l.client_id === "order-service" && jkt !== undefined && l.claims?.cnf?.jkt === jkt);
    const seen = { charge: charge?.charge_id ?? null, scheme: verified ? (jkt ? "DPoP" : "Bearer") : null, ...(jkt ? { jkt, issued_bound_to_it: bound } : {}) };
    console.log(JSON.stringify(seen));
    process.exit(seen.scheme === expected && (expected !== "DPoP" || bound) ? 0 : 1);
  ' "$1" "$2"
}

# Places an order through the published port; fails unless it is paid and
# payment-service took its charge with scheme $1 (Bearer, or DPoP by the key
# the token is bound to). Sets $order, and $paid: what both checks saw.
order_paid_with() {
  local result charge
  result=$(place_order) || fail "the order was not paid: $result"
  order=$(order_id "$result")
  charge=$(charged_with "$order" "$1") || fail "the charge of order $order was not made as $1 should be: $charge"
  paid="$result $charge"
}

# Starts the three apps (as DPOP is exported) and waits until each is healthy.
start_apps() {
  dc up -d --no-build "${APPS[@]}" || fail "the stack did not start"
  wait_healthy "${APPS[@]}"
}

# Runs the demo container and shows its output, kept in $demo_output; fails if a step of it failed.
run_demo() {
  local status=0
  demo_output=$(dc run --rm -T demo) || status=$?
  printf '%s\n' "$demo_output"
  [ "$status" -eq 0 ] || fail "the demo reported a failure (exit $status)"
}

# GETs the picture through its published port; prints what it lacks, and fails unless it shows every text given.
picture_shows() {
  node --input-type=module -e '
    // the apps send their spans every half second: give the last ones a moment
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const res = await fetch(process.argv[1], { signal: AbortSignal.timeout(10000) });
    const page = await res.text();
    const wanted = process.argv.slice(2);
    const missing = wanted.filter((text) => !page.includes(text));
    console.log(JSON.stringify({ status: res.status, shown: wanted.length - missing.length, missing }));
    process.exit(res.status === 200 && missing.length === 0 ? 0 : 1);
  ' "$PICTURE_URL" "$@"
}

jwks_kids() {
  node -e 'fetch(process.argv[1] + "/.well-known/jwks.json").then((r) => r.json()).then((jwks) => console.log(jwks.keys.map((k) => k.kid).sort().join(",")))' "$AUTH_URL"
}

step "build the images (${compose[*]})"
build_log=$(mktemp)
if ! timeout "$BUILD_TIMEOUT" "${compose[@]}" build >"$build_log" 2>&1; then
  tail -n 80 "$build_log" >&2
  fail "the images did not build within ${BUILD_TIMEOUT}s (the build's last lines are above)"
fi
rm -f "$build_log"
ok "built in $((SECONDS - started))s"

step "start the stack"
start_apps
ok "auth-server, payment-service and order-service are healthy"

step "what is published"
[ -n "$(docker port "$(container order-service)" 4001)" ] || fail "order-service is not published"
[ -z "$(docker port "$(container payment-service)")" ] || fail "payment-service is published to the host: $(docker port "$(container payment-service)")"
ok "order-service on $ORDER_URL; payment-service only inside the network"

step "an order through the published port"
order_paid_with Bearer
first_order=$order
ok "paid, with a Bearer token: $paid"

step "payment-service refuses a charge without a valid token (from inside the network)"
refusals=$(dc run --rm -T --no-deps demo node --input-type=module -e '
  const charge = (headers) => fetch("http://payment-service:4002/charge", {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": "smoke-" + Date.now(), ...headers },
    body: JSON.stringify({ orderId: "smoke", customerId: "cus_smoke", amount: 100, currency: "EUR" }),
    signal: AbortSignal.timeout(10000),
  });
  const header = (part) => Buffer.from(JSON.stringify(part)).toString("base64url");
  const forged = `${header({ alg: "none", typ: "at+jwt" })}.${header({ iss: "http://auth-server:4000", aud: "payment-service", scope: "charge:customer", exp: 4102444800 })}.`;
  const none = await charge({});
  const bad = await charge({ authorization: `Bearer ${forged}` });
  const seen = { none: [none.status, none.headers.get("www-authenticate")], forged: [bad.status, bad.headers.get("www-authenticate")] };
  console.log(JSON.stringify(seen));
  const ok = none.status === 401 && /^Bearer realm=/.test(seen.none[1] ?? "") &&
    bad.status === 401 && /error="invalid_token"/.test(seen.forged[1] ?? "");
  process.exit(ok ? 0 : 1);
') || fail "payment-service did not refuse as the contract says: $refusals"
ok "401 without a token, 401 invalid_token for an unsigned one: $refusals"

step "the demo"
run_demo
ok "the demo ran every step"

step "the picture of the orders, drawn from the apps' traces"
"${compose[@]}" logs --no-color picture | grep -qF "$PICTURE_URL" || fail "the picture service did not print $PICTURE_URL"
picture=$(picture_shows "POST /orders" "token cache: miss" "Checks at auth-server" "Checks at payment-service" "charge succeeded") ||
  fail "the picture does not show the orders: $picture"
ok "$PICTURE_URL shows the orders' steps: $picture"

step "a restart keeps the signing keys and the orders"
kids_before=$(jwks_kids) && [ -n "$kids_before" ] || fail "no JWKS from $AUTH_URL"
dc restart "${APPS[@]}" >/dev/null || fail "the stack did not restart"
wait_healthy "${APPS[@]}"
kids_after=$(jwks_kids) || fail "no JWKS after the restart"
[ "$kids_before" = "$kids_after" ] || fail "the signing keys changed across a restart: $kids_before → $kids_after"
kept=$(node -e 'fetch(process.argv[1]).then((r) => r.json()).then((o) => { console.log(JSON.stringify(o)); process.exit(o.status === "paid" ? 0 : 1); })' \
  "$ORDER_URL/orders/$first_order") || fail "the first order did not survive the restart: $kept"
result=$(place_order) || fail "an order after the restart was not paid: $result"
ok "same keys ($kids_after), the first order still paid, new orders paid"

step "SIGTERM stops every app cleanly"
stop_started=$SECONDS
dc stop -t 10 "${APPS[@]}" >/dev/null || fail "the stack did not stop"
stop_took=$((SECONDS - stop_started))
for service in "${APPS[@]}"; do
  code=$(docker inspect -f '{{.State.ExitCode}}' "$(container "$service")")
  [ "$code" = 0 ] || fail "$service exited with code $code on SIGTERM (137 means it had to be killed)"
done
ok "all three exited 0, in ${stop_took}s"

# The DPoP pass: DPOP=true, as the README documents it, on the stopped stack.
export DPOP=true

step "DPOP=true: the stack again (order-service recreated with CLIENT_DPOP=true)"
start_apps
ok "auth-server, payment-service and order-service are healthy"

step "DPOP=true: an order through the published port, charged with a DPoP-bound token"
order_paid_with DPoP
ok "paid, the token verified at payment-service with a proof by the key auth-server bound it to: $paid"

step "DPOP=true: the demo, and a stolen DPoP-bound token refused without its key and with another"
run_demo
stolen=(
  'token_type DPoP, cnf {"jkt":'
  'with its key, reporting-service reads the charge: 200'
  'a thief, as a Bearer token → 401  WWW-Authenticate: DPoP realm="payment-service", error="invalid_token"'
  "a thief, with a proof of the thief's own key → 401  WWW-Authenticate: DPoP realm=\"payment-service\", error=\"invalid_token\""
  'a thief, with the copied proof → 401  WWW-Authenticate: DPoP realm="payment-service", error="invalid_dpop_proof"'
)
for line in "${stolen[@]}"; do
  grep -qF -- "$line" <<<"$demo_output" || fail "the demo did not show: $line"
done
ok "the owner read the charge with its key; the thief got 401 as Bearer, with its own key, and with the copied proof"

step "DPOP=true: the picture shows the proof checked at payment-service"
picture=$(picture_shows "DPoP proof signed by the token" "DPoP proof htm, htu and ath match this request") ||
  fail "the picture does not show the DPoP checks: $picture"
ok "$PICTURE_URL shows them: $picture"

printf '\nsmoke: %d passed, 0 failed\n' "$passed"
