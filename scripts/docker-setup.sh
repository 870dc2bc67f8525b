#!/usr/bin/env bash
# Makes a Docker engine with the Compose v2 and buildx plugins available on this machine, then starts
# dockerd when it is not answering. Idempotent: quick when everything is already there.
#   bash scripts/docker-setup.sh        (make docker-setup)
#   bash scripts/docker-setup.sh --debs (only the Docker CLI's, Compose's and buildx's .deb files; prints their folder)
# Debian bookworm ships the engine (docker.io 20.10) but not the Compose v2 / buildx CLI plugins; those come
# from the next Debian release's packages (docker-compose, docker-buildx), whose .deb files install here.
# Needs root and Debian's package mirrors. Users with Docker Desktop or docker-ce need none of this.
set -euo pipefail

say() { echo "docker-setup: $*" >&2; }
die() { echo "docker-setup: FAILED: $*" >&2; exit 1; }
# Root (CI) caches in /var/cache; anyone else (a GitHub runner, a developer) in their own cache folder.
if [ "$(id -u)" = 0 ]; then CACHE="${AUTHSTACK_CACHE:-/var/cache/authstack}"; else CACHE="${AUTHSTACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authstack}"; fi
export DEBIAN_FRONTEND=noninteractive

apt_install() {
  [ "$(id -u)" = 0 ] || die "installing $* needs root"
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d # no service starts
  trap 'rm -f /usr/sbin/policy-rc.d' RETURN
  if ! apt-get install -y -q --no-install-recommends "$@" >"$CACHE/apt.log" 2>&1; then
    apt-get update -q >>"$CACHE/apt.log" 2>&1 || true
    apt-get install -y -q --no-install-recommends "$@" >>"$CACHE/apt.log" 2>&1 || { tail -n 20 "$CACHE/apt.log" >&2; die "apt-get install $*"; }
  fi
}

mkdir -p "$CACHE"
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
if [ ${#missing[@]} -gt 0 ]; then say "installing ${missing[*]}"; apt_install "${missing[@]}"; fi

# fetch_debs PACKAGE...: their .deb files from the next Debian release (trixie) into $CACHE/debs, once.
fetch_debs() {
  local debs="$CACHE/debs" missing_debs=() pkg
  for pkg in "$@"; do ls "$debs/${pkg}"_*.deb >/dev/null 2>&1 || missing_debs+=("$pkg"); done
  [ ${#missing_debs[@]} -gt 0 ] || return 0
  say "fetching ${missing_debs[*]} from Debian trixie"
  local apt_dir="$CACHE/trixie-apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$debs"
  echo 'deb http://deb.debian.org/debian trixie main' > "$apt_dir/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -q >"$CACHE/apt-trixie.log" 2>&1 || { tail -n 20 "$CACHE/apt-trixie.log" >&2; die "apt-get update (trixie)"; }
  (cd "$debs" && apt-get "${opts[@]}" download "${missing_debs[@]}" >>"$CACHE/apt-trixie.log" 2>&1) \
    || { tail -n 20 "$CACHE/apt-trixie.log" >&2; die "apt-get download ${missing_debs[*]}"; }
}

# --debs: only fetch the Docker CLI's, the Compose v2 plugin's and the buildx plugin's .deb files (the fresh-machine stage's image installs
# them) and print the folder that holds them.
if [ "${1:-}" = --debs ]; then
  fetch_debs docker-cli docker-compose docker-buildx
  echo "$CACHE/debs"
  exit 0
fi

# Compose v2 and buildx: the CLI plugins from the next Debian release (trixie), fetched once into the cache.
if ! docker compose version >/dev/null 2>&1 || ! docker buildx version >/dev/null 2>&1; then
  debs="$CACHE/debs"
  fetch_debs docker-compose docker-buildx
  say "installing $(cd "$debs" && ls docker-compose_*.deb docker-buildx_*.deb | tr '\n' ' ')"
  dpkg -i --force-depends "$debs"/docker-compose_*.deb "$debs"/docker-buildx_*.deb >"$CACHE/dpkg.log" 2>&1 \
    || { tail -n 20 "$CACHE/dpkg.log" >&2; die "dpkg -i the plugins"; }
fi

# The engine.
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: /var/log/authstack-dockerd.log)"
  command -v containerd >/dev/null || die "containerd missing"
  # Started with every descriptor above stderr closed: a caller's lock (flock on a file) must not be inherited by a
  # daemon that outlives it, or the lock is held until the daemon stops.
  (
    for fd in /proc/$BASHPID/fd/*; do fd="${fd##*/}"; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
    exec nohup dockerd >/var/log/authstack-dockerd.log 2>&1
  ) &
  for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -n 30 /var/log/authstack-dockerd.log >&2; die "dockerd did not start"; }
fi
say "engine $(docker version -f '{{.Server.Version}}'), $(docker compose version --short | sed 's/^/compose /'), $(docker buildx version | awk '{print "buildx " $2}')"
