#!/usr/bin/env bash
# Prints, for every container of the given compose projects (and, with --label KEY=VALUE, of that label too), its
# state (status, exit code, OOM kill, restarts, health, error, start and finish) and its last log lines
# (STAGE_LOG_LINES, default 40). The CI stages call it when they fail, before they remove their containers.
#   bash scripts/stage-diagnose.sh [--label org.authstack.testcontainers-run=RUN] PROJECT...
set -uo pipefail
docker info >/dev/null 2>&1 || { echo "stage-diagnose: no Docker engine answers; no container to show" >&2; exit 0; }
lines="${STAGE_LOG_LINES:-40}"
filters=()
while [ $# -gt 0 ]; do
  case "$1" in
    --label) filters+=("label=$2"); shift 2 ;;
    *) filters+=("label=com.docker.compose.project=$1"); shift ;;
  esac
done
ids="$(for filter in "${filters[@]}"; do docker ps -aq --filter "$filter"; done | sort -u)"
if [ -z "$ids" ]; then echo "stage-diagnose: no container is left to show" >&2; exit 0; fi
echo "stage-diagnose: each container's state and last $lines log lines:" >&2
for id in $ids; do
  docker inspect -f '--- {{.Name}} ({{.Config.Image}}): {{.State.Status}}, exit code {{.State.ExitCode}}, OOM-killed {{.State.OOMKilled}}, restarts {{.RestartCount}}{{with .State.Health}}, health {{.Status}} (failing streak {{.FailingStreak}}){{end}}{{with .State.Error}}, error: {{.}}{{end}}; started {{.State.StartedAt}}, finished {{.State.FinishedAt}}' "$id" >&2
  docker logs --tail "$lines" "$id" 2>&1 | sed 's/^/    /' >&2
done
