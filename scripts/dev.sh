#!/usr/bin/env bash
# The native stack in the background: `make dev` (up) and `make dev-down` (down).
# Loads .env (writing it first when missing); a variable already set in the environment wins.
# Logs go to .dev/logs/, process ids to .dev/*.pid. Everything listens on 127.0.0.1.
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
  nohup "$@" >"$LOG_DIR/$name.log" 2>&1 &
  echo $! >"$DEV_DIR/$name.pid"
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
  [ -f .env ] || bash scripts/make-env.sh
  load_env .env
  mkdir -p "$LOG_DIR"
  export HOST=127.0.0.1
  AUTH_PORT="${AUTH_PORT:-3001}"
  RESOURCE_PORT="${RESOURCE_PORT:-3002}"
  export JWKS_URI="${JWKS_URI:-http://127.0.0.1:$AUTH_PORT/.well-known/jwks.json}"
  node services/auth/src/migrate.ts >"$LOG_DIR/migrate.log" 2>&1 || { cat "$LOG_DIR/migrate.log" >&2; exit 1; }
  PORT="$AUTH_PORT" start auth "http://127.0.0.1:$AUTH_PORT/readyz" node services/auth/src/server.ts
  PORT="$RESOURCE_PORT" start resource "http://127.0.0.1:$RESOURCE_PORT/readyz" node services/resource/src/server.ts
  cat <<URLS
dev: the native stack is up (logs in $LOG_DIR/, stop with: make dev-down)
  auth      http://127.0.0.1:$AUTH_PORT      (JWKS: /.well-known/jwks.json, metrics: /metrics)
  resource  http://127.0.0.1:$RESOURCE_PORT      (GET /api/protected, /api/admin; metrics: /metrics)
URLS
}

down() {
  stop resource
  stop auth
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
