#!/usr/bin/env bash
# Recreates the gateway when a service behind it was (re)started after it: nginx resolves auth's and the resources'
# names once, when it starts, so a recreated service (new container, possibly a new address on the backend network)
# would otherwise be called at its old address. The exporter of the observability profile lives in the gateway's
# network namespace and is recreated with it. Does nothing when no gateway runs or none of them is newer.
#
# Usage: scripts/gateway-refresh.sh <the compose arguments of the stack> (as scripts/stack-files.sh prints them)
set -euo pipefail
cd "$(dirname "$0")/.."

started() { docker inspect --format '{{.State.StartedAt}}' "$1" 2>/dev/null || true; }
gateway="$(docker compose "$@" ps --status running -q gateway 2>/dev/null | head -n 1 || true)"
[ -n "$gateway" ] || exit 0
since="$(started "$gateway")"
[ -n "$since" ] || exit 0
stale=
for service in auth resource resource-session; do
  for id in $(docker compose "$@" ps --status running -q "$service" 2>/dev/null || true); do
    # RFC 3339 times in UTC from the same engine compare as strings.
    [[ "$(started "$id")" > "$since" ]] && stale="$service"
  done
done
[ -n "$stale" ] || exit 0
services=(gateway)
[ -z "$(docker compose "$@" ps --status running -q nginx-exporter 2>/dev/null || true)" ] || services+=(nginx-exporter)
echo "gateway-refresh: $stale started after the gateway: recreating ${services[*]} so nginx resolves it again"
docker compose "$@" up -d --wait --force-recreate --no-deps "${services[@]}"
