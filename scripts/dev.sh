#!/usr/bin/env bash
# The native stack in the background: `make dev` (up) and `make dev-down` (down).
# Loads .env (writing it first when missing); a variable already set in the environment wins.
# Logs go to .dev/logs/<name>.log, each capped and rotated (scripts/capped-log.ts: DEV_LOG_MAX_BYTES, DEV_LOG_KEEP);
# process ids to .dev/*.pid. Everything listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV_DIR=.dev
LOG_DIR="$DEV_DIR/logs"

running() { [ -f "$DEV_DIR/$1.pid" ] && kill -0 "$(cat "$DEV_DIR/$1.pid")" 2>/dev/null; }

wait_ready() { # name url
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$2" 2>/dev/null; then return 0; fi
    if ! running "$1"; then echo "dev: $1 exited; last log lines:" >&2; tail -n 20 "$LOG_DIR/$1.log" >&2; return 1; fi
    sleep 0.2
  done
  echo "dev: $1 not ready at $2 after 20 s; see $LOG_DIR/$1.log" >&2
  return 1
}

start() { # name ready-url command...
  local name="$1" url="$2"; shift 2
  if running "$name"; then echo "dev: $name already running (pid $(cat "$DEV_DIR/$name.pid"))"; return 0; fi
  run_logged "$LOG_DIR/$name.log" "$@"
  echo "$LOGGED_PID" >"$DEV_DIR/$name.pid"
  wait_ready "$name" "$url"
}

stop() { # name
  local name="$1" pid
  [ -f "$DEV_DIR/$name.pid" ] || return 0
  pid="$(cat "$DEV_DIR/$name.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "dev: stopped $name"
  fi
  rm -f "$DEV_DIR/$name.pid"
}

