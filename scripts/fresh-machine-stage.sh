#!/usr/bin/env bash
# The fresh-machine stage (`make test-fresh-machine`; CI runs it after the container stage): the README's two
# commands, exactly, on a machine that has only Docker with Compose v2, make and git.
#   1. the machine: an image from the look-alikes' debootstrap base (authstack-ci/bookworm:minbase) with make, git,
#      the Docker CLI and the Compose v2 plugin and nothing else (infra/fresh-machine/Dockerfile; no Node, no openssl),
#      cached by a hash of its inputs;
#   2. the repository as committed (a git bundle of HEAD) cloned inside it into a host folder mounted at the same
#      absolute path, with the engine's socket mounted, so the bind mounts `make up` and `make test` ask the engine for
#      resolve on this host;
#   3. `make up`, then `make test`, each timed: the client container's scenario table and the suite's counts are
#      printed at the end. Either failing fails the stage, after each container's state and last log lines.
# Its own compose project names, ports and backend subnet (authstack-fresh, 28443/28080, 172.30.251.0/24), so it does
# not collide with the container stage's. The stack and the test containers are removed at the end; the images and the
# test container's npm and node_modules volumes stay as a cache (a second run installs nothing).
# Behind a TLS-intercepting proxy the host's CA bundle is handed in as BUILD_CA_FILE, as the container stage does.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
say() { echo "fresh-machine: [$(($(date +%s) - started))s] $*"; }
project=authstack-fresh
test_project=authstack-fresh-test
diagnose() { bash scripts/stage-diagnose.sh "$project" "$test_project" || true; }
die() { echo "fresh-machine: FAILED: $*" >&2; diagnose; exit 1; }
if [ "$(id -u)" = 0 ]; then CACHE="${AUTHSTACK_CACHE:-/var/cache/authstack}"; else CACHE="${AUTHSTACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authstack}"; fi
image=authstack-ci/fresh-machine:local
work="$CACHE/fresh-machine"

say "engine and base image"
bash scripts/docker-setup.sh >/dev/null || die "no Docker engine"
bash scripts/ci-images.sh 2>/dev/null || die "the pinned images or their look-alikes (bash scripts/ci-images.sh)"

say "the machine: $image (make, git, Docker CLI, Compose v2)"
debs="$(bash scripts/docker-setup.sh --debs)" || die "the Docker CLI, Compose and buildx .deb files"
base_id="$(docker image inspect -f '{{.Id}}' authstack-ci/bookworm:minbase)"
hash="$( (sha256sum infra/fresh-machine/Dockerfile; cd "$debs" && sha256sum docker-cli_*.deb docker-compose_*.deb docker-buildx_*.deb; echo "$base_id") | sha256sum | cut -c1-16)"
if [ "$(docker image inspect -f '{{index .Config.Labels "authstack.ci.hash"}}' "$image" 2>/dev/null)" != "$hash" ]; then
  ctx="$(mktemp -d)"
  mkdir "$ctx/debs" && cp "$debs"/docker-cli_*.deb "$debs"/docker-compose_*.deb "$debs"/docker-buildx_*.deb "$ctx/debs/" && cp infra/fresh-machine/Dockerfile "$ctx/"
  DOCKER_BUILDKIT=1 docker build -q --label "authstack.ci.hash=$hash" -t "$image" "$ctx" >"$CACHE/build-fresh-machine.log" 2>&1 \
    || { tail -n 30 "$CACHE/build-fresh-machine.log" >&2; rm -rf "$ctx"; die "building $image"; }
  rm -rf "$ctx"
fi

cleanup() {
  docker compose -p "$project" --profile tools down -v --remove-orphans >/dev/null 2>&1 || true
  docker compose -p "$test_project" down --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cleanup
mkdir -p "$work"
git bundle create -q "$work/authstack.bundle" HEAD || die "git bundle of HEAD"

ca=()
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  ca=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro -e BUILD_CA_FILE=/etc/ssl/certs/ca-certificates.crt)
fi
say "inside it: git clone, then make up, then make test"
log="$work.log"
status=0
docker run --rm -v /var/run/docker.sock:/var/run/docker.sock -v "$work:$work" -w "$work" "${ca[@]}" \
  -e CI=true -e COMPOSE_PROJECT_NAME="$project" -e TEST_PROJECT="$test_project" \
  -e GATEWAY_HTTPS_PORT=28443 -e GATEWAY_HTTP_PORT=28080 -e BACKEND_SUBNET=172.30.251.0/24 \
  -e GATEWAY_BACKEND_IP=172.30.251.10 -e BACKEND_IP_RANGE=172.30.251.128/25 \
  "$image" bash -c '
    set -euo pipefail
    for tool in node npm openssl nginx chromium wrk redis-server; do
      if command -v "$tool" >/dev/null; then echo "fresh-machine: $tool is on this machine" >&2; exit 1; fi
    done
    git -c advice.detachedHead=false clone -q authstack.bundle authstack && cd authstack
    echo "fresh-machine: $(git log -1 --format="%h %s"); docker $(docker version -f "{{.Client.Version}}"), $(docker compose version), buildx $(docker buildx version | cut -d" " -f2)"
    s=$(date +%s); make up; echo "fresh-machine: make up took $(($(date +%s) - s)) s"
    s=$(date +%s); make test; echo "fresh-machine: make test took $(($(date +%s) - s)) s"
  ' 2>&1 | tee "$log" || status=$?
if [ "$status" -ne 0 ]; then
  grep -E '^fresh-machine: make (up|test) took' "$log" || true
  die "make up or make test failed inside the machine (exit $status; see above)"
fi

say "summary"
grep -E '^fresh-machine: make (up|test) took' "$log"
echo "the client container's scenarios:"
sed -n '/^scenario  *expected  *got/,/^[0-9]* passed, [0-9]* failed$/p' "$log"
grep -qE '^[0-9]+ passed, 0 failed$' "$log" || die "the scenario table is missing or has a failure"
echo "the suite's counts:"
grep -E '^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$log"
grep -qE '^ℹ fail 0$' "$log" || die "the suite's counts say a test failed"
rm -f "$log"
say "passed in $(($(date +%s) - started)) s"
