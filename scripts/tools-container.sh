#!/usr/bin/env bash
# Runs a command in a throw-away tools container (authstack/tools:local: the pinned Node image with Debian's
# openssl), as the calling user, with the checkout mounted at its own path (and TOOLS_DIR too, when set: a folder
# outside the checkout the command writes to). `make env` and `make certs` use it when the host has no openssl,
# so `make up` needs only Docker.
#   bash scripts/tools-container.sh bash scripts/make-env.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "tools-container: FAILED: $*" >&2; exit 1; }
command -v docker >/dev/null 2>&1 || die "openssl is not on PATH and neither is docker: install openssl, or Docker so the tools container can make the files"
docker info >/dev/null 2>&1 || die "openssl is not on PATH and no Docker engine answers (docker info failed): install openssl, or start Docker so the tools container can make the files"
bash "$root/scripts/test-image.sh" tools || die "could not build the tools image"
mounts=(-v "$root:$root")
if [ -n "${TOOLS_DIR:-}" ]; then mounts+=(-v "$TOOLS_DIR:$TOOLS_DIR"); fi
exec docker run --rm -u "$(id -u):$(id -g)" "${mounts[@]}" -w "$PWD" \
  -e CERTS_DIR -e GATEWAY_HOSTNAME -e HOME=/tmp authstack/tools:local "$@"
