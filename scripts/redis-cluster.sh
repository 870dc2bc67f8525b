#!/usr/bin/env bash
# A three-primary Redis Cluster on this machine, for `make test-cluster` (docs/testing.md):
#   scripts/redis-cluster.sh start   three `redis-server --cluster-enabled yes` on 127.0.0.1:7101-7103, the cluster
#                                    created over them (no replicas), then waits for cluster_state:ok. Idempotent:
#                                    a cluster already up and ok is left as it is.
#   scripts/redis-cluster.sh stop    stops those three servers (by their pid files) and removes their data.
#   scripts/redis-cluster.sh nodes   prints the seed list for REDIS_CLUSTER_NODES.
# Nothing is persisted (no RDB, no AOF); data lives under $REDIS_CLUSTER_DIR (default /tmp/authstack-cluster).
set -euo pipefail

PORTS=(${REDIS_CLUSTER_PORTS:-7101 7102 7103})
DIR="${REDIS_CLUSTER_DIR:-/tmp/authstack-cluster}"
HOST=127.0.0.1

die() { echo "redis-cluster: $*" >&2; exit 1; }
cli() { redis-cli -h "$HOST" -p "$1" "${@:2}"; }
nodes() { local IFS=,; local list=(); for p in "${PORTS[@]}"; do list+=("$HOST:$p"); done; echo "${list[*]}"; }
state_ok() { cli "${PORTS[0]}" cluster info 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok'; }

start() {
  command -v redis-server >/dev/null || die "redis-server is not installed (Debian: apt-get install redis-server)"
  if state_ok; then echo "redis-cluster: already up on $(nodes)"; return; fi
  for port in "${PORTS[@]}"; do
    mkdir -p "$DIR/$port"
    if [ "$(cli "$port" ping 2>/dev/null)" != "PONG" ]; then
      # A server left half-made by an earlier run: start it from scratch.
      rm -f "$DIR/$port/nodes.conf"
      redis-server --port "$port" --bind "$HOST" --daemonize yes --cluster-enabled yes \
        --cluster-config-file "$DIR/$port/nodes.conf" --cluster-node-timeout 5000 \
        --dir "$DIR/$port" --pidfile "$DIR/$port/redis.pid" --logfile "$DIR/$port/redis.log" \
        --save "" --appendonly no >/dev/null || die "could not start redis-server on port $port"
    fi
  done
  for port in "${PORTS[@]}"; do
    for _ in $(seq 1 50); do [ "$(cli "$port" ping 2>/dev/null)" = "PONG" ] && break; sleep 0.1; done
    [ "$(cli "$port" ping 2>/dev/null)" = "PONG" ] || die "redis-server on port $port does not answer (see $DIR/$port/redis.log)"
  done
  local assigned
  assigned=$(cli "${PORTS[0]}" cluster info | tr -d '\r' | sed -n 's/^cluster_slots_assigned://p')
  if [ "$assigned" = "0" ]; then
    local seeds=()
    for port in "${PORTS[@]}"; do seeds+=("$HOST:$port"); done
    redis-cli --cluster create "${seeds[@]}" --cluster-replicas 0 --cluster-yes >"$DIR/create.log" 2>&1 \
      || { cat "$DIR/create.log" >&2; die "redis-cli --cluster create failed"; }
  fi
  for _ in $(seq 1 100); do state_ok && break; sleep 0.1; done
  state_ok || die "the cluster did not reach cluster_state:ok (stop it and start again: $0 stop && $0 start)"
  echo "redis-cluster: up on $(nodes)"
}

stop() {
  for port in "${PORTS[@]}"; do
    local pidfile="$DIR/$port/redis.pid"
    if [ -f "$pidfile" ]; then
      local pid
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  rm -rf "$DIR"
  echo "redis-cluster: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  nodes) nodes ;;
  *) die "usage: $0 start|stop|nodes" ;;
esac
