#!/usr/bin/env bash
# `make test-docker`: the whole suite (`make test-native`: lint, typecheck, every test) in the test container, with
# PostgreSQL and Redis as services of docker-compose.test.yml. Needs only Docker with Compose v2 on the host.
#   - the image: scripts/test-image.sh test (the pinned Node image plus Debian's nginx, openssl, chromium, wrk,
#     redis-server, make, git), built once and again only when infra/test-image/ or the Node image changes;
#   - the checkout is bind-mounted at its own path and the suite runs as the host user (files it writes are yours);
#   - node_modules lives in a named volume (never the host's), installed with npm ci when package-lock.json changed,
#     with npm's cache in another volume;
#   - PostgreSQL's password is random per run; nothing is published; the containers (not the cache volumes) are
#     removed at the end, and on failure their last log lines and states are printed first.
# TEST_PROJECT names the compose project (default authstack-test), so two checkouts can run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "test-docker: FAILED: $*" >&2; exit 1; }
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"
docker compose version >/dev/null 2>&1 || die "Docker Compose v2 (docker compose) is missing"

export AUTHSTACK_ROOT="$PWD" TEST_UID="$(id -u)" TEST_GID="$(id -g)"
export TEST_PROJECT="${TEST_PROJECT:-authstack-test}"
TEST_DB_PASSWORD="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
[ "${#TEST_DB_PASSWORD}" -eq 48 ] || die "could not read 24 random bytes from /dev/urandom"
export TEST_DB_PASSWORD
# npm ci inside trusts this host's CA bundle too (needed behind a TLS-intercepting proxy; BUILD_CA_FILE overrides).
if [ -z "${BUILD_CA_FILE:-}" ] && [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  export BUILD_CA_FILE=/etc/ssl/certs/ca-certificates.crt
fi
compose() { docker compose -p "$TEST_PROJECT" -f docker-compose.test.yml "$@"; }

# The node_modules volume is mounted inside the checkout: made here first, so the mount point belongs to you, not root.
mkdir -p node_modules
bash scripts/test-image.sh test || die "the test image"
cleanup() { compose down --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
started=$(date +%s)
status=0
compose run --rm tests "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "test-docker: the suite failed (exit $status) after $(($(date +%s) - started)) s" >&2
  bash scripts/stage-diagnose.sh "$TEST_PROJECT" || true
  exit "$status"
fi
echo "test-docker: passed in $(($(date +%s) - started)) s"
