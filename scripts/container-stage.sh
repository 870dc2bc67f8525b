#!/usr/bin/env bash
# The container stage (`make test-containers`; CI runs it after the native tests): the project's own Dockerfiles
# and compose file, run for real.
#   1. a Docker engine with Compose v2 (scripts/docker-setup.sh) and the pinned images, or CI look-alikes of them
#      (scripts/ci-images.sh);
#   2. `make up` unchanged: build, up --wait, the client container's scenarios;
#   3. a plain `docker compose up -d --wait`;
#   4. the drills (infra/container-test): secrets, isolation, Redis auth, database role, ports, tutorial paths, image
#      contents, scaling and failover, Redis and PostgreSQL restarts, auth down; then the observability profile
#      (Prometheus finds every replica, promtool check config), and the traces of a login and of protected calls in
#      its Jaeger; then the ha profile (docker-compose.ha.yml, Redis
#      with Sentinel) and its failover drill: the primary killed under a request loop, figures printed;
#   5. the testcontainers path: the auth suite with no DATABASE_URL / REDIS_URL;
#   6. `make down`, and no container of the project left running.
# It uses a project name and ports of its own, so a stack a developer has up is left alone, and removes its
# containers and volumes at the end (also on failure). On any failure it first prints, for each of its containers
# (the compose project's and the testcontainers the suite started), the state (status, exit code, OOM kill,
# restarts, health) and the last log lines (STAGE_LOG_LINES, default 40), so a crash is explained, not guessed.
# Failure drills (to see that output): STAGE_BREAK=postgres starts PostgreSQL with an invalid setting (make up fails);
# STAGE_KILL_TESTCONTAINERS_POSTGRES_AFTER=N kills the testcontainers' PostgreSQL N seconds into step 4.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
say() { echo "container-stage: [$(($(date +%s) - started))s] $*"; }
die() { echo "container-stage: FAILED: $*" >&2; diagnose; exit 1; }

export COMPOSE_PROJECT_NAME="${STAGE_PROJECT:-authstack-ci}"
# The testcontainers of step 4 carry this label and are kept when stopped, so their logs can be read after a failure.
export AUTHSTACK_TESTCONTAINERS_RUN="$COMPOSE_PROJECT_NAME-$$"
diagnose() {
  bash scripts/stage-diagnose.sh --label "org.authstack.testcontainers-run=$AUTHSTACK_TESTCONTAINERS_RUN" "$COMPOSE_PROJECT_NAME" || true
}
if [ "${STAGE_BREAK:-}" = postgres ]; then
  echo "container-stage: STAGE_BREAK=postgres: PostgreSQL is started with an invalid setting, so the stage fails" >&2
  export COMPOSE_FILE=docker-compose.yml:infra/container-test/break-postgres.yml
