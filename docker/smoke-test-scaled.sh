#!/usr/bin/env bash
# `npm run test:compose`, second part: the scaled stack (docker-compose.scaled.yml),
# two instances of each app on PostgreSQL 17 and Redis 8, end to end.
#
# Uses the images the first part built (the build is a cache hit), starts the
# stack under its own project name on free loopback ports, waits for health,
# then checks: both auth-server instances publish one JWK Set from one key;
# orders placed through both order-service instances are paid, and the
# ledger in PostgreSQL has one charge per order; with one order-service
# instance killed, the other takes orders and settles them; the demo passes.
# Everything is brought down with its volumes at the end, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_TIMEOUT=${BUILD_TIMEOUT:-1800}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-180}

export COMPOSE_PROJECT_NAME=m2m-smoke-scaled
SMOKE="smoke (scaled)"
LOG_TAIL=40
COMPOSE_FILES=(-f docker-compose.scaled.yml)
# shellcheck source=docker/smoke-lib.sh
source docker/smoke-lib.sh

ORDER_SERVICE_PORT=$(free_port)
ORDER_SERVICE_2_PORT=$(free_port)
AUTH_SERVER_PORT=$(free_port)
export ORDER_SERVICE_PORT ORDER_SERVICE_2_PORT AUTH_SERVER_PORT
ORDER_URLS=("http://127.0.0.1:${ORDER_SERVICE_PORT}" "http://127.0.0.1:${ORDER_SERVICE_2_PORT}")
APPS=(auth-server-1 auth-server-2 payment-service-1 payment-service-2 order-service-1 order-service-2)

# POSTs N orders to each URL given; prints {"paid": n, "ids": [...]}; fails unless every one is paid.
place_orders() {
  node --input-type=module -e '
    const [count, ...bases] = process.argv.slice(1);
    const call = async (url, init) => {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15000) });
      return { status: res.status, body: await res.json() };
    };
    const ids = [];
    for (const base of bases) {
      for (let i = 0; i < Number(count); i++) {
        const created = await call(`${base}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ customerId: "cus_scaled", amount: 1299, currency: "EUR" }),
        });
        if (![201, 202].includes(created.status)) { console.log(JSON.stringify(created)); process.exit(1); }
        ids.push([base, created.body.id]);
      }
    }
    let paid = 0;
    for (const [base, id] of ids) {
      let order;
      for (let i = 0; i < 60; i++) {
        order = (await call(`${base}/orders/${id}`)).body;
        if (order.status !== "pending") break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      if (order.status === "paid") paid++;
    }
    console.log(JSON.stringify({ paid, ids: ids.map(([, id]) => id) }));
    process.exit(paid === ids.length ? 0 : 1);
  ' "$@"
}

psql_in() { dc exec -T postgres psql -U m2m -d "$1" -tAc "$2"; }

step "build the images (cached from the one-instance stack)"
build_log=$(mktemp)
if ! timeout "$BUILD_TIMEOUT" "${compose[@]}" build >"$build_log" 2>&1; then
  tail -n 80 "$build_log" >&2
  fail "the images did not build within ${BUILD_TIMEOUT}s"
fi
rm -f "$build_log"
ok "built in $((SECONDS - started))s"

step "start PostgreSQL, Redis and two instances of each app"
dc up -d --no-build postgres redis "${APPS[@]}" || fail "the stack did not start"
wait_healthy postgres redis "${APPS[@]}"
ok "postgres, redis and six app instances are healthy"

step "both auth-server instances publish one JWK Set, from one key"
jwks=()
for service in auth-server-1 auth-server-2; do
  jwks+=("$(dc exec -T "$service" node -e 'fetch("http://127.0.0.1:4000/.well-known/jwks.json").then((r) => r.json()).then((j) => console.log(j.keys.map((k) => k.kid).sort().join(",")))')")
done
[ -n "${jwks[0]}" ] && [ "${jwks[0]}" = "${jwks[1]}" ] || fail "the instances publish different keys: ${jwks[*]}"
[ "$(psql_in auth 'SELECT count(*) FROM signing_keys')" = 1 ] || fail "not exactly one signing key in PostgreSQL"
# a JWK in clear would hold "kty"; the sealed bytes do not
[ "$(psql_in auth "SELECT count(*) FROM signing_keys WHERE position(convert_to('\"kty\"', 'UTF8') in private_jwk) > 0")" = 0 ] || fail "a private key is stored in clear"
ok "one key, $(echo "${jwks[0]}" | cut -c1-12)…, at both; sealed in the database"

step "orders through both order-service instances"
result=$(place_orders 5 "${ORDER_URLS[@]}") || fail "not every order was paid: $result"
charges=$(psql_in payments 'SELECT count(*), count(DISTINCT order_id) FROM charges')
[ "$charges" = "10|10" ] || fail "the ledger should hold 10 charges for 10 orders, holds: $charges"
ok "10 paid, 10 charges for 10 orders in the ledger"

step "one order-service instance killed: the other takes orders and settles them"
dc kill -s SIGKILL order-service-1 >/dev/null || fail "could not kill order-service-1"
result=$(place_orders 3 "${ORDER_URLS[1]}") || fail "orders through order-service-2 were not paid: $result"
dc start order-service-1 >/dev/null && wait_healthy order-service-1
ok "paid through order-service-2 while order-service-1 was down; order-service-1 back"

step "the demo"
dc run --rm -T demo || fail "the demo reported a failure"
ok "the demo ran every step"

printf '\nsmoke (scaled): %d passed, 0 failed\n' "$passed"
