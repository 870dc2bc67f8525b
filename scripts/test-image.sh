#!/usr/bin/env bash
# Builds the test or the tools image from infra/test-image/Dockerfile when it is missing or its inputs changed:
#   bash scripts/test-image.sh test    -> authstack/test:local  (make test-docker)
#   bash scripts/test-image.sh tools   -> authstack/tools:local (make env and make certs without openssl on the host)
# Each image carries a hash of its inputs (the folder's files and the Node image's id) as a label, as the CI
# look-alikes do (scripts/ci-images.sh), so a second run builds nothing and sends no build context.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?test or tools}"
case "$target" in test | tools) ;; *) echo "test-image: unknown target $target (test or tools)" >&2; exit 2 ;; esac
tag="authstack/$target:local"
dir=infra/test-image
node_image="$(sed -n 's/^ARG NODE_IMAGE=//p' "$dir/Dockerfile")"
node_id="$(docker image inspect -f '{{.Id}}' "$node_image" 2>/dev/null || echo absent)"
hash="$( (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "$node_id") | sha256sum | cut -c1-16)"
current="$(docker image inspect -f '{{index .Config.Labels "authstack.test-image.hash"}}' "$tag" 2>/dev/null || true)"
if [ "$current" = "$hash" ]; then exit 0; fi
echo "test-image: building $tag from $dir ($node_image plus Debian's packages; a few minutes the first time)" >&2
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! DOCKER_BUILDKIT=1 docker build --target "$target" --label "authstack.test-image.hash=$hash" -t "$tag" "$dir" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "test-image: FAILED: building $tag" >&2
  exit 1
fi
echo "test-image: built $tag" >&2