fi
export GATEWAY_HTTPS_PORT="${STAGE_HTTPS_PORT:-18443}" GATEWAY_HTTP_PORT="${STAGE_HTTP_PORT:-18080}"
export BACKEND_SUBNET="${STAGE_BACKEND_SUBNET:-172.30.250.0/24}" GATEWAY_BACKEND_IP="${STAGE_GATEWAY_IP:-172.30.250.10}"
export BACKEND_IP_RANGE="${STAGE_BACKEND_IP_RANGE:-172.30.250.128/25}"
export PROMETHEUS_PORT="${STAGE_PROMETHEUS_PORT:-19090}" GRAFANA_PORT="${STAGE_GRAFANA_PORT:-13000}" JAEGER_UI_PORT="${STAGE_JAEGER_PORT:-16687}"
# Builds behind a TLS-intercepting proxy (as on CI's machines) need the system's CA bundle for npm ci.
if [ -z "${BUILD_CA_FILE:-}" ] && [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  export BUILD_CA_FILE=/etc/ssl/certs/ca-certificates.crt
fi

cleanup() {
  local kept; kept="$(docker ps -aq --filter "label=org.authstack.testcontainers-run=$AUTHSTACK_TESTCONTAINERS_RUN" 2>/dev/null || true)"
  [ -z "$kept" ] || docker rm -f -v $kept >/dev/null 2>&1 || true
  docker compose --profile tools --profile load --profile observability down -v --remove-orphans >/dev/null 2>&1 || true
  # the ha profile's volumes are declared in its own file
  COMPOSE_FILE=docker-compose.yml:docker-compose.ha.yml docker compose down -v --remove-orphans >/dev/null 2>&1 || true
}
trap cleanup EXIT

say "engine"
bash scripts/docker-setup.sh || die "no Docker engine"
say "images"
bash scripts/ci-images.sh || die "the pinned images or their look-alikes"
cleanup

. scripts/node24.sh

say "1. make up (build, up --wait, the client container's scenarios)"
make up || die "make up"

say "2. a plain docker compose up -d --wait"
docker compose up -d --wait || die "docker compose up -d --wait"

say "3. the drills"
node --import tsx --test --test-reporter=spec --test-timeout=600000 infra/container-test/stack.drills.test.ts \
  || die "the drills"

# The observability profile's services that run here (Grafana has no image: checked statically); add new ones here.
OBSERVABILITY_SERVICES=(prometheus nginx-exporter blackbox-exporter jaeger gateway-log)
say "3b. the observability profile: ${OBSERVABILITY_SERVICES[*]}"
docker compose --profile observability up -d --wait "${OBSERVABILITY_SERVICES[@]}" || die "the observability profile"
node --import tsx --test --test-reporter=spec --test-timeout=300000 infra/container-test/observability.profile.test.ts \
  || die "the observability profile's checks"
# Then as `make observe` runs it: docker-compose.observability.yml on top recreates auth and both resources with
# tracing on (after the metrics checks: recreated, they start their counters from zero). nginx resolves the services'
# names when it starts, and the exporter lives in its network namespace: both are recreated after them.
say "3b. traces: the stack recreated with docker-compose.observability.yml, a login and protected calls in Jaeger"
observe() { docker compose -f docker-compose.yml -f docker-compose.observability.yml --profile observability "$@"; }
observe up -d --wait "${OBSERVABILITY_SERVICES[@]}" auth resource resource-session || die "the stack with tracing on"
observe up -d --wait --force-recreate --no-deps gateway nginx-exporter || die "the gateway after the services"
node --import tsx --test --test-reporter=spec --test-timeout=300000 infra/container-test/traces.profile.test.ts \
  || die "the traces (test-results/container-stage/traces.txt)"
COMPOSE_FILE=docker-compose.yml:docker-compose.observability.yml node --import tsx --test --test-reporter=spec \
  --test-timeout=300000 infra/container-test/gateway-log.profile.test.ts || die "the gateway's responses counted (gateway-log)"

say "3c. the ha profile (Redis with Sentinel) and the failover drill"
docker compose --profile observability down --remove-orphans >/dev/null || die "down before the ha profile"
(
  export COMPOSE_FILE=docker-compose.yml:docker-compose.ha.yml
  # The drill is about Redis: cheap hashes and raised login and register limits keep its loop from queueing on bcrypt or
  # meeting the limits meant for humans (its failures are then the failover's).
  export BCRYPT_COST=4 BCRYPT_MAX_PER_CLIENT=64 BCRYPT_QUEUE_BUDGET_MS=10000 REGISTER_MAX_PER_IP_PER_HOUR=1000 \
    LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR=1000 GATEWAY_LOGIN_RATE=100r/s GATEWAY_LOGIN_BURST=200 \
    GATEWAY_REGISTER_RATE=100r/s GATEWAY_REGISTER_BURST=200
  docker compose up -d --wait || exit 1
  node --import tsx --test --test-reporter=spec --test-timeout=300000 infra/container-test/redis-failover.drill.test.ts
) || die "the ha profile's failover drill"

say "4. the testcontainers path: the auth suite without DATABASE_URL and REDIS_URL"
if [ -n "${STAGE_KILL_TESTCONTAINERS_POSTGRES_AFTER:-}" ]; then
  (
    for _ in $(seq 1 240); do
      id="$(docker ps -q --filter "label=org.authstack.testcontainers-run=$AUTHSTACK_TESTCONTAINERS_RUN" --filter ancestor=postgres:16.6-alpine)"
      [ -n "$id" ] && break; sleep 0.5
    done
    sleep "$STAGE_KILL_TESTCONTAINERS_POSTGRES_AFTER"
    echo "container-stage: STAGE_KILL_TESTCONTAINERS_POSTGRES_AFTER: killing the testcontainers' PostgreSQL $id" >&2
    docker kill "$id" >/dev/null
  ) &
fi
(
  unset DATABASE_URL REDIS_URL
  export TESTCONTAINERS_RYUK_DISABLED=true AUTHSTACK_TESTCONTAINERS_KEEP=1
  node --import tsx --test --test-global-setup=packages/testing/src/global-setup.ts --test-concurrency=2 \
    --test-timeout=120000 "services/auth/test/**/*.test.ts"
) || die "the auth suite on testcontainers"
kept="$(docker ps -aq --filter "label=org.authstack.testcontainers-run=$AUTHSTACK_TESTCONTAINERS_RUN")"
[ -z "$kept" ] || docker rm -f -v $kept >/dev/null

say "5. make down"
make down || die "make down"
left="$(docker ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")"
[ -z "$left" ] || die "containers still running after make down: $left"
say "passed in $(($(date +%s) - started)) s"
