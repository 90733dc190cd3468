# Sourced by docker/smoke-test.sh and docker/smoke-test-scaled.sh, from the
# repository root: what both need to drive a Compose stack and report on it.
# Set before sourcing: SMOKE (the name in messages), HEALTH_TIMEOUT (s),
# LOG_TAIL (lines per service shown on failure) and COMPOSE_FILES (an array
# of `-f file` arguments, empty for docker-compose.yml).

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose=(docker-compose)
else
  echo "$SMOKE: neither 'docker compose' nor 'docker-compose' is available" >&2
  exit 1
fi
compose+=("${COMPOSE_FILES[@]}")
docker info >/dev/null 2>&1 || { echo "$SMOKE: no Docker engine answers (docker info failed)" >&2; exit 1; }

# A port on 127.0.0.1 that nothing listens on, below the ephemeral range (see scripts/free-port.mjs).
free_port() { node --input-type=module -e 'import { freePort } from "./scripts/free-port.mjs"; console.log(await freePort());'; }

passed=0
started=$SECONDS
step() { printf '\n── %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf '  ✓ %s\n' "$*"; }
fail() {
  printf '  ✗ %s\n' "$*" >&2
  printf '\n%s: %d passed, 1 failed\n' "$SMOKE" "$passed" >&2
  exit 1
}
dc() { timeout 300 "${compose[@]}" "$@"; }
container() { "${compose[@]}" ps -q "$1"; }

# On exit, pass or fail: the services' last log lines if it failed, then the stack down with its volumes.
finish() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "── logs (last $LOG_TAIL lines per service)" >&2
    "${compose[@]}" logs --no-color --tail="$LOG_TAIL" >&2 || true
  fi
  timeout 120 "${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
  printf '%s: took %ds\n' "$SMOKE" "$((SECONDS - started))"
  exit "$status"
}
trap finish EXIT

# Waits until each named service's container reports "healthy".
wait_healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT)) service state
  for service in "$@"; do
    while :; do
      state=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$(container "$service")" 2>/dev/null || echo missing)
      [ "$state" = healthy ] && break
      [ "$SECONDS" -lt "$deadline" ] || fail "$service is not healthy after ${HEALTH_TIMEOUT}s (state: $state)"
      sleep 1
    done
  done
}