up() {
  . scripts/node24.sh
  . scripts/lib.sh
  bash scripts/make-env.sh >/dev/null
  load_env .env
  mkdir -p "$LOG_DIR"
  export HOST=127.0.0.1
  AUTH_PORT="${AUTH_PORT:-3001}"
  RESOURCE_PORT="${RESOURCE_PORT:-3002}"
  RESOURCE_SESSION_PORT="${RESOURCE_SESSION_PORT:-3003}"
  export JWKS_URI="${JWKS_URI:-http://127.0.0.1:$AUTH_PORT/.well-known/jwks.json}"
  # libuv's thread pool runs the async bcrypt hashes: one thread per core, at least 4 (services/auth/bin/start.sh).
  if [ -z "${UV_THREADPOOL_SIZE:-}" ]; then cores="$(nproc)"; export UV_THREADPOOL_SIZE=$((cores > 4 ? cores : 4)); fi
  node services/auth/src/migrate.ts >"$LOG_DIR/migrate.log" 2>&1 || { cat "$LOG_DIR/migrate.log" >&2; exit 1; }
  OTEL_SERVICE_NAME=auth PORT="$AUTH_PORT" start auth "http://127.0.0.1:$AUTH_PORT/readyz" \
    node --import @authstack/telemetry/tracing services/auth/src/server.ts
  OTEL_SERVICE_NAME=resource PORT="$RESOURCE_PORT" start resource "http://127.0.0.1:$RESOURCE_PORT/readyz" \
    node --import @authstack/telemetry/tracing services/resource/src/server.ts
  # A second resource in session mode, behind /api-session/: the study console compares the two (docs/console.md).
  OTEL_SERVICE_NAME=resource-session PORT="$RESOURCE_SESSION_PORT" VERIFY_MODE=session start resource-session \
    "http://127.0.0.1:$RESOURCE_SESSION_PORT/readyz" node --import @authstack/telemetry/tracing services/resource/src/server.ts

  # The gateway: the same templates as the container, rendered for 127.0.0.1 and the local certificates.
  bash infra/certs/make-certs.sh >/dev/null
  GATEWAY_HTTPS_PORT="${GATEWAY_HTTPS_PORT:-8443}"
  GATEWAY_HTTP_PORT="${GATEWAY_HTTP_PORT:-8080}"
  GATEWAY_HEALTH_PORT="${GATEWAY_HEALTH_PORT:-8081}"
  command -v nginx >/dev/null || { echo "dev: nginx is not installed (apt-get install nginx)" >&2; exit 1; }
  GATEWAY_HTTPS_LISTEN="127.0.0.1:$GATEWAY_HTTPS_PORT" GATEWAY_HTTP_LISTEN="127.0.0.1:$GATEWAY_HTTP_PORT" \
    GATEWAY_HEALTH_LISTEN="127.0.0.1:$GATEWAY_HEALTH_PORT" GATEWAY_PUBLIC_HTTPS_PORT="$GATEWAY_HTTPS_PORT" \
    GATEWAY_PUBLIC_HOST="${GATEWAY_PUBLIC_HOST:-localhost}" \
    AUTH_UPSTREAM="127.0.0.1:$AUTH_PORT" RESOURCE_UPSTREAM="127.0.0.1:$RESOURCE_PORT" \
    RESOURCE_SESSION_UPSTREAM="127.0.0.1:$RESOURCE_SESSION_PORT" CONSOLE_ROOT="$PWD/services/console/public" \
    TLS_CERTIFICATE="$PWD/certs/server.crt" TLS_CERTIFICATE_KEY="$PWD/certs/server.key" \
    LOGIN_RATE="${GATEWAY_LOGIN_RATE:-10r/s}" LOGIN_BURST="${GATEWAY_LOGIN_BURST:-20}" \
    REGISTER_RATE="${GATEWAY_REGISTER_RATE:-5r/s}" REGISTER_BURST="${GATEWAY_REGISTER_BURST:-10}" \
    CONN_LIMIT="${GATEWAY_CONN_LIMIT:-50}" GATEWAY_ACCESS_LOG=/dev/stdout \
    GATEWAY_TRUST_TRACEPARENT="${GATEWAY_TRUST_TRACEPARENT:-off}" \
    GATEWAY_COOKIE_EXCHANGE_CACHE="${GATEWAY_COOKIE_EXCHANGE_CACHE:-1}" \
    node infra/nginx/render.ts "$PWD/$DEV_DIR/nginx" >/dev/null
  nginx -t -q -c "$PWD/$DEV_DIR/nginx/nginx.conf" -p "$PWD/$DEV_DIR/nginx" 2>"$LOG_DIR/nginx-test.log" || {
    cat "$LOG_DIR/nginx-test.log" >&2; exit 1; }
  start gateway "http://127.0.0.1:$GATEWAY_HEALTH_PORT/healthz" nginx -c "$PWD/$DEV_DIR/nginx/nginx.conf" -p "$PWD/$DEV_DIR/nginx"

  cat <<URLS
dev: the native stack is up (stop with: make dev-down)
  gateway   https://localhost:$GATEWAY_HTTPS_PORT   (trust certs/ca.crt; http://localhost:$GATEWAY_HTTP_PORT redirects)
  auth      http://127.0.0.1:$AUTH_PORT        (direct; JWKS: /.well-known/jwks.json, metrics: /metrics)
  resource  http://127.0.0.1:$RESOURCE_PORT        (direct; GET /api/protected, /api/admin; metrics: /metrics)
  resource  http://127.0.0.1:$RESOURCE_SESSION_PORT        (session mode; through the gateway at /api-session/)
  console   https://localhost:$GATEWAY_HTTPS_PORT/console/   (the study console: docs/console.md)
logs: $PWD/$LOG_DIR/{auth,resource,resource-session,gateway}.log (the gateway's: its access log)
      $(node scripts/capped-log.ts --describe) (DEV_LOG_MAX_BYTES, DEV_LOG_KEEP)
      follow one: tail -F $LOG_DIR/auth.log
try: curl --cacert certs/ca.crt https://localhost:$GATEWAY_HTTPS_PORT/api/public
URLS
}

down() {
  stop gateway
  stop resource-session
  stop resource
  stop auth
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
