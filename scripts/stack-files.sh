#!/usr/bin/env bash
# The compose arguments of the container stack that runs, so that the Makefile's targets keep it (make load, up-load,
# observe, seed, unseed, up, up-ha). Prints one line:
#   -f docker-compose.yml [-f docker-compose.ha.yml] [-f docker-compose.observability.yml --profile observability]
#
# Which stack: compose records the files of the command that created a container in its label
# com.docker.compose.project.config_files. It is read from auth's container: every one of these files changes auth
# (the ha file its Redis settings, the observability file its trace export, the load file its limits), so auth is
# recreated whenever the stack changes and its label names the files of the last change. (The gateway is changed by
# neither the ha nor the observability file: compose keeps it, and its old label, across them.) Only the project's
# stack files are kept: docker-compose.load.yml is left out (make load adds it itself), and so is any other file.
# The observability override and its profile are added while the profile runs (Prometheus runs).
# The project is compose's own choice, as for any `docker compose` command here (COMPOSE_PROJECT_NAME, .env).
#
# Usage: scripts/stack-files.sh [running|plain|ha] [--observe]
#   running  the stack that runs, plain or ha (docker-compose.yml alone when none runs); the default
#   plain    docker-compose.yml, whatever runs (make up)
#   ha       docker-compose.yml and docker-compose.ha.yml, whatever runs (make up-ha)
#   --observe  the observability override and profile even when the profile does not run yet (make observe)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=running observe=
for arg in "$@"; do
  case "$arg" in
    running | plain | ha) mode="$arg" ;;
    --observe) observe=1 ;;
    *) echo "stack-files.sh: unknown argument '$arg' (running|plain|ha, --observe)" >&2; exit 2 ;;
  esac
done

# The first running container of a service of this project, or nothing (no Docker, no stack).
running() { docker compose ps --status running -q "$1" 2>/dev/null | head -n 1 || true; }

ha=
if [ "$mode" = ha ]; then
  ha=1
elif [ "$mode" = running ]; then
  id="$(running auth)"
  [ -n "$id" ] || id="$(running gateway)"
  if [ -n "$id" ]; then
    files="$(docker inspect --format '{{ index .Config.Labels "com.docker.compose.project.config_files" }}' "$id" 2>/dev/null || true)"
    IFS=, read -ra paths <<<"$files"
    for path in "${paths[@]}"; do
      [ "${path##*/}" = docker-compose.ha.yml ] && ha=1
    done
  fi
fi
[ -n "$observe" ] || [ -z "$(running prometheus)" ] || observe=1

args=(-f docker-compose.yml)
[ -z "$ha" ] || args+=(-f docker-compose.ha.yml)
[ -z "$observe" ] || args+=(-f docker-compose.observability.yml --profile observability)
echo "${args[*]}"
